// RFC 7489 6.6.2 steps 5-6 (alignment, policy) and 6.6.4 (sampling).
#include "dmarc/evaluate.h"

#include <fmt/format.h>

#include "dmarc/org_domain.h"

namespace tern::dmarc {
namespace {

// 6.6.4: a message not subject to the policy because of pct= gets the next
// softer one: "reject" is treated as "quarantine", "quarantine" as local
// classification as normal (none).
Policy softer(Policy p) { return p == Policy::kReject ? Policy::kQuarantine : Policy::kNone; }

}  // namespace

const char* result_name(Result r) {
  switch (r) {
    case Result::kNone:
      return "none";
    case Result::kPass:
      return "pass";
    case Result::kFail:
      return "fail";
    case Result::kTempError:
      return "temperror";
    case Result::kPermError:
      return "permerror";
  }
  return "?";
}

Evaluation evaluate(const Discovery& d, const Identifiers& ids, double sample) {
  Evaluation e;
  e.policy_domain = d.policy_domain;
  switch (d.status) {
    case Discovery::Status::kNone:
      e.result = Result::kNone;
      e.reason = d.error.empty() ? "no DMARC record" : d.error;
      return e;
    case Discovery::Status::kTempError:
      e.result = Result::kTempError;
      e.reason = d.error;
      return e;
    case Discovery::Status::kPermError:
      e.result = Result::kPermError;
      e.reason = d.error;
      return e;
    case Discovery::Status::kFound:
      break;
  }
  const Record& r = d.record;
  // sp= is for subdomains of the organizational domain; a record found at
  // the From domain itself is that domain's own (6.3 "sp", 6.6.3).
  e.requested = d.org_level && r.sp ? *r.sp : r.p;

  std::string dkim_domain;
  for (const std::string& domain : ids.dkim_pass_domains) {
    if (aligned(domain, ids.from_domain, r.adkim)) {
      e.dkim_aligned = true;
      dkim_domain = domain;
      break;
    }
  }
  e.spf_aligned = ids.spf_pass && aligned(ids.spf_domain, ids.from_domain, r.aspf);

  if (e.dkim_aligned || e.spf_aligned) {
    e.result = Result::kPass;
    e.reason =
        e.dkim_aligned
            ? fmt::format("DKIM d={} is aligned with From {}", dkim_domain, ids.from_domain)
            : fmt::format("SPF domain {} is aligned with From {}", ids.spf_domain, ids.from_domain);
    return e;
  }
  // An SPF temperror matters only when a pass would have been aligned.
  const bool spf_could_pass = ids.spf_temperror && aligned(ids.spf_domain, ids.from_domain, r.aspf);
  if (spf_could_pass || ids.dkim_temperror) {
    e.result = Result::kTempError;
    e.reason = fmt::format("no aligned pass, and {} had a temporary error",
                           spf_could_pass && ids.dkim_temperror ? "SPF and DKIM"
                           : spf_could_pass                     ? "SPF"
                                                                : "DKIM");
    return e;
  }
  e.result = Result::kFail;
  const bool sampled_in = sample * 100.0 < static_cast<double>(r.pct);
  e.applied = sampled_in ? e.requested : softer(e.requested);
  e.sampled_out = e.applied != e.requested;
  std::string why = "no aligned DKIM or SPF pass";
  if (!ids.dkim_pass_domains.empty()) {
    why += fmt::format(" (DKIM passed for {} only)", ids.dkim_pass_domains.front());
  } else if (ids.spf_pass) {
    why += fmt::format(" (SPF passed for {} only)", ids.spf_domain);
  }
  e.reason = fmt::format("{}; policy {}={}", why, d.org_level && r.sp ? "sp" : "p",
                         policy_name(e.requested));
  if (e.sampled_out) {
    e.reason += fmt::format(", sampled out by pct={}: {} applied", r.pct, policy_name(e.applied));
  }
  return e;
}

}  // namespace tern::dmarc
