// The outbound trace: a Received field that the relay puts on top of each
// message it sends to another mail server (an MX host or the smarthost),
// recording the TLS of that hop as we saw it (issue 16: "every outcome is
// in the log line of the delivery and in the Received trail"):
//
//   Received: by mail.ours.example (tern outbound to mx.theirs.example
//           [192.0.2.7], TLSv1.3 TLS_AES_256_GCM_SHA384, authenticated by
//           DANE TLSA 3 1 1 DANE-EE SPKI SHA2-256, policy=dane per dane)
//           with ESMTPS id 01JF3...; Mon, 7 Dec 2026 14:00:00 +0000
//
// Why this shape:
//   * RFC 5321 4.4 lets a relay add trace fields and never change older
//     ones; the receiving MX adds its own Received (its view of the same
//     hop) above ours. We cannot write "from": the hop starts here, so the
//     field has "by" (us), "with" (RFC 3848 / RFC 6531 protocol names) and
//     "id" (the queue id), as Postfix writes for its local pickup hop
//     ("Received: by host (Postfix, from userid 1000) id ...;"). RFC 5322
//     3.6.7 parses it: *received-token ";" date-time, comments as CFWS.
//   * the outcome sits in one comment, in phrases separated by ", ", with
//     no nested parentheses (legal per RFC 5322 3.2.2, but not every
//     parser of Received fields handles them), no ";" (parsers look for
//     the date after a ";"), and only printable ASCII
//     (the field must not make a 7-bit message 8-bit after SIZE= and
//     BODY= were decided, client_session.h OutboundMessage::trace).
//   * lines are folded at spaces to at most 78 characters (RFC 5322 2.1.1).
//
// The comment's phrases (each present when it applies):
//   "tern outbound to HOST [IP]"  or "tern outbound to smarthost HOST [IP]"
//   "VERSION CIPHER"              or "plaintext" / "plaintext: STARTTLS not offered"
//   how the peer was authenticated:
//     "authenticated by DANE TLSA 3 1 1 DANE-EE SPKI SHA2-256" (RFC 7218 names)
//     "authenticated by WebPKI for NAME [NAME...]" (required: verify, MTA-STS, smarthost)
//     "certificate verified for NAME but not required" (opportunistic TLS)
//     "opportunistic TLS not verified: WHY" / "encrypted TLS not verified: WHY"
//   "policy=LEVEL per ORIGIN"     the host's TlsRequirement (relay/tls_requirement.h),
//                                 left out for plain opportunistic TLS, as in the log
//   "MTA-STS MODE id=ID"          with ": FAILURE" (RFC 8460 result type) in testing mode
//   "AUTH"                        we authenticated (smarthost)
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/connection.h"
#include "relay/sts_policy.h"
#include "relay/tls_requirement.h"

namespace tern {

// One connection's hop, as known once it is set up (after STARTTLS).
struct OutboundHop {
  std::string host;  // the MX host (or smarthost) name
  std::string ip;    // the address connected to
  bool smarthost = false;
  ClientTlsState tls;
  bool starttls_offered = false;  // the server's last EHLO offered STARTTLS
  bool authenticated = false;     // AUTH succeeded (smarthost)
  bool esmtp = true;              // EHLO, not HELO
  // The host's requirement; nullopt for the smarthost (TLS required and
  // verified for its name).
  std::optional<TlsRequirement> requirement;
  // Names the certificate was checked against (the host name, or the
  // requirement's names for verify).
  std::vector<std::string> names;
  StsHopRule sts;      // the domain's MTA-STS rule for this host
  std::string sts_id;  // the policy's id, when there is a policy
};

// The comment's text, without its parentheses: made once per connection
// (pooled connections reuse it) and passed to build_outbound_received.
std::string outbound_trace_comment(const OutboundHop& hop);

// The "with" value: ESMTP, ESMTPS, ESMTPSA, UTF8SMTPS, ... (RFC 3848,
// RFC 6531 3.7.3).
std::string outbound_with(const OutboundHop& hop, bool utf8);

struct OutboundReceived {
  std::string by;       // our host name
  std::string comment;  // outbound_trace_comment()
  std::string with;     // outbound_with()
  std::string id;       // the queue id
  int64_t time = 0;     // unix seconds
};

// The whole field, folded, ending in CRLF: printable ASCII, HTAB and CRLF
// only, every line at most 78 characters unless one word is longer.
std::string build_outbound_received(const OutboundReceived& r);

// "DANE-EE SPKI SHA2-256" for "3 1 1" (RFC 7218 2); numbers it does not
// know stay numbers.
std::string tlsa_mnemonics(const std::string& usage_selector_matching);

}  // namespace tern
