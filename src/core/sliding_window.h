// SlidingWindow: "at most N events in any window of length W" with two
// numbers of memory, the sliding-window counter of rate limiters (as in
// Cloudflare's and nginx's): the count of the current fixed window plus
// the previous window's count weighted by how much of it still overlaps the
// last W. Unlike a token bucket it never lets 2N through in one window (a
// full bucket plus its refill); unlike a log of timestamps its memory does
// not grow with N.
//
// The estimate assumes the previous window's events were spread evenly;
// that is the only approximation, and it errs both ways by at most the
// previous window's count times the overlap's rounding.
//
// No I/O, no clock: the caller passes the time. Thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>

namespace tern {

class SlidingWindow {
 public:
  using Time = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  // The estimated number of events in (now - window, now].
  double count(Time now, Duration window) {
    roll(now, window);
    if (start_ == Time{}) return 0;
    const double into = std::chrono::duration<double>(now - start_) / window;
    return static_cast<double>(previous_) * (1.0 - into) + static_cast<double>(current_);
  }

  // True, counting one event, when it keeps the count at or under `limit`;
  // false (nothing counted) when it would exceed it. `limit` 0: no limit.
  bool try_add(Time now, Duration window, uint64_t limit) {
    if (limit != 0 && count(now, window) + 1 > static_cast<double>(limit)) return false;
    add(now, window);
    return true;
  }

  // Counts one event whatever the limit (a connection attempt counts even
  // when it is refused, so a client that keeps hammering stays refused).
  void add(Time now, Duration window) {
    roll(now, window);
    if (start_ == Time{}) start_ = now;
    if (current_ != UINT32_MAX) ++current_;
  }

 private:
  // Moves the fixed windows forward to the one holding `now`.
  void roll(Time now, Duration window) {
    if (start_ == Time{} || now < start_ + window) return;
    const auto windows = (now - start_) / window;  // whole windows passed, >= 1
    previous_ = windows == 1 ? current_ : 0;
    current_ = 0;
    start_ += windows * window;
  }

  Time start_{};  // beginning of the current fixed window; epoch: never used
  uint32_t current_ = 0;
  uint32_t previous_ = 0;
};

}  // namespace tern
