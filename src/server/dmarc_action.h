// The DMARC part of the inbound decision, without I/O (InboundAuth does
// the lookups): what [dmarc] on_reject / on_quarantine make of a failing
// domain's policy, and which of several From domains decides.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "dmarc/evaluate.h"
#include "tern/reply.h"

namespace tern {

// One From domain, evaluated.
struct DmarcOutcome {
  std::string domain;
  bool found = false;  // it (or its organizational domain) publishes a policy
  dmarc::Evaluation evaluation;
};

struct DmarcAction {
  dmarc::Policy act = dmarc::Policy::kNone;  // what we do with the message
  std::string result = "permerror";          // RFC 8601 dmarc= (no usable From: permerror)
  std::string from;                          // header.from of the deciding domain
  std::string policy;                        // p= it requested; "" without a record
  std::string dis;                           // dis= what we did; "" without a record
};

// What we do about a policy applied to a failing message: reject,
// quarantine or nothing (mark), after [dmarc] on_reject / on_quarantine.
dmarc::Policy dmarc_disposition(const DmarcConfig& c, dmarc::Policy applied);

// The outcome that decides: the strictest disposition, then a fail over
// any other result, then the first (outcomes sorted by domain), so that a
// second From field cannot hide a failing one (RFC 7489 6.6.1).
DmarcAction decide_dmarc(const DmarcConfig& c, const std::vector<DmarcOutcome>& outcomes);

// 550 5.7.1 for a reject, nothing otherwise.
std::optional<Reply> dmarc_refusal(const DmarcAction& a);

}  // namespace tern
