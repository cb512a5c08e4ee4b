// What the outbound relay tells SMTP TLS Reporting (RFC 8460, tlsrpt/log.h)
// about one connection attempt to an MX host: the pure mapping from the
// host's TLS requirement (relay/tls_requirement.h), its MTA-STS rule
// (relay/sts_policy.h) and the TLS the connection came to, to the session
// result to record. The courier (remote_courier.h) does the I/O.
//
// Which policy a result is counted under (RFC 8460 4.4 "policy-type"):
//   tlsa: DANE decided the host (a secure, usable TLSA RRset), or its TLSA
//         lookup was bogus or failed, or DANE was required for it
//         ([[tls_policy]] level dane-only) and it had no secure usable TLSA
//         records; policy strings are the TLSA records, "3 1 1 hex". The
//         last is "dane-required" (RFC 8460 4.3.2.1; "tlsa-invalid" when the
//         secure RRset held only unusable records): the policy we applied
//         was DANE's, so "tlsa" and not "no-policy-found", which 4.4 keeps
//         for sessions where no policy applied at all.
//   sts:  an MTA-STS policy in enforce or testing mode applied to the host
//         (where neither DANE nor a [[tls_policy]] entry decided it, RFC
//         8461 2); policy strings are the policy's lines, mx_host its mx
//         patterns.
//   A domain with neither is not recorded at all: "no-policy-found"
//   sessions would be most of the volume and nobody asked for them.
//
// Mail that is itself a TLS report (envelope listener "tls-rpt") is never
// recorded and is delivered despite TLS failures (RFC 8460 5.3):
// relax_for_tls_report() turns every host's requirement opportunistic.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "client/connection.h"
#include "relay/sts_policy.h"
#include "relay/tls_requirement.h"
#include "tlsrpt/result.h"

namespace tern {

// One connection attempt to an MX host, as the courier saw it.
struct TlsAttempt {
  int64_t time = 0;           // unix seconds
  std::string policy_domain;  // the recipient domain
  std::string mx_host;
  std::string sending_ip;    // our address, "" when unknown
  std::string receiving_ip;  // the host's address
  // The name the host gave in its EHLO reply (or greeting), "" when unknown
  // (ClientSession::server_name()): RFC 8460 4.4 "receiving-mx-helo".
  std::string receiving_helo;
  // The host's requirement; null when none was computed (the smarthost).
  const TlsRequirement* requirement = nullptr;
  StsHopRule sts;  // the MTA-STS rule for the host (sts_rule: empty where DANE or config decided)
  const StsState* sts_state = nullptr;
  // The connection's TLS after the session; nullopt when no session was
  // held (the host skipped before connecting).
  std::optional<ClientTlsState> tls;
  // settle()'s tls_handshake_failed: also set when STARTTLS was required
  // and not offered, so the mapping goes by the TLS state first.
  bool handshake_failed = false;
};

// The result to record for `a`, or nullopt when no policy applied.
std::optional<tlsrpt::SessionResult> tls_session_result(const TlsAttempt& a);

// A failed MTA-STS policy fetch with nothing cached (RFC 8460 4.3.2.2):
// sts-policy-invalid when the policy was fetched but did not parse,
// sts-webpki-invalid when the HTTPS server's certificate did not validate
// (StsState::webpki_invalid), sts-policy-fetch-error otherwise; nullopt when `state` holds a policy
// or the domain has no MTA-STS record.
std::optional<tlsrpt::SessionResult> sts_fetch_result(const StsState& state,
                                                      const std::string& policy_domain,
                                                      int64_t time);

// RFC 8460 5.3: reports are delivered despite TLS failures. Every host's
// requirement becomes opportunistic (kMay, no failure); kNone stays.
void relax_for_tls_report(std::map<std::string, TlsRequirement>& tls);

// The envelope listener of mail that is a TLS report (tlsrpt/reporter.h).
inline constexpr const char* kTlsReportListener = "tls-rpt";

}  // namespace tern
