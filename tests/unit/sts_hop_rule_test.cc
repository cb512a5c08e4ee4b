#include <gtest/gtest.h>

#include "relay/sts_policy.h"

namespace tern {
namespace {

StsState With(sts::Mode mode) {
  StsState s;
  sts::Policy p;
  p.mode = mode;
  p.mx = {"mx.example.com", "*.mx.example.net"};
  p.max_age = 3600;
  s.policy = p;
  return s;
}

ClientTlsState Tls(bool active, bool verified, std::string detail) {
  ClientTlsState t;
  t.active = active;
  t.check.verified = verified;
  t.check.detail = std::move(detail);
  return t;
}

TEST(StsHopRule, NoPolicyChangesNothing) {
  const StsHopRule r = sts_hop_rule(StsState{}, "anything.example");
  EXPECT_FALSE(r.applies);
  EXPECT_TRUE(r.usable);
  EXPECT_FALSE(r.require_tls);
  EXPECT_EQ(sts_log_field(r, Tls(false, false, "")), "");
  EXPECT_FALSE(sts_hop_rule(With(sts::Mode::kNone), "evil.example").require_tls);
}

TEST(StsHopRule, EnforceMatched) {
  const StsHopRule r = sts_hop_rule(With(sts::Mode::kEnforce), "a.mx.example.net");
  EXPECT_TRUE(r.usable);
  EXPECT_TRUE(r.require_tls);
  EXPECT_EQ(sts_log_field(r, Tls(true, true, "verified")), "sts=enforce(matched)");
  EXPECT_EQ(sts_log_field(r, Tls(true, false, "hostname mismatch")),
            "sts=enforce(certificate-host-mismatch)");
  EXPECT_EQ(sts_log_field(r, Tls(false, false, "")), "sts=enforce(starttls-not-supported)");
}

TEST(StsHopRule, EnforceMismatchSkipsHost) {
  const StsHopRule r = sts_hop_rule(With(sts::Mode::kEnforce), "evil.example");
  EXPECT_FALSE(r.usable);
  EXPECT_EQ(sts_log_field(r, std::nullopt), "sts=enforce(mx-mismatch)");
}

TEST(StsHopRule, TestingOnlyReports) {
  StsHopRule r = sts_hop_rule(With(sts::Mode::kTesting), "evil.example");
  EXPECT_TRUE(r.usable);
  EXPECT_FALSE(r.require_tls);
  EXPECT_EQ(sts_log_field(r, Tls(true, true, "verified")), "sts=testing(mx-mismatch)");
  r = sts_hop_rule(With(sts::Mode::kTesting), "mx.example.com");
  EXPECT_EQ(sts_log_field(r, Tls(true, false, "self-signed certificate")),
            "sts=testing(certificate-not-trusted)");
  EXPECT_EQ(sts_log_field(r, Tls(true, false, "certificate has expired")),
            "sts=testing(certificate-expired)");
}

}  // namespace
}  // namespace tern
