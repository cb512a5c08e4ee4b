// DANE for outbound SMTP (RFC 7672, RFC 6698, RFC 7218) and the
// per-destination TLS policy: what each MX host of a route must offer.
//
// The rules, per MX host, for a destination at level `dane` (the default
// with DNSSEC on) or `dane-only`:
//  - DANE applies only to a host reached through DNSSEC-secure data: the
//    MX RRset secure (or no MX record, the domain being its own host),
//    and the host's address records secure (RFC 7672 2.2.1, 2.2.2). A
//    secure MX whose host is in an unsigned zone is such an insecure host:
//    opportunistic TLS for it (2.2.2), whatever the other hosts have.
//  - For those hosts the TLSA RRset at _PORT._tcp.HOST is looked up
//    (RFC 6698 3, RFC 7672 2.2.3):
//      secure, with usable records  -> TLS required, authenticated by them;
//      secure, none usable          -> TLS required, not authenticated
//                                      (RFC 7672 2.2: "unusable" records);
//      secure denial (none)         -> opportunistic;
//      insecure                     -> opportunistic;
//      bogus, or the lookup failed  -> the host is not used (2.2.3: never
//                                      plaintext), the next MX is tried,
//                                      then the message is deferred.
//  - Usable (RFC 7672 3.1): DANE-TA(2) and DANE-EE(3), selector Cert(0) or
//    SPKI(1), matching Full(0), SHA2-256(1) with 32 octets or SHA2-512(2)
//    with 64; PKIX-TA(0)/PKIX-EE(1) are not used by SMTP (3.1.3).
//  - `dane-only`: a host that ends up without usable TLSA records is not
//    used.
// Other levels need no DNSSEC: `none`, `may`, `encrypt`, `verify`
// (names from `match`, "hostname" by default), `secure` ("nexthop" and
// "dot-nexthop" by default). Address literals get `may` under `dane`.
//
// host_requirement() is pure; route_requirements() does the TLSA lookups.
// Thread-compatible; route_requirements() runs on the DnsLookup's thread.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "client/connection.h"
#include "core/client_session.h"
#include "dns/lookup.h"
#include "dns/mx_route.h"
#include "relay/tls_requirement.h"

namespace tern {

// RFC 7672 3.1 (see the list above).
bool tlsa_usable(const TlsaRecord& r);

// "_25._tcp.mx.example.org" (RFC 6698 3).
std::string tlsa_name(std::string_view host, uint16_t port);

// What applies to a destination: the [[tls_policy]] entry if any, else the
// default level (kDane with DNSSEC validation on, else kMay).
struct DestinationTls {
  TlsPolicyLevel level = TlsPolicyLevel::kMay;
  bool configured = false;  // from a [[tls_policy]] entry
  std::vector<std::string> match;
  // From a next-hop entry: its "[host]" or "[host]:port" (the log's
  // origin, "config [host]") and the host, which is then what `match`'s
  // "nexthop" means (as Postfix's "[host]" next hop); "" otherwise.
  std::string next_hop;
  std::string next_hop_host;
};
DestinationTls destination_tls(const std::vector<TlsPolicyEntry>& entries, std::string_view domain,
                               TlsPolicyLevel default_level);

// What applies to MX host `host` at `port`: the next-hop entry naming it
// (tls_requirement.h find_next_hop_policy), else `domain_tls`.
DestinationTls host_tls(const std::vector<TlsPolicyEntry>& entries,
                        const DestinationTls& domain_tls, std::string_view host, uint16_t port);

// Whether the TLSA RRset of `host` is needed (levels dane, dane-only; a
// host name, not a literal; secure as the rules above say).
bool wants_tlsa(const DestinationTls& dest, const Route& route, const RouteHost& host);

// The requirement of one host of `route` (the destination `route.domain`).
// `tlsa` is the answer for tlsa_name(host) when wants_tlsa() said so, else
// null.
TlsRequirement host_requirement(const DestinationTls& dest, const Route& route,
                                const RouteHost& host, const TlsaResult* tlsa);

// host_requirement() for every host of a kOk route, by host name, with the
// TLSA lookups (one host after the other) at `port`. Each host gets
// host_tls(next_hops, dest, host, port): `next_hops` are the [[tls_policy]]
// entries (only their next-hop ones count here).
asio::awaitable<std::map<std::string, TlsRequirement>> route_requirements(
    DnsLookup& dns, const Route& route, DestinationTls dest, uint16_t port,
    std::vector<TlsPolicyEntry> next_hops = {});

// Sets up a connection for `req`: the STARTTLS policy, whether a failed
// certificate check fails the connection, the TLSA records and names.
// `context` is the MX client context (client/tls_client.h, DANE enabled).
void configure_hop_tls(const TlsRequirement& req, const std::string& host,
                       std::shared_ptr<asio::ssl::context> context, ClientSessionOptions* o,
                       ClientTlsSetup* tls);

// The reply for recipients left when every host was skipped for its
// requirement: 451 4.7.5 with the first host's reason.
Reply requirement_failure_reply(const std::string& host, const TlsRequirement& req);

}  // namespace tern
