// REQUIRETLS (RFC 8689) in the relay: the pure decisions of
// relay/requiretls.h.
#include "relay/requiretls.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace tern {
namespace {

TlsRequirement Req(TlsLevel level, TlsSource source = TlsSource::kDefault) {
  TlsRequirement r;
  r.level = level;
  r.source = source;
  if (source == TlsSource::kConfig) r.origin = "config example.org";
  return r;
}

StsHopRule Sts(bool enforce, bool matched) {
  StsHopRule r;
  r.applies = true;
  r.enforce = enforce;
  r.mx_matched = matched;
  r.usable = !enforce || matched;
  r.require_tls = enforce && matched;
  return r;
}

const std::string kHost = "mx.example.org";

TEST(RequireTls, MessageMode) {
  EXPECT_EQ(message_tls(false, false), MessageTls::kDefault);
  EXPECT_EQ(message_tls(true, false), MessageTls::kRequireTls);
  EXPECT_EQ(message_tls(false, true), MessageTls::kTlsOptional);
  // RFC 8689 4.1: with the MAIL parameter the header field is ignored.
  EXPECT_EQ(message_tls(true, true), MessageTls::kRequireTls);
  EXPECT_STREQ(message_tls_field(MessageTls::kRequireTls), " requiretls=yes");
  EXPECT_STREQ(message_tls_field(MessageTls::kTlsOptional), " tls-required=no");
  EXPECT_STREQ(message_tls_field(MessageTls::kDefault), "");
}

TEST(RequireTls, TlsRequiredHeader) {
  EXPECT_TRUE(header_says_tls_optional("From: a@b\r\nTLS-Required: No\r\n\r\nbody\r\n"));
  EXPECT_TRUE(header_says_tls_optional("tls-required:no\r\n\r\n"));
  EXPECT_TRUE(header_says_tls_optional("TLS-Required:\r\n  NO  \r\nSubject: x\r\n\r\n"));
  EXPECT_TRUE(header_says_tls_optional("Subject: x\nTLS-Required: No\n\n"));  // bare LF too
  EXPECT_FALSE(header_says_tls_optional("TLS-Required: Yes\r\n\r\n"));
  EXPECT_FALSE(header_says_tls_optional("TLS-Required: No thanks\r\n\r\n"));
  EXPECT_FALSE(header_says_tls_optional("X-TLS-Required: No\r\n\r\n"));
  EXPECT_FALSE(header_says_tls_optional("Subject: TLS-Required: No\r\n\r\n"));
  // Only the header section counts; a folded line belongs to its field.
  EXPECT_FALSE(header_says_tls_optional("Subject: x\r\n\r\nTLS-Required: No\r\n"));
  EXPECT_FALSE(header_says_tls_optional("Subject: x\r\n TLS-Required: No\r\n\r\n"));
  EXPECT_FALSE(header_says_tls_optional(""));
}

TEST(RequireTls, ReadsTheHeaderFromTheQueuedFile) {
  char path[] = "/tmp/tern-rtls-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  {
    std::ofstream f(path, std::ios::binary);
    f << "X-Queue: 1\r\n\r\n"
      << "Subject: x\r\nTLS-Required: No\r\n\r\nbody\r\n";
  }
  bool no = false;
  ASSERT_TRUE(read_tls_required_no(path, 14, &no).ok());
  EXPECT_TRUE(no);
  ASSERT_TRUE(read_tls_required_no(path, 0, &no).ok());
  EXPECT_FALSE(no);  // from 0, the header section is "X-Queue: 1" alone
  ::unlink(path);
  EXPECT_FALSE(read_tls_required_no(path, 0, &no).ok());
  EXPECT_FALSE(no);
}

TEST(RequireTls, DaneAndVerifiedHostsAreUsableAsTheyAre) {
  TlsRequirement dane = Req(TlsLevel::kDane, TlsSource::kDane);
  dane.tlsa.push_back(TlsaRecord{});
  RequireTlsHop h = requiretls_hop(dane, StsHopRule{}, true, kHost);
  EXPECT_TRUE(h.usable);
  EXPECT_EQ(h.req.level, TlsLevel::kDane);
  // MTA-STS enforce made it kVerify already; so does [[tls_policy]] verify.
  EXPECT_TRUE(requiretls_hop(Req(TlsLevel::kVerify, TlsSource::kSts), Sts(true, true), false, kHost)
                  .usable);
  RequireTlsHop pinned =
      requiretls_hop(Req(TlsLevel::kVerify, TlsSource::kConfig), StsHopRule{}, false, kHost);
  EXPECT_TRUE(pinned.usable);
  EXPECT_EQ(pinned.req.source, TlsSource::kConfig);
}

TEST(RequireTls, NoAuthenticationIsPermanent) {
  // An MX looked up without DNSSEC, no MTA-STS policy: RFC 8689 4.2.1.
  RequireTlsHop h = requiretls_hop(Req(TlsLevel::kMay), StsHopRule{}, false, kHost);
  EXPECT_FALSE(h.usable);
  EXPECT_TRUE(h.permanent);
  EXPECT_NE(h.why.find("no DANE or MTA-STS"), std::string::npos);
  EXPECT_FALSE(requiretls_hop(Req(TlsLevel::kEncrypt), StsHopRule{}, false, kHost).usable);
  // [[tls_policy]] level none: never TLS, so never this message.
  RequireTlsHop none =
      requiretls_hop(Req(TlsLevel::kNone, TlsSource::kConfig), StsHopRule{}, true, kHost);
  EXPECT_FALSE(none.usable);
  EXPECT_TRUE(none.permanent);
  EXPECT_NE(none.why.find("example.org"), std::string::npos);
  // A host outside the MTA-STS policy's patterns (either mode).
  EXPECT_TRUE(requiretls_hop(Req(TlsLevel::kMay), Sts(false, false), true, kHost).permanent);
  EXPECT_TRUE(requiretls_hop(Req(TlsLevel::kMay), Sts(true, false), true, kHost).permanent);
}

TEST(RequireTls, TransientFailuresStayTransient) {
  TlsRequirement bogus = Req(TlsLevel::kDane, TlsSource::kDane);
  bogus.failure = "TLSA lookup for _25._tcp.mx.example.org failed: bogus";
  RequireTlsHop h = requiretls_hop(bogus, StsHopRule{}, true, kHost);
  EXPECT_FALSE(h.usable);
  EXPECT_FALSE(h.permanent);
  EXPECT_EQ(h.why, bogus.failure);
}

TEST(RequireTls, AuthenticNamesOrStsMakeWebPkiEnough) {
  // A DNSSEC-secure MX without TLSA: the name is authentic, WebPKI checks
  // the certificate for it (RFC 8689 4.2.1, RFC 6125).
  RequireTlsHop h = requiretls_hop(Req(TlsLevel::kMay), StsHopRule{}, true, kHost);
  EXPECT_TRUE(h.usable);
  EXPECT_EQ(h.req.level, TlsLevel::kVerify);
  EXPECT_EQ(h.req.names, std::vector<std::string>{kHost});
  // MTA-STS in testing mode counts for REQUIRETLS (4.2.1 asks for the RFC
  // 8461 4.1 check), and then enforces it.
  RequireTlsHop t = requiretls_hop(Req(TlsLevel::kMay), Sts(false, true), false, kHost);
  EXPECT_TRUE(t.usable);
  EXPECT_EQ(t.req.level, TlsLevel::kVerify);
  EXPECT_EQ(t.req.source, TlsSource::kSts);
  EXPECT_EQ(t.req.names, std::vector<std::string>{kHost});
  // A [[tls_policy]] "may" or "encrypt" is raised the same way.
  EXPECT_EQ(requiretls_hop(Req(TlsLevel::kEncrypt, TlsSource::kConfig), StsHopRule{}, true, kHost)
                .req.level,
            TlsLevel::kVerify);
}

TEST(RequireTls, TlsRequiredNoRelaxesRecipientPolicyOnly) {
  std::map<std::string, TlsRequirement> tls;
  TlsRequirement dane = Req(TlsLevel::kDane, TlsSource::kDane);
  dane.tlsa.push_back(TlsaRecord{});
  tls["dane.example"] = dane;
  TlsRequirement bogus = Req(TlsLevel::kMay, TlsSource::kDefault);
  bogus.failure = "TLSA lookup failed";
  tls["bogus.example"] = bogus;
  tls["sts.example"] = Req(TlsLevel::kVerify, TlsSource::kSts);
  tls["config.example"] = Req(TlsLevel::kVerify, TlsSource::kConfig);
  tls["none.example"] = Req(TlsLevel::kNone, TlsSource::kConfig);
  relax_for_tls_optional(tls);
  EXPECT_EQ(tls["dane.example"].level, TlsLevel::kMay);
  EXPECT_TRUE(tls["dane.example"].tlsa.empty());
  EXPECT_TRUE(tls["bogus.example"].failure.empty());
  EXPECT_EQ(tls["sts.example"].level, TlsLevel::kMay);
  EXPECT_EQ(tls["sts.example"].source, TlsSource::kDefault);
  EXPECT_FALSE(tls_mandatory(tls["sts.example"]));
  EXPECT_EQ(tls["config.example"].level, TlsLevel::kVerify);  // the operator's rule stays
  EXPECT_EQ(tls["none.example"].level, TlsLevel::kNone);
}

TEST(RequireTls, PooledConnections) {
  ClientTlsState dane;
  dane.active = true;
  dane.check.dane = "3 1 1";
  EXPECT_TRUE(requiretls_connection_ok(dane, true, StsHopRule{}, false));
  EXPECT_FALSE(requiretls_connection_ok(dane, false, StsHopRule{}, false));  // no REQUIRETLS
  ClientTlsState webpki;
  webpki.active = true;
  webpki.check.verified = true;
  EXPECT_FALSE(requiretls_connection_ok(webpki, true, StsHopRule{}, false));  // name not authentic
  EXPECT_TRUE(requiretls_connection_ok(webpki, true, Sts(false, true), false));
  EXPECT_TRUE(requiretls_connection_ok(webpki, true, StsHopRule{}, true));  // the smarthost
  ClientTlsState unverified;
  unverified.active = true;
  EXPECT_FALSE(requiretls_connection_ok(unverified, true, Sts(true, true), true));
  EXPECT_FALSE(requiretls_connection_ok(ClientTlsState{}, true, StsHopRule{}, true));
}

TEST(RequireTls, SessionRefusalAndTally) {
  MessageResult r;
  EXPECT_FALSE(is_requiretls_refusal(r));
  Failure f;
  f.phase = Phase::kMail;
  f.cause = Failure::Cause::kLocal;
  f.permanent = true;
  f.reply = Reply(550, "5.7.30", "REQUIRETLS support required: the server does not offer it");
  r.failure = f;
  EXPECT_TRUE(is_requiretls_refusal(r));
  r.failure->reply = Reply(553, "5.6.7", "needs SMTPUTF8");
  EXPECT_FALSE(is_requiretls_refusal(r));

  Reply a = requiretls_reply("REQUIRETLS support required: not offered", "mx1.example");
  EXPECT_EQ(a.code, 550);
  EXPECT_EQ(a.enhanced, "5.7.30");
  EXPECT_EQ(a.lines.back(), "REQUIRETLS support required: not offered (mx1.example)");
  EXPECT_EQ(requiretls_reply("no DANE or MTA-STS authentication for mx2.example", "mx2.example")
                .lines.back(),
            "REQUIRETLS: no DANE or MTA-STS authentication for mx2.example");

  RequireTlsTally t;
  EXPECT_FALSE(t.bounce());
  t.permanent(a);
  t.permanent(Reply(550, "5.7.30", "second"));
  EXPECT_TRUE(t.bounce());
  EXPECT_EQ(t.reply().lines.back(), a.lines.back());  // the first is kept
  t.transient();                                      // another host may do later: stays queued
  EXPECT_FALSE(t.bounce());
  RequireTlsTally only_transient;
  only_transient.transient();
  EXPECT_FALSE(only_transient.bounce());
}

}  // namespace
}  // namespace tern
