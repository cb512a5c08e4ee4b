// StsPolicies: the MTA-STS policy of a recipient domain (RFC 8461), as the
// outbound relay needs it before it connects: the _mta-sts TXT record
// through tern's resolver (dns/lookup.h), the policy fetched over HTTPS
// from https://mta-sts.<domain>/.well-known/mta-sts.txt with libcurl's
// multi-socket client on the relay's loop (http/async_client.h), and a
// cache in memory and on disk (<data_dir>/mta-sts/<domain>, written
// atomically) that survives restarts. What to do when is sts/cache.h's
// decide(); this file only does the I/O.
//
// The fetch (3.3): WebPKI validation of mta-sts.<domain> (the system store,
// or [mta_sts] ca_file for tests), no redirects, at most 64 KiB, HTTP 200
// with media type text/plain only, within [mta_sts] fetch_timeout. The
// name mta-sts.<domain> is resolved by tern's own resolver (A and AAAA,
// CNAMEs followed) and handed to curl with CURLOPT_RESOLVE: one resolver
// for all of outbound mail, and tests reach a loopback server through the
// test DNS server. [mta_sts] https_port (tests only) replaces port 443.
//
// Threading: lookup() runs on the loop that owns the resolver and the
// AsyncClient; cache files are read and written on `blocking`.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "dns/lookup.h"
#include "http/async_client.h"
#include "relay/sts_policy.h"
#include "sts/cache.h"

namespace tern {

struct StsSettings {
  bool enabled = true;
  std::string cache_dir;  // "" = memory only
  std::chrono::seconds fetch_timeout{30};
  std::string ca_file;        // trusted besides the system store for the fetch; tests
  uint16_t https_port = 443;  // tests only
  int64_t refresh_after = sts::kDefaultRefreshAfter;
};

// RFC 8461 3.3: "senders SHOULD impose a limit on the response size"; 64 KiB
// is what the RFC suggests.
constexpr size_t kMaxPolicySize = 64 * 1024;

class StsPolicies {
 public:
  // `dns` must live on `io`'s thread and outlive this; `clock` gives unix
  // seconds.
  StsPolicies(asio::io_context& io, asio::any_io_executor blocking, DnsLookup* dns,
              StsSettings settings, std::function<int64_t()> clock);

  // The policy that applies to mail for `domain` now (nullopt when there is
  // none or MTA-STS is off), fetching and caching as decide() says.
  asio::awaitable<StsState> lookup(std::string domain);

  // Fetches the policy of `domain` now, without the cache (tern check).
  // nullopt with *error set when it cannot be had; then *webpki_invalid
  // (when given) says whether the HTTPS certificate failed to validate.
  asio::awaitable<std::optional<sts::Policy>> fetch(std::string domain, std::string* error,
                                                    bool* webpki_invalid = nullptr);

  // The cache file of `domain`, or "" when the name cannot be a file name.
  std::string cache_path(const std::string& domain) const;

 private:
  asio::awaitable<std::optional<sts::CachedPolicy>> cached(const std::string& domain);
  asio::awaitable<void> store(const std::string& domain, const sts::CachedPolicy& c);

  asio::any_io_executor blocking_;
  DnsLookup* dns_;
  StsSettings settings_;
  std::function<int64_t()> clock_;
  http::AsyncClient client_;
  std::map<std::string, sts::CachedPolicy> memory_;  // loop thread only
};

}  // namespace tern
