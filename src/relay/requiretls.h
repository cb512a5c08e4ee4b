// REQUIRETLS (RFC 8689) and the TLS-Required header field in the outbound
// relay: the decisions, apart from the courier's I/O (remote_courier.h).
//
// A queued message is in one of three modes (message_tls):
//   kRequireTls   MAIL FROM ... REQUIRETLS (kept in the queue file, so
//                 across retries and restarts). RFC 8689 4.2.1, per MX host:
//                   - the host's name must be authentic: a DNSSEC-secure MX
//                     RRset (or no MX, the domain being its own host), or
//                     an MTA-STS policy (enforce OR testing: 4.2.1 asks for
//                     the RFC 8461 4.1 name check, whatever the mode) whose
//                     mx patterns match it;
//                   - TLS with the server authenticated: DANE (RFC 7672)
//                     where the host has usable TLSA records, else WebPKI
//                     for the MX host name (RFC 6125);
//                   - the server offers REQUIRETLS after STARTTLS (checked
//                     by the client session: 550 5.7.30 when it does not).
//                 A [[tls_policy]] entry of level verify or secure counts
//                 as authenticated (the operator pinned the names); level
//                 none can never carry such a message. Hosts that fail the
//                 first rule are not connected to. 4.2.1: each MX host is
//                 tried in turn; when every host was ruled out for good
//                 (not authenticated, no REQUIRETLS; outside the mx
//                 patterns of a testing policy, while outside those of an
//                 enforce policy is transient, as for any mail: RFC 8461 5
//                 allows no permanent failure before the policy is fetched
//                 again) the message bounces
//                 with 5.7.30; when some host failed in a way that may
//                 pass later (no connection, TLS handshake or certificate
//                 failure, a bogus DNSSEC answer) it stays queued (4.x.x),
//                 never sent without TLS or to an unauthenticated server.
//   kTlsOptional  "TLS-Required: No" in the header and no REQUIRETLS
//                 parameter (RFC 8689 3, 4.2.2): recipient-domain policy
//                 (DANE, MTA-STS) is ignored, TLS stays opportunistic. Our
//                 own [[tls_policy]] entries still apply: they are the
//                 operator's, not the recipient domain's.
//   kDefault      neither.
// With REQUIRETLS the header is ignored (RFC 8689 4.1).
//
// Pure functions except read_tls_required_no() (blocking file read).
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "client/connection.h"
#include "core/status.h"
#include "relay/sts_policy.h"
#include "relay/tls_requirement.h"
#include "tern/reply.h"

namespace tern {

enum class MessageTls { kDefault, kRequireTls, kTlsOptional };

MessageTls message_tls(bool requiretls_param, bool tls_required_no);

// The delivery log's field: " requiretls=yes", " tls-required=no" or "".
const char* message_tls_field(MessageTls mode);

// True if the header section (up to the first empty line) has a
// "TLS-Required: No" field (RFC 8689 3; name and value in any case,
// folding and surrounding white space allowed). Any other value, or no
// such field: false.
bool header_says_tls_optional(std::string_view content);

// Reads the header section of the queued content (`path` from `offset`,
// at most 256 KiB) and applies header_says_tls_optional(). Blocking.
Status read_tls_required_no(const std::string& path, uint64_t offset, bool* out);

// What a REQUIRETLS message may do with one MX host.
struct RequireTlsHop {
  bool usable = false;  // may be connected to, with `req`
  // When !usable: ruled out for good (5.7.30) rather than for now.
  bool permanent = false;
  TlsRequirement req;  // the host's requirement, made authenticating where usable
  std::string why;     // when !usable
};

// The rules above for `host`, given its requirement as the courier made
// it (relay/dane.h, MTA-STS enforce applied), the domain's MTA-STS rule
// for the host (sts_hop_rule, whatever decided its TLS) and whether the
// route's host names are authentic (mx_secure or implicit_mx, not an
// address literal).
RequireTlsHop requiretls_hop(const TlsRequirement& req, const StsHopRule& sts, bool names_authentic,
                             const std::string& host);

// TLS-Required: No: every requirement that DANE or MTA-STS made becomes
// opportunistic (kMay; bogus TLSA answers no longer skip the host);
// [[tls_policy]] entries are kept.
void relax_for_tls_optional(std::map<std::string, TlsRequirement>& tls);

// Whether an idle pooled connection may carry a REQUIRETLS message: TLS,
// REQUIRETLS offered, and the server authenticated as above (DANE, or
// WebPKI for a host that the domain's MTA-STS policy names; for the
// smarthost, its verified certificate). Anything else: a new connection.
bool requiretls_connection_ok(const ClientTlsState& tls, bool offers_requiretls,
                              const StsHopRule& sts, bool smarthost);

// True if a message's result is the client session's refusal of a
// REQUIRETLS message (550 5.7.30: no TLS, or REQUIRETLS not offered).
bool is_requiretls_refusal(const MessageResult& r);

// "550 5.7.30 REQUIRETLS: <why> (<host>)".
Reply requiretls_reply(std::string_view why, std::string_view host);

// What the hosts of one delivery came to, for the recipients left at the
// end: bounced with 5.7.30 only when every host tried or skipped was
// ruled out for good.
class RequireTlsTally {
 public:
  void permanent(const Reply& r);  // the first is kept for the DSN
  void transient() { transient_ = true; }
  // True when the recipients left should bounce with reply().
  bool bounce() const { return permanent_ && !transient_; }
  const Reply& reply() const { return reply_; }

 private:
  bool permanent_ = false;
  bool transient_ = false;
  Reply reply_;
};

}  // namespace tern
