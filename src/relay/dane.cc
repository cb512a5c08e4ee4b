// DANE and the per-destination TLS policy; the rules are in dane.h.
#include "relay/dane.h"

#include <fmt/format.h>

#include "core/ascii.h"

namespace tern {
namespace {

bool is_literal(const RouteHost& host) { return !host.name.empty() && host.name.front() == '['; }

// The names of `match` for a verify/secure destination.
std::vector<std::string> expand_match(const DestinationTls& dest, std::string domain,
                                      const std::string& host) {
  if (!dest.next_hop_host.empty()) domain = dest.next_hop_host;  // Postfix's "[host]" next hop
  std::vector<std::string> match = dest.match;
  if (match.empty()) {
    if (dest.level == TlsPolicyLevel::kSecure) {
      match = {"nexthop", "dot-nexthop"};
    } else {
      match = {"hostname"};
    }
  }
  std::vector<std::string> names;
  for (const std::string& m : match) {
    if (m == "hostname") {
      names.push_back(host);
    } else if (m == "nexthop") {
      names.push_back(domain);
    } else if (m == "dot-nexthop") {
      names.push_back("." + domain);
    } else {
      names.push_back(ascii_lower(m));
    }
  }
  return names;
}

// No DANE for this host: opportunistic under `dane`, not used under `dane-only`.
TlsRequirement no_dane(const DestinationTls& dest, TlsRequirement r, std::string state,
                       std::string why) {
  r.dane = std::move(state);
  if (dest.level == TlsPolicyLevel::kDaneOnly) {
    r.level = TlsLevel::kEncrypt;
    r.failure = "dane-only: " + why;
  } else {
    r.level = TlsLevel::kMay;
  }
  return r;
}

}  // namespace

bool tlsa_usable(const TlsaRecord& r) {
  if (r.usage != 2 && r.usage != 3) return false;  // RFC 7672 3.1.3: PKIX-TA/EE not used
  if (r.selector != 0 && r.selector != 1) return false;
  switch (r.matching) {
    case 0:
      return !r.data.empty();
    case 1:
      return r.data.size() == 32;  // SHA2-256
    case 2:
      return r.data.size() == 64;  // SHA2-512
    default:
      return false;
  }
}

std::string tlsa_name(std::string_view host, uint16_t port) {
  return fmt::format("_{}._tcp.{}", port, host);
}

DestinationTls destination_tls(const std::vector<TlsPolicyEntry>& entries, std::string_view domain,
                               TlsPolicyLevel default_level) {
  DestinationTls d;
  if (const TlsPolicyEntry* e = find_tls_policy(entries, domain)) {
    d.level = e->level;
    d.configured = true;
    d.match = e->match;
  } else {
    d.level = default_level;
  }
  return d;
}

DestinationTls host_tls(const std::vector<TlsPolicyEntry>& entries,
                        const DestinationTls& domain_tls, std::string_view host, uint16_t port) {
  const TlsPolicyEntry* e = find_next_hop_policy(entries, host, port);
  if (!e) return domain_tls;
  DestinationTls d;
  d.level = e->level;
  d.configured = true;
  d.match = e->match;
  d.next_hop = next_hop_text(*e);
  d.next_hop_host = e->next_hop_host;
  return d;
}

bool wants_tlsa(const DestinationTls& dest, const Route& route, const RouteHost& host) {
  if (dest.level != TlsPolicyLevel::kDane && dest.level != TlsPolicyLevel::kDaneOnly) return false;
  if (is_literal(host)) return false;
  // RFC 7672 2.2.1/2.2.2: a secure MX RRset (or the domain as its own host)
  // and secure address records of the host.
  return (route.mx_secure || route.implicit_mx) && host.secure;
}

TlsRequirement host_requirement(const DestinationTls& dest, const Route& route,
                                const RouteHost& host, const TlsaResult* tlsa) {
  TlsRequirement r;
  r.source = dest.configured ? TlsSource::kConfig : TlsSource::kDefault;
  r.dane_required = dest.level == TlsPolicyLevel::kDaneOnly;
  r.origin = !dest.configured         ? "default"
             : !dest.next_hop.empty() ? "config " + dest.next_hop
                                      : "config " + route.domain;
  switch (dest.level) {
    case TlsPolicyLevel::kNone:
      r.level = TlsLevel::kNone;
      return r;
    case TlsPolicyLevel::kMay:
      r.level = TlsLevel::kMay;
      return r;
    case TlsPolicyLevel::kEncrypt:
      r.level = TlsLevel::kEncrypt;
      return r;
    case TlsPolicyLevel::kVerify:
    case TlsPolicyLevel::kSecure:
      r.level = TlsLevel::kVerify;
      r.names = expand_match(dest, route.domain, host.name);
      return r;
    case TlsPolicyLevel::kDane:
    case TlsPolicyLevel::kDaneOnly:
      break;
  }
  if (!wants_tlsa(dest, route, host) || tlsa == nullptr) {
    const bool mx_ok = route.mx_secure || route.implicit_mx;
    const std::string why = is_literal(host) ? "an address literal has no TLSA records"
                            : !mx_ok         ? "the MX records are not DNSSEC-signed"
                                     : "the addresses of " + host.name + " are not DNSSEC-signed";
    return no_dane(dest, std::move(r), "insecure", why);
  }
  if (tlsa->bogus() || tlsa->status == DnsStatus::kTempFail) {
    // RFC 7672 2.2.3: the host cannot be used, and never in plaintext.
    r.level = TlsLevel::kEncrypt;
    r.dane = tlsa->bogus() ? "bogus" : "failed";
    r.failure = fmt::format("TLSA lookup for {} failed: {}", tlsa->canonical_name,
                            tlsa->error.empty() ? "temporary failure" : tlsa->error);
    return r;
  }
  if (!tlsa->secure()) {
    return no_dane(dest, std::move(r), "insecure",
                   fmt::format("the TLSA records of {} are not DNSSEC-signed", host.name));
  }
  if (tlsa->status != DnsStatus::kOk) {
    return no_dane(dest, std::move(r), "none", fmt::format("{} has no TLSA record", host.name));
  }
  for (const TlsaRecord& t : tlsa->records) {
    if (tlsa_usable(t)) r.tlsa.push_back(t);
  }
  r.source = TlsSource::kDane;
  if (!dest.configured) r.origin = "dane";
  if (r.tlsa.empty()) {
    // RFC 7672 2.2: the server said it does TLS; without a usable record
    // it cannot be authenticated, so TLS is required but not checked.
    r.level = TlsLevel::kEncrypt;
    r.dane = "unusable";
    if (dest.level == TlsPolicyLevel::kDaneOnly) {
      r.failure = fmt::format("dane-only: no usable TLSA record for {}", host.name);
    }
    return r;
  }
  r.level = TlsLevel::kDane;
  r.dane = "usable";
  r.names = {host.name};
  return r;
}

asio::awaitable<std::map<std::string, TlsRequirement>> route_requirements(
    DnsLookup& dns, const Route& route, DestinationTls dest, uint16_t port,
    std::vector<TlsPolicyEntry> next_hops) {
  std::map<std::string, TlsRequirement> out;
  for (const RouteHost& host : route.hosts) {
    if (out.contains(host.name)) continue;
    const DestinationTls mine = host_tls(next_hops, dest, ascii_lower(host.name), port);
    std::optional<TlsaResult> tlsa;
    if (wants_tlsa(mine, route, host)) tlsa = co_await dns.tlsa(tlsa_name(host.name, port));
    out[host.name] = host_requirement(mine, route, host, tlsa ? &*tlsa : nullptr);
  }
  co_return out;
}

void configure_hop_tls(const TlsRequirement& req, const std::string& host,
                       std::shared_ptr<asio::ssl::context> context, ClientSessionOptions* o,
                       ClientTlsSetup* tls) {
  tls->context = std::move(context);
  tls->peer_name = host;
  tls->tlsa.clear();
  tls->match_names.clear();
  switch (req.level) {
    case TlsLevel::kNone:
      o->tls = TlsPolicy::kNone;
      tls->require_verified = false;
      return;
    case TlsLevel::kMay:
      o->tls = TlsPolicy::kOpportunistic;
      o->tls_fallback_plain = true;
      tls->require_verified = false;
      return;
    case TlsLevel::kEncrypt:
      o->tls = TlsPolicy::kRequired;
      o->tls_fallback_plain = false;
      tls->require_verified = false;
      return;
    case TlsLevel::kDane:
      o->tls = TlsPolicy::kRequired;
      o->tls_fallback_plain = false;
      tls->require_verified = true;
      tls->tlsa = req.tlsa;
      tls->match_names = req.names;
      return;
    case TlsLevel::kVerify:
      o->tls = TlsPolicy::kRequired;
      o->tls_fallback_plain = false;
      tls->require_verified = true;
      tls->match_names = req.names;
      return;
  }
}

Reply requirement_failure_reply(const std::string& host, const TlsRequirement& req) {
  // RFC 3463 X.7.5: cryptographic failure; transient, as RFC 7672 2.2.3 says.
  return Reply(451, "4.7.5", fmt::format("{}: {}", host, req.failure));
}

}  // namespace tern
