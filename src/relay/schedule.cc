#include "relay/schedule.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace tern {

int64_t give_up_at(const RetryPolicy& p, int64_t received_at) {
  return received_at + p.max_age.count();
}

bool expired(const RetryPolicy& p, int64_t received_at, int64_t now) {
  return now >= give_up_at(p, received_at);
}

int64_t next_retry(const RetryPolicy& p, uint32_t attempts, int64_t received_at, int64_t now,
                   double unit) {
  int64_t base = 60;
  if (!p.intervals.empty()) {
    size_t i = std::min<size_t>(attempts == 0 ? 0 : attempts - 1, p.intervals.size() - 1);
    base = p.intervals[i].count();
  }
  unit = std::clamp(unit, 0.0, 1.0);
  double factor = 1.0 + p.jitter * (2.0 * unit - 1.0);
  int64_t wait = std::max<int64_t>(1, std::llround(static_cast<double>(base) * factor));
  int64_t at = std::min(now + wait, give_up_at(p, received_at));
  return std::max(at, now + 1);
}

bool delay_warning_due(const RetryPolicy& p, int64_t received_at, int64_t now) {
  return p.delay_warning.count() > 0 && now >= received_at + p.delay_warning.count();
}

std::string format_duration(int64_t seconds) {
  if (seconds < 0) return "-" + format_duration(-seconds);
  if (seconds < 60) return std::to_string(seconds) + "s";
  struct Unit {
    int64_t size;
    char name;
  };
  constexpr Unit kUnits[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}};
  std::string out;
  int parts = 0;
  for (const Unit& u : kUnits) {
    if (seconds >= u.size && parts < 2) {
      out += std::to_string(seconds / u.size);
      out += u.name;
      seconds %= u.size;
      ++parts;
    } else if (parts > 0) {
      break;  // two adjacent units at most: "1d2h", "3h5m"
    }
  }
  return out;
}

}  // namespace tern
