// The outbound trace (relay/outbound_trace.h): the comment for each kind of
// TLS outcome, the "with" names, and the folded Received field.
#include "relay/outbound_trace.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace tern {
namespace {

ClientTlsState tls(bool verified, std::string detail = "", std::string dane = "") {
  ClientTlsState t;
  t.active = true;
  t.info.version = "TLSv1.3";
  t.info.cipher = "TLS_AES_256_GCM_SHA384";
  t.check.verified = verified;
  t.check.detail = verified ? "verified" : std::move(detail);
  t.check.dane = std::move(dane);
  return t;
}

OutboundHop mx(ClientTlsState t) {
  OutboundHop h;
  h.host = "mx.theirs.example";
  h.ip = "192.0.2.7";
  h.tls = std::move(t);
  h.starttls_offered = true;
  h.names = {"mx.theirs.example"};
  h.requirement = TlsRequirement{};
  return h;
}

StsHopRule sts(bool enforce, bool matched = true) {
  StsHopRule r;
  r.applies = true;
  r.enforce = enforce;
  r.mx_matched = matched;
  r.require_tls = enforce;
  return r;
}

// The field unfolded: the folds (CRLF HTAB) become spaces.
std::string unfold(std::string s) {
  EXPECT_TRUE(s.ends_with("\r\n"));
  s.resize(s.size() - 2);
  for (size_t p; (p = s.find("\r\n\t")) != std::string::npos;) s.replace(p, 3, " ");
  return s;
}

std::vector<std::string> lines(const std::string& field) {
  std::vector<std::string> out;
  for (size_t start = 0, end; (end = field.find("\r\n", start)) != std::string::npos;
       start = end + 2)
    out.push_back(field.substr(start, end - start));
  return out;
}

TEST(OutboundTrace, DaneVerified) {
  OutboundHop h = mx(tls(true, "", "3 1 1"));
  h.requirement->level = TlsLevel::kDane;
  h.requirement->source = TlsSource::kDane;
  h.requirement->dane = "usable";
  h.requirement->origin = "dane";
  EXPECT_EQ(outbound_trace_comment(h),
            "tern outbound to mx.theirs.example [192.0.2.7], TLSv1.3 TLS_AES_256_GCM_SHA384, "
            "authenticated by DANE TLSA 3 1 1 DANE-EE SPKI SHA2-256, policy=dane per dane");
  EXPECT_EQ(outbound_with(h, false), "ESMTPS");
}

TEST(OutboundTrace, MtaStsEnforceIsWebPki) {
  OutboundHop h = mx(tls(true));
  h.requirement->level = TlsLevel::kVerify;
  h.requirement->source = TlsSource::kSts;
  h.requirement->origin = "sts theirs.example";
  h.sts = sts(true);
  h.sts_id = "20261207T000000";
  EXPECT_EQ(outbound_trace_comment(h),
            "tern outbound to mx.theirs.example [192.0.2.7], TLSv1.3 TLS_AES_256_GCM_SHA384, "
            "authenticated by WebPKI for mx.theirs.example, policy=verify per sts "
            "theirs.example, MTA-STS enforce id=20261207T000000");
}

TEST(OutboundTrace, MtaStsTestingSaysWhatFailed) {
  OutboundHop h = mx(tls(false, "hostname mismatch"));
  h.sts = sts(false);
  h.sts_id = "abc";
  const std::string c = outbound_trace_comment(h);
  EXPECT_NE(c.find("opportunistic TLS not verified: hostname mismatch"), std::string::npos) << c;
  EXPECT_NE(c.find("MTA-STS testing id=abc: certificate-host-mismatch"), std::string::npos) << c;
  h.sts = sts(false, false);
  EXPECT_NE(outbound_trace_comment(h).find("MTA-STS testing id=abc: mx-mismatch"),
            std::string::npos);
}

TEST(OutboundTrace, ConfigPolicies) {
  OutboundHop h = mx(tls(true));
  h.requirement->level = TlsLevel::kVerify;
  h.requirement->source = TlsSource::kConfig;
  h.requirement->origin = "config theirs.example";
  h.names = {"mx.theirs.example", ".theirs.example"};
  EXPECT_NE(outbound_trace_comment(h).find("authenticated by WebPKI for mx.theirs.example "
                                           ".theirs.example, policy=verify per config "
                                           "theirs.example"),
            std::string::npos);
  h.tls = tls(false, "self-signed certificate");
  h.requirement->level = TlsLevel::kEncrypt;
  EXPECT_NE(outbound_trace_comment(h).find("encrypted TLS not verified: self-signed "
                                           "certificate, policy=encrypt per config"),
            std::string::npos);
}

TEST(OutboundTrace, OpportunisticSaysNoPolicy) {
  OutboundHop h = mx(tls(false, "self-signed certificate"));
  EXPECT_EQ(outbound_trace_comment(h),
            "tern outbound to mx.theirs.example [192.0.2.7], TLSv1.3 TLS_AES_256_GCM_SHA384, "
            "opportunistic TLS not verified: self-signed certificate");
  h.tls = tls(true);
  EXPECT_NE(
      outbound_trace_comment(h).find("certificate verified for mx.theirs.example but not required"),
      std::string::npos);
  // With DNSSEC on, an insecure TLSA answer is worth saying.
  h.requirement->level = TlsLevel::kMay;
  h.requirement->dane = "insecure";
  EXPECT_NE(outbound_trace_comment(h).find("policy=may per default"), std::string::npos);
}

TEST(OutboundTrace, Plaintext) {
  OutboundHop h = mx(ClientTlsState{});
  h.starttls_offered = false;
  EXPECT_EQ(outbound_trace_comment(h),
            "tern outbound to mx.theirs.example [192.0.2.7], plaintext: STARTTLS not offered");
  EXPECT_EQ(outbound_with(h, false), "ESMTP");
  h.starttls_offered = true;  // offered, but not used (policy none, or after a failed handshake)
  EXPECT_EQ(outbound_trace_comment(h), "tern outbound to mx.theirs.example [192.0.2.7], plaintext");
  h.esmtp = false;
  EXPECT_EQ(outbound_with(h, false), "SMTP");
}

TEST(OutboundTrace, Smarthost) {
  OutboundHop h = mx(tls(true));
  h.host = "smtp.provider.example";
  h.names = {"smtp.provider.example"};
  h.smarthost = true;
  h.requirement.reset();
  h.authenticated = true;
  EXPECT_EQ(outbound_trace_comment(h),
            "tern outbound to smarthost smtp.provider.example [192.0.2.7], TLSv1.3 "
            "TLS_AES_256_GCM_SHA384, authenticated by WebPKI for smtp.provider.example, AUTH");
  EXPECT_EQ(outbound_with(h, false), "ESMTPSA");
  EXPECT_EQ(outbound_with(h, true), "UTF8SMTPSA");
}

TEST(OutboundTrace, FieldIsFoldedAndParses) {
  OutboundHop h = mx(tls(true, "", "2 0 1"));
  h.requirement->level = TlsLevel::kDane;
  h.requirement->origin = "dane";
  const std::string field = build_outbound_received(OutboundReceived{
      .by = "mail.ours.example",
      .comment = outbound_trace_comment(h),
      .with = "ESMTPS",
      .id = "01JF3ABCDEF",
      .time = 1796652000,  // Mon, 7 Dec 2026 14:00:00 +0000
  });
  for (const std::string& l : lines(field)) EXPECT_LE(l.size(), 78u) << l;
  EXPECT_GT(lines(field).size(), 1u);
  for (size_t i = 1; i < lines(field).size(); ++i) EXPECT_EQ(lines(field)[i][0], '\t');
  const std::string one = unfold(field);
  // RFC 5322 3.6.7: received-tokens, one comment, ";" date-time.
  const std::regex shape(
      R"(Received: by mail\.ours\.example \(tern outbound to [^()]*\) with ESMTPS id 01JF3ABCDEF; )"
      R"(Mon, 07 Dec 2026 14:00:00 \+0000)");
  EXPECT_TRUE(std::regex_match(one, shape)) << one;
  EXPECT_NE(one.find("DANE TLSA 2 0 1 DANE-TA Cert SHA2-256"), std::string::npos);
}

TEST(OutboundTrace, HostileTextStaysInTheComment) {
  OutboundHop h = mx(tls(false, "bad) (cert; \r\nX-Injected: yes\xc3\xa9"));
  h.host = "mx.(evil).example";
  const std::string field = build_outbound_received(OutboundReceived{
      .by = "mail.ours.example",
      .comment = outbound_trace_comment(h),
      .with = "ESMTPS",
      .id = "Q1",
      .time = 0,
  });
  const std::string one = unfold(field);
  EXPECT_EQ(std::count(one.begin(), one.end(), '('), 1) << one;
  EXPECT_EQ(std::count(one.begin(), one.end(), ')'), 1) << one;
  EXPECT_EQ(std::count(one.begin(), one.end(), ';'), 1) << one;  // only before the date
  EXPECT_EQ(one.find('\r'), std::string::npos);
  EXPECT_EQ(one.find('\n'), std::string::npos);
  for (unsigned char c : field)
    EXPECT_TRUE(c == '\r' || c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f));
}

TEST(OutboundTrace, LongWordsStillFold) {
  OutboundHop h = mx(tls(false, std::string(120, 'x')));
  const std::string field = build_outbound_received(OutboundReceived{
      .by = "b", .comment = outbound_trace_comment(h), .with = "ESMTPS", .id = "Q", .time = 0});
  // The one word longer than a line gets a line of its own; no line is
  // longer than it.
  for (const std::string& l : lines(field)) EXPECT_LE(l.size(), 130u) << l;
  EXPECT_NE(unfold(field).find(std::string(120, 'x')), std::string::npos);
}

TEST(OutboundTrace, TlsaMnemonics) {
  EXPECT_EQ(tlsa_mnemonics("3 1 1"), "DANE-EE SPKI SHA2-256");
  EXPECT_EQ(tlsa_mnemonics("2 0 2"), "DANE-TA Cert SHA2-512");
  EXPECT_EQ(tlsa_mnemonics("3 1 0"), "DANE-EE SPKI Full");
  EXPECT_EQ(tlsa_mnemonics("9 7 5"), "9 7 5");
  EXPECT_EQ(tlsa_mnemonics("nonsense"), "");
}

}  // namespace
}  // namespace tern
