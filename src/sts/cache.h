// When to use a cached MTA-STS policy and when to fetch (RFC 8461 3.3,
// 5.1, 10.2), and the cache entry's file format. No I/O, no clock: the
// caller passes the time.
//
// The rules, given what the _mta-sts TXT lookup said:
//   cache valid (fetched + max_age in the future):
//     same id     -> use it; past `refresh_after` since the fetch, fetch
//                    again first (10.2's proactive refresh), keeping it if
//                    that fails
//     new id      -> fetch (the policy changed); keep the cached one if
//                    the fetch fails (5.1: a failed fetch never removes a
//                    valid cached policy, or an attacker who blocks HTTPS
//                    would strip enforcement)
//     no record, invalid or DNS trouble -> use it (3.3, 5.1: likewise for
//                    an attacker who blocks DNS)
//   no valid cache:
//     a record    -> fetch; if that fails there is no policy
//     otherwise   -> no policy
// "No policy" means delivery as without MTA-STS (opportunistic TLS).
//
// Cache file (one per domain, in <data_dir>/mta-sts/, written atomically):
//   tern-mta-sts 1
//   id: 20240101T000000
//   fetched: 1700000000
//   <empty line>
//   <the policy, as Policy::text() writes it>
//
// Value types and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sts/policy.h"
#include "sts/record.h"

namespace tern::sts {

struct CachedPolicy {
  std::string id;  // the TXT record's id the policy was fetched under
  Policy policy;
  int64_t fetched = 0;  // unix seconds

  int64_t expires() const { return fetched + static_cast<int64_t>(policy.max_age); }
  bool valid_at(int64_t now) const { return now < expires(); }

  friend bool operator==(const CachedPolicy&, const CachedPolicy&) = default;
};

// What the _mta-sts TXT lookup came to.
enum class RecordState {
  kFound,     // one valid record (its id alongside)
  kAbsent,    // NXDOMAIN, no data, no STSv1 record, or an invalid one (3.1)
  kTempFail,  // SERVFAIL, timeout
};

enum class Action {
  kNoPolicy,   // deliver as without MTA-STS
  kUseCached,  // the cached policy, no fetch
  kFetch,      // fetch; on failure, no policy
  kRefresh,    // fetch; on failure, the cached policy
};

// "no-policy", "use-cached", "fetch", "refresh".
const char* action_name(Action a);

// One day: how long a policy is used before it is fetched again even when
// the record's id has not changed (10.2 suggests a daily refresh).
constexpr int64_t kDefaultRefreshAfter = 86400;

// The rules above. `cached` may be null; `id` matters only for kFound.
Action decide(const CachedPolicy* cached, RecordState state, std::string_view id, int64_t now,
              int64_t refresh_after = kDefaultRefreshAfter);

// The cache file of `c`, and back. parse_cache_entry gives nullopt for
// anything it did not write (a file of another version, a truncated one).
std::string cache_entry(const CachedPolicy& c);
std::optional<CachedPolicy> parse_cache_entry(std::string_view text);

}  // namespace tern::sts
