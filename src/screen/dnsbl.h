// DNSBL and DNSWL scoring of a client address, as Postfix's postscreen
// (postscreen_dnsbl_sites, postscreen_dnsbl_threshold): each configured
// site is a zone with an optional filter on the 127.0.0.x answer and a
// weight; the weights of the sites that list the client add up, and a
// score at or above the threshold refuses the connection. Allow lists
// (DNSWL) carry negative weights.
//
// No I/O: the Asio layer (screen/client_screen.h) asks the A records of
// dnsbl_query_name() for every distinct zone and hands the answers to
// score_dnsbl(). RFC 5782 describes the lists: 2.1 the reversed-octet
// names of IPv4, 2.4 the reversed-nibble names of IPv6, 2.3 the 127/8
// answers, 2.2 the TXT reason.
//
// Value types and pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/lookup.h"
#include "tern/reply.h"

namespace tern {

// One octet of a filter: a value range (one value is lo == hi) or a list.
struct OctetMatch {
  std::vector<std::pair<uint8_t, uint8_t>> ranges;  // any of these [lo, hi]
  bool matches(uint8_t v) const;
};

// One configured site: "zone[=filter][*weight]", as postscreen writes
// them, e.g. "zen.spamhaus.org=127.0.0.[2..11]*3" or
// "list.dnswl.org=127.0.[0..255].[1..3]*-5". The filter is four octets,
// each a number, "[lo..hi]" or "[a;b;c]"; without one any answer counts.
// The weight defaults to 1.
struct DnsblSite {
  std::string zone;                // lower-case, no trailing dot
  std::vector<OctetMatch> filter;  // 4 octets, or empty: any address
  int weight = 1;
  std::string spec;  // as configured, for logs

  bool matches(const asio::ip::address& answer) const;
};

// Parses one site. nullopt with `error` set ("filter must have four
// octets") when it is not valid.
std::optional<DnsblSite> parse_dnsbl_site(std::string_view spec, std::string* error);

// The name to query for `client` in `zone` (RFC 5782 2.1, 2.4):
// "2.0.0.127.zone" for 127.0.0.2; 32 nibbles, least significant first,
// for IPv6. An IPv4-mapped IPv6 address is queried as its IPv4 address.
std::string dnsbl_query_name(const asio::ip::address& client, std::string_view zone);

// The distinct zones of `sites`, in order of first appearance: each is
// queried once however many filters it has.
std::vector<std::string> dnsbl_zones(const std::vector<DnsblSite>& sites);

// What the lists say of one client.
struct DnsblVerdict {
  int score = 0;
  bool refused = false;      // score >= threshold
  bool allowlisted = false;  // a site of negative weight lists the client (DNSWL)
  // The positive-weight site of the highest weight that lists the client
  // (the first such on a tie): the zone named in the refusal. Empty when
  // no block list lists it.
  std::string top_zone;
  std::vector<std::string> hits;      // "zone*weight" of each listing site, for the log
  std::vector<std::string> failures;  // "zone: timed out", counted as not listed
  // How long the verdict may be cached: the smallest TTL of the answers
  // (negative TTL for NXDOMAIN), between min_ttl and max_ttl;
  // failed_ttl when a lookup failed, so a dead list is retried soon.
  uint32_t ttl = 0;
};

struct DnsblTtl {
  uint32_t min_ttl = 60;
  uint32_t max_ttl = 3600;
  uint32_t failed_ttl = 60;
};

// Scores the answers: `answers` maps each zone of dnsbl_zones() to its A
// lookup; a zone missing from it (no answer in time) counts as a failure.
// Only 127.0.0.0/8 answers count (RFC 5782 2.3: anything else is a
// broken or hijacked list, as Spamhaus's "query refused" 127.255.255.x
// codes are filtered out by the sites' filters).
DnsblVerdict score_dnsbl(const std::vector<DnsblSite>& sites, int threshold,
                         const std::map<std::string, AddressResult>& answers,
                         const DnsblTtl& ttl = {});

// The refusal: "554 5.7.1 Service unavailable; client [192.0.2.1] blocked
// using zone" and, when the list gave one, "; " and its TXT reason made
// safe for a reply (printable ASCII, at most 200 octets).
Reply dnsbl_refusal(std::string_view client_ip, std::string_view zone, std::string_view reason);

// The TXT record's text joined and cleaned for a reply line (RFC 5782
// 2.2: the reason is for humans, often a URL).
std::string dnsbl_reason_text(const TxtResult& txt);

}  // namespace tern
