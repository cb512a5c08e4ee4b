// The time part of tern's ids (queue ids, queue/queue_id.h; session ids,
// server/session_id.h): microseconds since the Unix epoch written in
// base62 with its digits in ASCII order ("0-9A-Za-z"), so that ids compare
// as plain strings in the order they were made.
//
// Thread safety: both functions may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace tern {

// The digit alphabet, in ASCII order.
inline constexpr char kBase62Digits[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// 9 digits hold 62^9 microseconds: about 428 years after 1970.
inline constexpr int kTimeIdDigits = 9;

// Appends the `digits` lowest base62 digits of `v`, most significant first.
// REQUIRES: 0 < digits <= 16.
void append_base62(std::string* out, uint64_t v, int digits);

// The clock (base/clock.h unix_micros), or one more than the last value
// this function returned for `last` when the clock has not moved or went
// back: values for one `last` strictly increase within a process.
uint64_t next_id_micros(std::atomic<uint64_t>& last);

}  // namespace tern
