#include "base/time_id.h"

#include "base/clock.h"

namespace tern {

void append_base62(std::string* out, uint64_t v, int digits) {
  char buf[16];
  for (int i = digits - 1; i >= 0; --i) {
    buf[i] = kBase62Digits[v % 62];
    v /= 62;
  }
  out->append(buf, static_cast<size_t>(digits));
}

uint64_t next_id_micros(std::atomic<uint64_t>& last) {
  const uint64_t now = static_cast<uint64_t>(unix_micros());
  uint64_t prev = last.load(std::memory_order_relaxed);
  uint64_t us;
  do {
    us = now > prev ? now : prev + 1;
  } while (!last.compare_exchange_weak(prev, us, std::memory_order_relaxed));
  return us;
}

}  // namespace tern
