// MX routing: where mail for a domain goes (RFC 5321 section 5.1, RFC
// 7505 for null MX). The rules:
//
//  - an address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]") is the one
//    host, no DNS (RFC 5321 4.1.3);
//  - MX records are tried by increasing preference; hosts of equal
//    preference in random order, to spread the load (5.1);
//  - no MX record (the name exists, NOERROR and no MX): the domain itself is
//    an implicit MX of preference 0 (5.1);
//  - any MX whose exchange is the root "." is a null MX: the domain accepts
//    no mail, 556 5.1.10 without a connection (RFC 7505 3, 4.1). RFC 7505 3
//    defines the null MX as the domain's single MX (preference 0, "."), and
//    says a domain publishing one "MUST NOT advertise any other MX RR". A
//    "." among other MX records breaks that rule; like Postfix
//    (dns_lookup.c: DNS_NULLMX for any MX RR with a root exchange), tern
//    honours the stated "no mail here" rather than guess, whatever the
//    preference;
//  - the domain does not exist (NXDOMAIN): permanent, 550 5.1.2;
//  - the MX lookup fails (SERVFAIL, timeout): temporary, 451 4.4.3;
//  - a CNAME at the domain is followed (by the resolver), and the name it
//    leads to is used as the implicit MX (5.1: "processed as if it were the
//    initial domain");
//  - every address of each host is tried in turn, IPv6 (AAAA) before IPv4
//    (A) by default: the default policy of RFC 6724 (section 10.3) ranks
//    native IPv6 above IPv4, and an unreachable IPv6 network fails at once;
//    an address already listed for a better host is not repeated;
//  - a host whose lookups fail is skipped; if no host has an address, the
//    route fails: temporarily (451 4.4.3) if any lookup failed temporarily,
//    otherwise permanently (550 5.4.4 for MX hosts, 550 5.1.2 for the
//    implicit MX);
//  - 5.1 allows a limit on the alternatives tried ("SHOULD try at least
//    two"): RouteOptions caps the hosts and the addresses.
//
// plan_mx() and assemble_route() are pure; resolve_route() does the
// lookups. Not covered here (the relay's business): dropping MX hosts at or
// below our own preference (5.1 loop rule), and internationalised domain
// names (U-labels must become A-labels before lookup: refused for now).
//
// Thread-compatible; resolve_route() runs on the DnsLookup's thread.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/lookup.h"
#include "tern/reply.h"

namespace tern {

enum class RouteStatus {
  kOk,      // hosts holds at least one host, each with at least one address
  kRetry,   // temporary DNS trouble: try again later (reply is 451 4.4.3)
  kFail,    // permanent: no such domain, no usable host (550 5.1.2, 550 5.4.4)
  kNullMx,  // the domain accepts no mail (RFC 7505): permanent, 556 5.1.10
};

// "ok", "retry", "fail", "null MX".
const char* route_status_name(RouteStatus s);

struct RouteOptions {
  size_t max_hosts = 10;      // MX hosts looked up, best first
  size_t max_addresses = 20;  // addresses in the whole route
  bool ipv6_first = true;     // each host's AAAA addresses before its A addresses
};

// Returns a number drawn uniformly from [0, n); REQUIRES n >= 1.
using RandomBelow = std::function<size_t(size_t n)>;
// A RandomBelow on its own std::mt19937, seeded from std::random_device.
RandomBelow system_random();

struct RouteHost {
  std::string name;         // lower-case host name; the literal ("[192.0.2.1]") for literals
  uint16_t preference = 0;  // 0 for the implicit MX and for literals
  std::vector<asio::ip::address> addresses;  // in the order to try
  // Every address answer used for this host (AAAA and A, CNAMEs included)
  // was DNSSEC-secure (RFC 7672 2.2.2: only then is its TLSA looked up).
  bool secure = false;

  friend bool operator==(const RouteHost&, const RouteHost&) = default;
};

struct Route {
  RouteStatus status = RouteStatus::kRetry;
  std::string domain;        // lower-cased, as routed
  bool implicit_mx = false;  // the domain had no MX record
  // The MX answer (or, for the implicit MX, the proof that there is none)
  // was DNSSEC-secure (RFC 7672 2.2.1).
  bool mx_secure = false;
  std::vector<RouteHost> hosts;  // kOk: in the order to try; otherwise empty
  // For anything but kOk: the reply to record for the recipients, e.g.
  // "556 5.1.10 Recipient address has null MX (example.org)".
  Reply reply;
};

// Routes that need no DNS: an address literal gives kOk with that one
// address; a malformed literal, a domain that is not a valid ASCII domain
// name (including U-labels) gives kFail. nullopt: the domain needs DNS.
// `domain` may be in any case.
std::optional<Route> route_without_dns(std::string_view domain);

// The MX hosts to look up, in order: what the MX answer says.
struct MxTarget {
  std::string host;
  uint16_t preference = 0;

  friend bool operator==(const MxTarget&, const MxTarget&) = default;
};
struct MxPlan {
  RouteStatus status = RouteStatus::kRetry;
  bool implicit_mx = false;
  bool mx_secure = false;         // the MX answer was DNSSEC-secure
  std::vector<MxTarget> targets;  // kOk: at most max_hosts, best first; else empty
  Reply reply;                    // for anything but kOk
};

// Turns the MX answer for `domain` (lower-case, valid) into the hosts to
// try: sorted by preference, equal preferences shuffled with `random`,
// duplicates dropped (a host keeps its best preference), at most
// `max_hosts`. kNoData gives the implicit MX (mx.canonical_name, else
// `domain`). Null MX, NXDOMAIN and kTempFail give the statuses above.
MxPlan plan_mx(std::string_view domain, const MxResult& mx, const RandomBelow& random,
               size_t max_hosts);

// The address lookups of one target.
struct HostLookup {
  AddressResult aaaa;
  AddressResult a;
};

// Puts the route together: `lookups[i]` belongs to `plan.targets[i]`
// (REQUIRES lookups.size() <= plan.targets.size(); targets without a lookup
// are left out). A plan that is not kOk is passed through.
Route assemble_route(std::string_view domain, const MxPlan& plan,
                     const std::vector<HostLookup>& lookups, const RouteOptions& options);

// The whole job: route_without_dns, the MX lookup, plan_mx, the AAAA and A
// lookups of each target (the two in parallel, hosts one after the other,
// stopping once max_addresses are known), assemble_route. Never throws
// for DNS trouble; `domain` in any case.
asio::awaitable<Route> resolve_route(DnsLookup& dns, std::string domain, RandomBelow random,
                                     RouteOptions options);

// resolve_route() for a caller that already has the MX answer for
// `domain` (REQUIRES: route_without_dns(domain) is nullopt).
asio::awaitable<Route> resolve_route_from_mx(DnsLookup& dns, std::string domain, MxResult mx,
                                             RandomBelow random, RouteOptions options);

}  // namespace tern
