// Retry policy: when to try a recipient again, when to warn the sender of
// a delay, when to give up. Pure functions of the time they are given (unix
// seconds, from the scheduler's injected clock) and of a random number for
// the jitter; no I/O, no clock of their own.
//
// The defaults follow Postfix's spirit: the first retry within minutes,
// then doubling waits up to a ceiling, a delay warning after 4 hours, and
// giving up after 5 days (RFC 5321 4.5.4.1 asks for at least 4-5 days).
//
// Thread-compatible value type.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tern {

struct RetryPolicy {
  // Wait after the 1st, 2nd, ... failed attempt; the last one repeats.
  // REQUIRES: not empty, each > 0.
  std::vector<std::chrono::seconds> intervals = {
      std::chrono::minutes(5),  std::chrono::minutes(10), std::chrono::minutes(20),
      std::chrono::minutes(40), std::chrono::minutes(80), std::chrono::minutes(160),
      std::chrono::hours(4)};
  // Each wait is spread uniformly over [1 - jitter, 1 + jitter) times its
  // length, so that messages failing together do not retry together.
  double jitter = 0.1;
  // Age (since the message arrived) after which a transient failure fails
  // the recipient for good.
  std::chrono::seconds max_age = std::chrono::hours(24 * 5);
  // Age after which the sender is told (once) that a recipient is still
  // pending; 0: never.
  std::chrono::seconds delay_warning = std::chrono::hours(4);
};

// When to try again after the `attempts`-th failed attempt (>= 1), made at
// `now`, for a message that arrived at `received_at`. `unit` in [0, 1)
// picks the jitter (0.5: none). Never later than the give-up time, so the
// last attempt happens when the message expires, and never before now + 1.
int64_t next_retry(const RetryPolicy& p, uint32_t attempts, int64_t received_at, int64_t now,
                   double unit);

// When a message that arrived at `received_at` expires: a transient failure
// at or after it fails the recipient.
int64_t give_up_at(const RetryPolicy& p, int64_t received_at);
bool expired(const RetryPolicy& p, int64_t received_at, int64_t now);

// True once a delay warning is due for a message that arrived at
// `received_at` (never if p.delay_warning is 0).
bool delay_warning_due(const RetryPolicy& p, int64_t received_at, int64_t now);

// Human-readable duration for logs, DSNs and `tern queue`: "45s", "5m",
// "1h20m", "5d"; negative values as "-5m".
std::string format_duration(int64_t seconds);

}  // namespace tern
