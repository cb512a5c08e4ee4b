// The "bulk" section of `tern check --bulk`: the requirements Gmail, Yahoo
// and Outlook.com set for senders of 5000 or more messages a day (Gmail's
// and Yahoo's since February 2024, Outlook.com's since May 2025), each one
// line, judged from what the other checks found. What no DNS lookup can
// tell (one-click unsubscribe in each message, the spam rate) is in the
// notes of the first line.
#include <fmt/format.h>

#include "check/doctor_internal.h"
#include "dns/rdata.h"

namespace tern::check::internal {

void check_bulk(State& s) {
  const State::Bulk& b = s.bulk;
  const std::string host =
      s.options.hostname.empty() ? "(hostname unset)" : normalize_name(s.options.hostname);
  struct Requirement {
    bool met;
    std::string summary;
    std::string fix;  // what to do when not met
  };
  // From is in DOMAIN and tern's envelope sender (a user's own address)
  // too, so SPF passing for DOMAIN and a signature with d=DOMAIN are both
  // aligned in DMARC's sense (RFC 7489 3.1), relaxed and strict alike.
  const std::vector<Requirement> reqs = {
      {b.spf_checked > 0 && b.spf_passed == b.spf_checked,
       fmt::format("SPF of {} passes for this server ({} of {} addresses), aligned with From",
                   s.domain, b.spf_passed, b.spf_checked),
       "Fix the spf lines above: every address this server sends from must pass."},
      {b.dkim_signing_ok,
       fmt::format("DKIM: mail from {} is signed with d={} by a published key (aligned)", s.domain,
                   s.domain),
       "Fix the dkim lines above: a signing key for the domain, published as it is."},
      {!b.dmarc_policy.empty(),
       b.dmarc_policy.empty()
           ? fmt::format("DMARC: {} has no usable record", s.domain)
           : fmt::format("DMARC: {} has p={} (p=none is the minimum)", s.domain, b.dmarc_policy),
       "Publish the DMARC record of the dmarc lines above (p=none is enough to start)."},
      {b.ptr_checked > 0 && b.ptr_matching == b.ptr_checked,
       fmt::format("reverse DNS: {} of {} addresses of this server have a PTR of {} that "
                   "resolves back (FCrDNS) and matches its EHLO name",
                   b.ptr_matching, b.ptr_checked, host),
       "Fix the ptr lines above: each sending address needs a PTR naming the EHLO name "
       "(hostname), and that name the address."},
      // tern's courier always uses STARTTLS when the receiver offers it,
      // and these three receivers always do; a smarthost gets TLS always.
      {true,
       s.options.smarthost.empty()
           ? std::string("TLS: this server uses STARTTLS wherever the receiver offers it "
                         "(Gmail, Yahoo and Outlook.com all do)")
           : fmt::format("TLS: mail leaves through the smarthost {} over TLS; it must use "
                         "TLS onward too",
                         s.options.smarthost),
       ""},
  };
  int unmet = 0;
  for (const Requirement& r : reqs) unmet += !r.met;
  Finding& head =
      unmet == 0
          ? s.add(Level::kOk, "bulk",
                  fmt::format("{} meets the DNS requirements of Gmail, Yahoo and Outlook.com "
                              "for bulk senders",
                              s.domain))
          : s.add(Level::kFail, "bulk",
                  fmt::format("{} misses {} of the requirements of Gmail, Yahoo and "
                              "Outlook.com for bulk senders: bulk mail will be junked or refused",
                              s.domain, unmet));
  head.notes = {
      "Also required, in each bulk message: a one-click unsubscribe (List-Unsubscribe with an "
      "https URI and List-Unsubscribe-Post, RFC 8058, DKIM-signed: tern send --list-unsubscribe "
      "URI --one-click; tern signs both by default), honoured within two days; and a spam rate "
      "under 0.3% (Google Postmaster Tools)."};
  for (const Requirement& r : reqs) {
    Finding& f = s.add(r.met ? Level::kOk : Level::kFail, "bulk", r.summary);
    if (!r.met) f.notes = {r.fix};
  }
}

}  // namespace tern::check::internal
