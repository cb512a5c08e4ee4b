// What the server does with DMARC results (src/server/dmarc_action.h):
// the [dmarc] action mapping and which From domain decides.
#include "server/dmarc_action.h"

#include <gtest/gtest.h>

namespace tern {
namespace {

using dmarc::Policy;
using dmarc::Result;
using Action = DmarcConfig::Action;

DmarcOutcome Outcome(std::string domain, Result result, Policy requested, Policy applied,
                     bool found = true) {
  DmarcOutcome o;
  o.domain = std::move(domain);
  o.found = found;
  o.evaluation.result = result;
  o.evaluation.requested = requested;
  o.evaluation.applied = applied;
  return o;
}

DmarcConfig Config(Action on_reject, Action on_quarantine) {
  DmarcConfig c;
  c.on_reject = on_reject;
  c.on_quarantine = on_quarantine;
  return c;
}

TEST(DmarcActionTest, DispositionFollowsTheConfig) {
  struct Case {
    Action on_reject, on_quarantine;
    Policy applied, want;
  } cases[] = {
      {Action::kReject, Action::kQuarantine, Policy::kReject, Policy::kReject},
      {Action::kReject, Action::kQuarantine, Policy::kQuarantine, Policy::kQuarantine},
      {Action::kReject, Action::kQuarantine, Policy::kNone, Policy::kNone},
      {Action::kQuarantine, Action::kQuarantine, Policy::kReject, Policy::kQuarantine},
      {Action::kMark, Action::kQuarantine, Policy::kReject, Policy::kNone},
      {Action::kReject, Action::kMark, Policy::kQuarantine, Policy::kNone},
      {Action::kMark, Action::kMark, Policy::kNone, Policy::kNone},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message()
                 << dmarc::policy_name(c.applied) << " reject->" << static_cast<int>(c.on_reject)
                 << " quarantine->" << static_cast<int>(c.on_quarantine));
    EXPECT_EQ(dmarc_disposition(Config(c.on_reject, c.on_quarantine), c.applied), c.want);
  }
}

TEST(DmarcActionTest, NoFromDomainIsPermerrorAndDoesNothing) {
  DmarcAction a = decide_dmarc(DmarcConfig{}, {});
  EXPECT_EQ(a.result, "permerror");
  EXPECT_EQ(a.act, Policy::kNone);
  EXPECT_TRUE(a.from.empty());
  EXPECT_FALSE(dmarc_refusal(a));
}

TEST(DmarcActionTest, OneFailingDomainWithRejectIsRefused) {
  DmarcAction a = decide_dmarc(
      DmarcConfig{}, {Outcome("example.com", Result::kFail, Policy::kReject, Policy::kReject)});
  EXPECT_EQ(a.act, Policy::kReject);
  EXPECT_EQ(a.result, "fail");
  EXPECT_EQ(a.from, "example.com");
  EXPECT_EQ(a.policy, "reject");
  EXPECT_EQ(a.dis, "reject");
  auto r = dmarc_refusal(a);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 550);
  EXPECT_EQ(r->enhanced, "5.7.1");
  EXPECT_EQ(r->lines.front(), "Email rejected per DMARC policy for example.com");
}

// RFC 7489 6.6.1: a passing From domain cannot hide a failing one, in
// either order.
TEST(DmarcActionTest, TheStrictestFromDomainDecides) {
  DmarcOutcome pass = Outcome("a.example", Result::kPass, Policy::kReject, Policy::kNone);
  DmarcOutcome fail = Outcome("b.example", Result::kFail, Policy::kReject, Policy::kReject);
  DmarcOutcome quarantine =
      Outcome("c.example", Result::kFail, Policy::kQuarantine, Policy::kQuarantine);
  for (auto list : {std::vector{pass, fail}, std::vector{fail, pass}}) {
    DmarcAction a = decide_dmarc(DmarcConfig{}, list);
    EXPECT_EQ(a.from, "b.example");
    EXPECT_EQ(a.act, Policy::kReject);
  }
  DmarcAction q = decide_dmarc(DmarcConfig{}, {pass, quarantine});
  EXPECT_EQ(q.from, "c.example");
  EXPECT_EQ(q.act, Policy::kQuarantine);
  EXPECT_EQ(q.dis, "quarantine");
  EXPECT_FALSE(dmarc_refusal(q));
  DmarcAction r = decide_dmarc(DmarcConfig{}, {quarantine, fail});
  EXPECT_EQ(r.from, "b.example");
}

// With the same disposition (here: nothing, p=none), a fail is reported
// rather than a pass; between equals the first counts.
TEST(DmarcActionTest, AFailOutranksAPassOfTheSameDisposition) {
  DmarcOutcome pass = Outcome("a.example", Result::kPass, Policy::kNone, Policy::kNone);
  DmarcOutcome fail = Outcome("b.example", Result::kFail, Policy::kNone, Policy::kNone);
  DmarcAction a = decide_dmarc(DmarcConfig{}, {pass, fail});
  EXPECT_EQ(a.result, "fail");
  EXPECT_EQ(a.from, "b.example");
  EXPECT_EQ(a.act, Policy::kNone);
  DmarcOutcome pass2 = Outcome("c.example", Result::kPass, Policy::kNone, Policy::kNone);
  EXPECT_EQ(decide_dmarc(DmarcConfig{}, {pass, pass2}).from, "a.example");
}

// on_reject = "mark": the message is kept; the header still says what the
// domain asked for and what we did.
TEST(DmarcActionTest, MarkKeepsTheMessageAndSaysSo) {
  DmarcAction a =
      decide_dmarc(Config(Action::kMark, Action::kMark),
                   {Outcome("example.com", Result::kFail, Policy::kReject, Policy::kReject)});
  EXPECT_EQ(a.act, Policy::kNone);
  EXPECT_EQ(a.result, "fail");
  EXPECT_EQ(a.policy, "reject");
  EXPECT_EQ(a.dis, "none");
  EXPECT_FALSE(dmarc_refusal(a));
}

// A domain without a record has no p= or dis= to report.
TEST(DmarcActionTest, NoRecordNoPolicyInTheHeader) {
  DmarcAction a = decide_dmarc(
      DmarcConfig{}, {Outcome("example.com", Result::kNone, Policy::kNone, Policy::kNone, false)});
  EXPECT_EQ(a.result, "none");
  EXPECT_EQ(a.from, "example.com");
  EXPECT_TRUE(a.policy.empty());
  EXPECT_TRUE(a.dis.empty());
}

}  // namespace
}  // namespace tern
