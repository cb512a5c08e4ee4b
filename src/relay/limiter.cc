#include "relay/limiter.h"

#include <algorithm>

namespace tern {

ConcurrencyLimiter::ConcurrencyLimiter(size_t global, size_t per_destination)
    : global_(std::max<size_t>(global, 1)),
      per_destination_(std::max<size_t>(per_destination, 1)) {}

bool ConcurrencyLimiter::try_acquire(const std::string& dest) {
  if (saturated(dest)) return false;
  ++total_;
  ++per_dest_[dest];
  return true;
}

void ConcurrencyLimiter::release(const std::string& dest) {
  auto it = per_dest_.find(dest);
  if (it == per_dest_.end()) return;
  if (--it->second == 0) per_dest_.erase(it);
  if (total_ > 0) --total_;
}

bool ConcurrencyLimiter::saturated(const std::string& dest) const {
  return full() || in_flight(dest) >= limit(dest);
}

size_t ConcurrencyLimiter::limit(const std::string& dest) const {
  return dest == "local" ? global_ : per_destination_;
}

size_t ConcurrencyLimiter::in_flight(const std::string& dest) const {
  auto it = per_dest_.find(dest);
  return it == per_dest_.end() ? 0 : it->second;
}

void ConcurrencyLimiter::set_limits(size_t global, size_t per_destination) {
  global_ = std::max<size_t>(global, 1);
  per_destination_ = std::max<size_t>(per_destination, 1);
}

}  // namespace tern
