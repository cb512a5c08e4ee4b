#include "queue/queue_id.h"

#include <sys/random.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>

#include "base/clock.h"

namespace tern {
namespace {

constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr int kTimeDigits = 9;    // 62^9 us ~ 428 years after 1970
constexpr int kRandomDigits = 7;  // 62^7 ~ 3.5e12

void append_base62(std::string* out, uint64_t v, int digits) {
  char buf[16];
  for (int i = digits - 1; i >= 0; --i) {
    buf[i] = kBase62[v % 62];
    v /= 62;
  }
  out->append(buf, static_cast<size_t>(digits));
}

struct IdState {
  std::mutex mu;
  uint64_t last_us = 0;
  std::mt19937_64 fallback_rng{std::random_device{}()};  // if getrandom(2) fails
};

IdState& state() {
  static IdState s;
  return s;
}

}  // namespace

std::string new_queue_id() {
  uint64_t now = static_cast<uint64_t>(unix_micros());
  uint64_t us = 0, rnd = 0;
  {
    IdState& s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    us = now > s.last_us ? now : s.last_us + 1;
    s.last_us = us;
    // getrandom rather than only a seeded PRNG: a forked child must not
    // repeat its parent's sequence.
    if (::getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof rnd)) {
      rnd = s.fallback_rng();
    }
  }
  std::string id;
  id.reserve(kTimeDigits + kRandomDigits);
  append_base62(&id, us, kTimeDigits);
  append_base62(&id, rnd, kRandomDigits);
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
