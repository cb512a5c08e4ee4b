#include "server/session_id.h"

#include <atomic>
#include <chrono>
#include <cstdint>

#include "base/clock.h"

namespace tern {

std::string new_session_id() {
  static constexpr char kBase62[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  static std::atomic<uint64_t> last{0};
  uint64_t now = static_cast<uint64_t>(unix_micros());
  uint64_t prev = last.load(std::memory_order_relaxed);
  uint64_t us;
  do {
    us = now > prev ? now : prev + 1;
  } while (!last.compare_exchange_weak(prev, us, std::memory_order_relaxed));
  std::string id(9, '0');
  for (int i = 8; i >= 0; --i) {
    id[static_cast<size_t>(i)] = kBase62[us % 62];
    us /= 62;
  }
  return id;
}

}  // namespace tern
