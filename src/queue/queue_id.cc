#include "queue/queue_id.h"

#include <sys/random.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>

#include "base/time_id.h"

namespace tern {
namespace {

constexpr int kRandomDigits = 7;  // 62^7 ~ 3.5e12

std::atomic<uint64_t> last_us{0};

// 64 random bits: getrandom rather than only a seeded PRNG, so that a
// forked child does not repeat its parent's sequence.
uint64_t random_bits() {
  uint64_t rnd = 0;
  if (::getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof rnd)) return rnd;
  static std::mutex mu;
  static std::mt19937_64 fallback_rng{std::random_device{}()};  // if getrandom(2) fails
  std::lock_guard<std::mutex> lock(mu);
  return fallback_rng();
}

}  // namespace

std::string new_queue_id() {
  std::string id;
  id.reserve(kTimeIdDigits + kRandomDigits);
  append_base62(&id, next_id_micros(last_us), kTimeIdDigits);
  append_base62(&id, random_bits(), kRandomDigits);
  return id;
}

bool is_valid_queue_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!ok) return false;
  }
  return true;
}

}  // namespace tern
