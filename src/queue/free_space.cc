#include "queue/free_space.h"

#include <sys/statvfs.h>

#include "base/clock.h"

namespace tern {

FreeSpace::FreeSpace(std::string dir, Probe probe, Clock now)
    : dir_(std::move(dir)),
      probe_(std::move(probe)),
      now_(now ? std::move(now) : Clock([] { return unix_micros(); })) {}

std::optional<uint64_t> FreeSpace::statvfs_available(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

bool FreeSpace::low(uint64_t min_free, uint64_t declared_size) {
  if (min_free == 0) return false;
  std::optional<uint64_t> available;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = now_();
    // A clock that went back counts as stale too.
    if (!measured_ || now - measured_at_ >= kMaxAgeMicros || now < measured_at_) {
      available_ = probe_(dir_);
      measured_at_ = now;
      measured_ = true;
    }
    available = available_;
  }
  if (!available) return false;
  // min_free + declared_size may not fit in 64 bits: compare without adding.
  return *available < min_free || *available - min_free < declared_size;
}

}  // namespace tern
