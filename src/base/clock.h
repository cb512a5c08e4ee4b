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

}  // namespace tern
