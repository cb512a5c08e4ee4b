// DMARC for a received message (RFC 7489 6.6): finding the policy of the
// From domain in DNS (discover, 6.6.3), and deciding from the SPF and DKIM
// results whether the message passes and what the policy asks for
// (evaluate, 6.6.2 steps 5-6, 6.6.4). SPF and DKIM themselves are checked
// elsewhere (spf/check.h, dkim/verifier.h); their outcomes come in as
// Identifiers.
//
// Decisions (docs/dmarc.md):
//   - A DNS failure while looking for the record gives kTempError: whether
//     to defer (4xx) or accept is the caller's call (6.6.3 leaves it to the
//     receiver).
//   - A message that passes neither aligned DKIM nor aligned SPF, where an
//     SPF or DKIM check hit a temporary error that might have produced an
//     aligned pass, gives kTempError rather than kFail: trying later may
//     pass it. An SPF temperror for a domain that would not align anyway
//     cannot change the outcome and is ignored; a DKIM temperror always
//     counts (Identifiers does not say which d= it was for). No policy is
//     applied to a kTempError (applied = kNone).
//   - A record that starts with v=DMARC1 but is unusable (no valid p= and
//     no valid rua=, a tag twice) gives kPermError and no policy: 6.6.3
//     step 6.2 says "no DMARC processing", and RFC 7489 11.2 names
//     permerror for a syntactically incorrect record.
//
// discover() runs on the thread of the DnsLookup given; evaluate() is a
// pure function. Both are thread-safe otherwise.
#pragma once

#include <asio/awaitable.hpp>
#include <string>
#include <vector>

#include "dmarc/record.h"
#include "dns/lookup.h"

namespace tern::dmarc {

// The authenticated identifiers of one message (6.6.2 steps 3-4).
struct Identifiers {
  std::string from_domain;  // the RFC5322.From domain (6.6.1)
  // The domain SPF checked: the MAIL FROM domain, or the HELO name when
  // MAIL FROM was <> (RFC 7208 2.4).
  std::string spf_domain;
  bool spf_pass = false;
  bool spf_temperror = false;
  std::vector<std::string> dkim_pass_domains;  // d= of each signature that passed
  bool dkim_temperror = false;                 // some signature's key lookup failed
};

struct Discovery {
  enum class Status {
    kFound,      // one usable DMARC record: `record`
    kNone,       // no DMARC record (or more than one at the name, 6.6.3 step 5)
    kTempError,  // a DNS failure: try again later
    kPermError,  // a v=DMARC1 record that cannot be used (6.6.3 step 6.2)
  };
  Status status = Status::kNone;
  Record record;              // kFound only
  std::string record_text;    // the record as published (kFound, kPermError)
  std::string policy_domain;  // where the record was found (kFound, kPermError)
  // The record was found at the organizational domain rather than at the
  // From domain itself, so sp= applies (6.3 "sp", 6.6.3 step 3).
  bool org_level = false;
  // For people: why kNone / kTempError / kPermError ("no DMARC record at
  // _dmarc.example.com or _dmarc.example.org", "SERVFAIL looking up ...").
  std::string error;
};

// "found", "none", "temperror", "permerror".
const char* discovery_status_name(Discovery::Status s);

// Policy discovery, RFC 7489 6.6.3: the TXT records of _dmarc.<from_domain>;
// when none of them is a DMARC record (or the name has no TXT at all),
// those of _dmarc.<organizational domain> when that is a different name.
// More than one DMARC record at the name that has any gives kNone. A
// temporary DNS failure at either lookup gives kTempError. An empty
// `from_domain` gives kNone without a query.
// REQUIRES: `dns` outlives the returned awaitable.
asio::awaitable<Discovery> discover(DnsLookup& dns, std::string from_domain);

// The DMARC result (RFC 8601 2.7.1 / RFC 7489 11.2 words).
enum class Result { kNone, kPass, kFail, kTempError, kPermError };

// "none", "pass", "fail", "temperror", "permerror".
const char* result_name(Result r);

struct Evaluation {
  Result result = Result::kNone;
  // The policy the domain asks for: sp= when the record came from the
  // organizational domain and has one, else p=. kNone unless kFound.
  Policy requested = Policy::kNone;
  // What to do with the message: requested for a kFail that was sampled
  // in (6.6.4), one step softer when sampled out (reject -> quarantine,
  // quarantine -> none), kNone for every other result.
  Policy applied = Policy::kNone;
  bool sampled_out = false;   // kFail, and pct= made `applied` softer than `requested`
  bool dkim_aligned = false;  // some passing signature's d= is aligned with From
  bool spf_aligned = false;   // SPF passed for a domain aligned with From
  std::string policy_domain;
  std::string reason;  // for logs and Authentication-Results comments
};

// Evaluates `ids` against the discovered policy (6.6.2 step 5: pass when an
// aligned DKIM pass or an aligned SPF pass exists; 6.6.4: pct sampling).
// `sample` is the caller's uniform random draw in [0, 1): the policy is
// applied when sample * 100 < pct, so pct=100 always applies it and pct=0
// never does. Pure.
Evaluation evaluate(const Discovery& d, const Identifiers& ids, double sample);

}  // namespace tern::dmarc
