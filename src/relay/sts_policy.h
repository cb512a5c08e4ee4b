// What a domain's MTA-STS policy (RFC 8461) asks of each MX host, as the
// outbound relay applies it: the pure part, apart from fetching the policy
// (sts_fetch.h) and from the courier's I/O (remote_courier.h).
//
//   enforce: a host that matches no mx pattern (4.1) is not tried at all;
//            a host that is tried must offer STARTTLS and present a
//            certificate that verifies (WebPKI, the system store) for the
//            MX host name (4.2), or it is given up on without mail going
//            out in plaintext. No host left: the message stays queued
//            (4.7.x), never sent in the clear.
//   testing: delivery as without a policy; a mismatch or a TLS failure is
//            only logged (and is what a TLS-RPT report counts, RFC 8460).
//   none, or no policy: nothing.
//
// DANE (RFC 7672) takes precedence where both apply (RFC 8461 2): for an
// MX host with a usable TLSA RRset the DANE requirement replaces this
// one; the caller decides which requirement a hop gets. With a per-hop
// TLS requirement (level, names, source), the rule maps as: when nothing
// stronger decided the host (no config entry, no DANE), require_tls gives
// "verify" with names {mx_host} and source MTA-STS, and !usable a failure
// ("not in the MTA-STS policy of DOMAIN") that skips the host.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "client/connection.h"
#include "sts/policy.h"

namespace tern {

// The MTA-STS side of one delivery: the domain's policy when one applies.
struct StsState {
  std::optional<sts::Policy> policy;  // nullopt: no policy (opportunistic as before)
  std::string id;                     // the policy's TXT record id, with `policy`
  // For logs: "cached", "fetched", or why there is none ("no record",
  // "fetch failed: ...").
  std::string source;
  // The fetch failed because the HTTPS server's certificate did not
  // validate (WebPKI, RFC 8461 3.3): TLS-RPT "sts-webpki-invalid" (RFC
  // 8460 4.3.2.2) rather than "sts-policy-fetch-error".
  bool webpki_invalid = false;
};

// What the policy asks of one MX host.
struct StsHopRule {
  bool applies = false;      // a policy in enforce or testing mode
  bool enforce = false;      // mode enforce
  bool mx_matched = true;    // the host matches a pattern (true without a policy)
  bool usable = true;        // may be tried: false only for enforce and no match
  bool require_tls = false;  // STARTTLS required, verified for the MX name (4.2)
};

StsHopRule sts_hop_rule(const StsState& state, std::string_view mx_host);

// The TLS-RPT result type (RFC 8460 4.3) that a connection's TLS came to
// under an MTA-STS policy, or "" when it satisfied the policy:
// "starttls-not-supported", "certificate-host-mismatch",
// "certificate-expired", "certificate-not-trusted", "validation-failure".
std::string sts_tls_failure(const ClientTlsState& tls);

// The log field for one delivery attempt: "" without a policy, else
// "sts=enforce(matched)", "sts=testing(matched)",
// "sts=testing(mx-mismatch)", "sts=testing(certificate-host-mismatch)",
// "sts=enforce(starttls-not-supported)".
std::string sts_log_field(const StsHopRule& rule, const std::optional<ClientTlsState>& tls);

}  // namespace tern
