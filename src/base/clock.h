// Wall-clock time, for what is stored or shown: Received dates, queue and
// session ids, Maildir names, state-log records. Logic that decides by time
// takes it as an argument (SessionEnv::now, Admission's `now`) so tests can
// give their own; these are what the I/O layer passes in.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace tern {

// Seconds since the Unix epoch.
inline int64_t unix_seconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// Microseconds since the Unix epoch.
inline int64_t unix_micros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// Both clocks, as an interface, for code that keeps time itself (a
// server connection's deadlines, server/connection.h): tests pass a clock
// they set by hand.
class Clock {
 public:
  virtual ~Clock() = default;
  // For deadlines and durations.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
  // Seconds since the Unix epoch, for what is stored or shown.
  virtual int64_t unix_now() const = 0;
};

// The machine's clocks.
class SystemClock : public Clock {
 public:
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
  int64_t unix_now() const override { return unix_seconds(); }
};

// One SystemClock for all (it has no state).
inline const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace tern
