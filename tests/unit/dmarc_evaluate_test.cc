// DMARC evaluation (RFC 7489 6.6.2, 6.6.4): alignment, which policy
// applies, pct sampling, temporary and permanent errors.
#include <gtest/gtest.h>

#include <string>

#include "dmarc/evaluate.h"

namespace tern::dmarc {
namespace {

Discovery Found(std::string_view txt, std::string policy_domain, bool org_level = false) {
  Discovery d;
  std::string error;
  std::optional<Record> r = parse_record(txt, &error);
  EXPECT_TRUE(r.has_value()) << error;
  d.status = Discovery::Status::kFound;
  d.record = r.value_or(Record{});
  d.policy_domain = std::move(policy_domain);
  d.org_level = org_level;
  return d;
}

Identifiers From(std::string from) {
  Identifiers ids;
  ids.from_domain = std::move(from);
  return ids;
}

TEST(DmarcEvaluate, ResultNames) {
  EXPECT_STREQ(result_name(Result::kNone), "none");
  EXPECT_STREQ(result_name(Result::kPass), "pass");
  EXPECT_STREQ(result_name(Result::kFail), "fail");
  EXPECT_STREQ(result_name(Result::kTempError), "temperror");
  EXPECT_STREQ(result_name(Result::kPermError), "permerror");
}

TEST(DmarcEvaluate, NoRecordIsNone) {
  Discovery d;
  d.status = Discovery::Status::kNone;
  Identifiers ids = From("example.com");
  const Evaluation e = evaluate(d, ids, 0.0);
  EXPECT_EQ(e.result, Result::kNone);
  EXPECT_EQ(e.applied, Policy::kNone);
}

TEST(DmarcEvaluate, DiscoveryErrorsPassThrough) {
  Discovery d;
  d.status = Discovery::Status::kTempError;
  d.error = "SERVFAIL looking up TXT of _dmarc.example.com";
  Evaluation e = evaluate(d, From("example.com"), 0.0);
  EXPECT_EQ(e.result, Result::kTempError);
  EXPECT_EQ(e.applied, Policy::kNone);
  EXPECT_EQ(e.reason, d.error);
  d.status = Discovery::Status::kPermError;
  e = evaluate(d, From("example.com"), 0.0);
  EXPECT_EQ(e.result, Result::kPermError);
  EXPECT_EQ(e.applied, Policy::kNone);
}

TEST(DmarcEvaluate, AlignedDkimPasses) {
  const Discovery d = Found("v=DMARC1; p=reject", "example.com");
  Identifiers ids = From("example.com");
  ids.dkim_pass_domains = {"other.net", "example.com"};
  const Evaluation e = evaluate(d, ids, 0.0);
  EXPECT_EQ(e.result, Result::kPass);
  EXPECT_TRUE(e.dkim_aligned);
  EXPECT_FALSE(e.spf_aligned);
  EXPECT_EQ(e.requested, Policy::kReject);
  EXPECT_EQ(e.applied, Policy::kNone);
  EXPECT_EQ(e.policy_domain, "example.com");
}

TEST(DmarcEvaluate, AlignedSpfPasses) {
  const Discovery d = Found("v=DMARC1; p=reject", "example.com");
  Identifiers ids = From("example.com");
  ids.spf_domain = "bounces.example.com";  // relaxed: same organizational domain
  ids.spf_pass = true;
  const Evaluation e = evaluate(d, ids, 0.0);
  EXPECT_EQ(e.result, Result::kPass);
  EXPECT_TRUE(e.spf_aligned);
  EXPECT_FALSE(e.dkim_aligned);
}

TEST(DmarcEvaluate, UnalignedPassesFail) {
  const Discovery d = Found("v=DMARC1; p=reject", "example.com");
  Identifiers ids = From("example.com");
  ids.dkim_pass_domains = {"mailer.example.net"};
  ids.spf_domain = "example.net";
  ids.spf_pass = true;
  const Evaluation e = evaluate(d, ids, 0.0);
  EXPECT_EQ(e.result, Result::kFail);
  EXPECT_EQ(e.applied, Policy::kReject);
  EXPECT_FALSE(e.dkim_aligned);
  EXPECT_FALSE(e.spf_aligned);
}

TEST(DmarcEvaluate, SpfDomainAlignedButNotPassingFails) {
  const Discovery d = Found("v=DMARC1; p=quarantine", "example.com");
  Identifiers ids = From("example.com");
  ids.spf_domain = "example.com";
  ids.spf_pass = false;  // e.g. softfail
  const Evaluation e = evaluate(d, ids, 0.0);
  EXPECT_EQ(e.result, Result::kFail);
  EXPECT_EQ(e.applied, Policy::kQuarantine);
}

TEST(DmarcEvaluate, StrictAlignmentWantsTheExactDomain) {
  const Discovery d = Found("v=DMARC1; p=reject; adkim=s; aspf=s", "example.com");
  Identifiers ids = From("example.com");
  ids.dkim_pass_domains = {"mail.example.com"};
  ids.spf_domain = "bounce.example.com";
  ids.spf_pass = true;
  EXPECT_EQ(evaluate(d, ids, 0.0).result, Result::kFail);
  ids.dkim_pass_domains = {"EXAMPLE.COM"};  // case does not matter
  const Evaluation e = evaluate(d, ids, 0.0);
  EXPECT_EQ(e.result, Result::kPass);
  EXPECT_TRUE(e.dkim_aligned);
  EXPECT_FALSE(e.spf_aligned);
}

TEST(DmarcEvaluate, StrictDkimRelaxedSpf) {
  const Discovery d = Found("v=DMARC1; p=reject; adkim=s", "example.com");
  Identifiers ids = From("example.com");
  ids.dkim_pass_domains = {"mail.example.com"};
  ids.spf_domain = "mail.example.com";
  ids.spf_pass = true;
  const Evaluation e = evaluate(d, ids, 0.0);
  EXPECT_EQ(e.result, Result::kPass);
  EXPECT_FALSE(e.dkim_aligned);
  EXPECT_TRUE(e.spf_aligned);
}

TEST(DmarcEvaluate, SubdomainFromWithParentSignature) {
  // 3.1.1: d=example.com, From news.example.com: aligned when relaxed.
  const Discovery d = Found("v=DMARC1; p=reject", "example.com", /*org_level=*/true);
  Identifiers ids = From("news.example.com");
  ids.dkim_pass_domains = {"example.com"};
  EXPECT_EQ(evaluate(d, ids, 0.0).result, Result::kPass);
  const Discovery strict = Found("v=DMARC1; p=reject; adkim=s", "example.com", /*org_level=*/true);
  EXPECT_EQ(evaluate(strict, ids, 0.0).result, Result::kFail);
}

TEST(DmarcEvaluate, SpAppliesOnlyAtTheOrganizationalLevel) {
  Identifiers ids = From("news.example.com");
  // Found at the organizational domain for a subdomain: sp= applies.
  Evaluation e =
      evaluate(Found("v=DMARC1; p=reject; sp=quarantine", "example.com", true), ids, 0.0);
  EXPECT_EQ(e.result, Result::kFail);
  EXPECT_EQ(e.requested, Policy::kQuarantine);
  EXPECT_EQ(e.applied, Policy::kQuarantine);
  // Without sp=, p= covers subdomains.
  e = evaluate(Found("v=DMARC1; p=reject", "example.com", true), ids, 0.0);
  EXPECT_EQ(e.requested, Policy::kReject);
  // A record at the From domain itself is that domain's: p= applies.
  e = evaluate(Found("v=DMARC1; p=reject; sp=none", "news.example.com", false), ids, 0.0);
  EXPECT_EQ(e.requested, Policy::kReject);
  EXPECT_EQ(e.applied, Policy::kReject);
  ids = From("example.com");
  e = evaluate(Found("v=DMARC1; p=none; sp=reject", "example.com", false), ids, 0.0);
  EXPECT_EQ(e.requested, Policy::kNone);
  EXPECT_EQ(e.applied, Policy::kNone);
}

TEST(DmarcEvaluate, PctSampling) {
  const Identifiers ids = From("example.com");
  // 6.6.4: sampled out, reject is applied as quarantine, quarantine as none.
  const Discovery reject = Found("v=DMARC1; p=reject; pct=30", "example.com");
  Evaluation e = evaluate(reject, ids, 0.29);
  EXPECT_EQ(e.applied, Policy::kReject);
  EXPECT_FALSE(e.sampled_out);
  e = evaluate(reject, ids, 0.30);
  EXPECT_EQ(e.result, Result::kFail);
  EXPECT_EQ(e.requested, Policy::kReject);
  EXPECT_EQ(e.applied, Policy::kQuarantine);
  EXPECT_TRUE(e.sampled_out);
  EXPECT_NE(e.reason.find("pct=30"), std::string::npos) << e.reason;

  const Discovery quarantine = Found("v=DMARC1; p=quarantine; pct=50", "example.com");
  EXPECT_EQ(evaluate(quarantine, ids, 0.49).applied, Policy::kQuarantine);
  e = evaluate(quarantine, ids, 0.5);
  EXPECT_EQ(e.applied, Policy::kNone);
  EXPECT_TRUE(e.sampled_out);

  // pct=100 always applies, pct=0 never.
  EXPECT_EQ(evaluate(Found("v=DMARC1; p=reject", "example.com"), ids, 0.999).applied,
            Policy::kReject);
  EXPECT_EQ(evaluate(Found("v=DMARC1; p=reject; pct=0", "example.com"), ids, 0.0).applied,
            Policy::kQuarantine);
  // Nothing to soften: p=none is never "sampled out".
  e = evaluate(Found("v=DMARC1; p=none; pct=0", "example.com"), ids, 0.5);
  EXPECT_EQ(e.applied, Policy::kNone);
  EXPECT_FALSE(e.sampled_out);
}

TEST(DmarcEvaluate, SamplingDoesNotTouchPasses) {
  Identifiers ids = From("example.com");
  ids.dkim_pass_domains = {"example.com"};
  const Evaluation e = evaluate(Found("v=DMARC1; p=reject; pct=0", "example.com"), ids, 0.9);
  EXPECT_EQ(e.result, Result::kPass);
  EXPECT_EQ(e.applied, Policy::kNone);
  EXPECT_FALSE(e.sampled_out);
}

TEST(DmarcEvaluate, TempErrorWhenAnAlignedPassMayComeLater) {
  const Discovery d = Found("v=DMARC1; p=reject", "example.com");
  Identifiers ids = From("example.com");
  ids.spf_domain = "example.com";
  ids.spf_temperror = true;
  Evaluation e = evaluate(d, ids, 0.0);
  EXPECT_EQ(e.result, Result::kTempError);
  EXPECT_EQ(e.requested, Policy::kReject);
  EXPECT_EQ(e.applied, Policy::kNone);
  EXPECT_NE(e.reason.find("SPF"), std::string::npos);

  ids = From("example.com");
  ids.dkim_temperror = true;
  e = evaluate(d, ids, 0.0);
  EXPECT_EQ(e.result, Result::kTempError);
  EXPECT_NE(e.reason.find("DKIM"), std::string::npos);
}

TEST(DmarcEvaluate, TempErrorOfAnUnalignedSpfDomainCannotHelp) {
  const Discovery d = Found("v=DMARC1; p=reject", "example.com");
  Identifiers ids = From("example.com");
  ids.spf_domain = "example.net";
  ids.spf_temperror = true;
  const Evaluation e = evaluate(d, ids, 0.0);
  EXPECT_EQ(e.result, Result::kFail);
  EXPECT_EQ(e.applied, Policy::kReject);
}

TEST(DmarcEvaluate, PassBeatsTempError) {
  const Discovery d = Found("v=DMARC1; p=reject", "example.com");
  Identifiers ids = From("example.com");
  ids.dkim_temperror = true;
  ids.spf_domain = "example.com";
  ids.spf_pass = true;
  EXPECT_EQ(evaluate(d, ids, 0.0).result, Result::kPass);
}

TEST(DmarcEvaluate, DefaultedPIsNone) {
  // 6.6.3 step 6.1: evaluated (and reported) as p=none.
  const Discovery d = Found("v=DMARC1; p=bogus; rua=mailto:a@example.com", "example.com");
  const Evaluation e = evaluate(d, From("example.com"), 0.0);
  EXPECT_EQ(e.result, Result::kFail);
  EXPECT_EQ(e.requested, Policy::kNone);
  EXPECT_EQ(e.applied, Policy::kNone);
}

}  // namespace
}  // namespace tern::dmarc
