#include "server/dmarc_action.h"

namespace tern {
namespace {

int strictness(dmarc::Policy p) {
  switch (p) {
    case dmarc::Policy::kReject:
      return 2;
    case dmarc::Policy::kQuarantine:
      return 1;
    case dmarc::Policy::kNone:
      return 0;
  }
  return 0;
}

}  // namespace

dmarc::Policy dmarc_disposition(const DmarcConfig& c, dmarc::Policy applied) {
  DmarcConfig::Action a = DmarcConfig::Action::kMark;
  if (applied == dmarc::Policy::kReject) a = c.on_reject;
  if (applied == dmarc::Policy::kQuarantine) a = c.on_quarantine;
  switch (a) {
    case DmarcConfig::Action::kReject:
      return dmarc::Policy::kReject;
    case DmarcConfig::Action::kQuarantine:
      return dmarc::Policy::kQuarantine;
    case DmarcConfig::Action::kMark:
      return dmarc::Policy::kNone;
  }
  return dmarc::Policy::kNone;
}

DmarcAction decide_dmarc(const DmarcConfig& c, const std::vector<DmarcOutcome>& outcomes) {
  DmarcAction out;
  int best = -1;
  for (const DmarcOutcome& o : outcomes) {
    const dmarc::Evaluation& e = o.evaluation;
    const dmarc::Policy mine = dmarc_disposition(c, e.applied);
    const int rank = strictness(mine) * 2 + (e.result == dmarc::Result::kFail ? 1 : 0);
    if (rank <= best) continue;
    best = rank;
    out.act = mine;
    out.result = dmarc::result_name(e.result);
    out.from = o.domain;
    out.policy = o.found ? dmarc::policy_name(e.requested) : "";
    out.dis = o.found ? dmarc::policy_name(mine) : "";
  }
  return out;
}

std::optional<Reply> dmarc_refusal(const DmarcAction& a) {
  if (a.act != dmarc::Policy::kReject) return std::nullopt;
  return Reply(550, "5.7.1", "Email rejected per DMARC policy for " + a.from);
}

}  // namespace tern
