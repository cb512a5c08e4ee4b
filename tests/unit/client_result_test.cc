// The client library's pure parts: how engine failures become SmtpError
// kinds (src/client/result_mapping.h) and how messages become envelopes
// with SIZE and BODY (src/client/outgoing.h). No sockets.
#include <gtest/gtest.h>

#include "client/outgoing.h"
#include "client/require_tls.h"
#include "client/result_mapping.h"

namespace tern {
namespace {

using K = SmtpError::Kind;

Failure failure(Phase phase, Failure::Cause cause, std::optional<Reply> reply = {},
                std::string detail = "") {
  Failure f;
  f.phase = phase;
  f.cause = cause;
  f.reply = std::move(reply);
  f.permanent = f.reply && f.reply->code >= 500;
  f.detail = std::move(detail);
  return f;
}

TEST(ClientResultTest, KindsByCauseAndPhase) {
  using C = Failure::Cause;
  EXPECT_EQ(to_smtp_error(failure(Phase::kAuth, C::kReply, Reply(535, "5.7.8", "no"))).kind,
            K::kAuth);
  EXPECT_EQ(to_smtp_error(failure(Phase::kStartTls, C::kReply, Reply(454, "4.7.0", "no"))).kind,
            K::kTls);
  EXPECT_EQ(to_smtp_error(failure(Phase::kRcpt, C::kReply, Reply(550, "5.1.1", "no"))).kind,
            K::kRefused);
  EXPECT_EQ(to_smtp_error(failure(Phase::kMail, C::kLocal, Reply(552, "5.3.4", "big"))).kind,
            K::kMessage);
  EXPECT_EQ(to_smtp_error(failure(Phase::kGreeting, C::kProtocol, {}, "malformed")).kind,
            K::kProtocol);
  EXPECT_EQ(to_smtp_error(failure(Phase::kConnect, C::kConnection, {}, "refused")).kind,
            K::kConnect);
  EXPECT_EQ(
      to_smtp_error(failure(Phase::kMail, C::kConnection, {}, "timed out waiting for the server"))
          .kind,
      K::kTimeout);
  EXPECT_EQ(to_smtp_error(failure(Phase::kStartTls, C::kTls, {}, "not offered")).kind, K::kTls);
  EXPECT_EQ(to_smtp_error(failure(Phase::kAuth, C::kPolicy, {}, "no mechanism")).kind, K::kAuth);
}

TEST(ClientResultTest, ServerReplyFields) {
  SmtpError e = to_smtp_error(failure(Phase::kRcpt, Failure::Cause::kReply,
                                      Reply(550, "5.1.1", std::vector<std::string>{"No", "user"})));
  EXPECT_EQ(e.phase, "rcpt");
  EXPECT_EQ(e.code, 550);
  EXPECT_EQ(e.enhanced, "5.1.1");
  EXPECT_EQ(e.text, "No user");
  EXPECT_FALSE(e.temporary);
  EXPECT_EQ(e.describe(), "rcpt: 550 5.1.1 No user");

  SmtpError t = to_smtp_error(failure(Phase::kMail, Failure::Cause::kReply, Reply(451, "", "x")));
  EXPECT_TRUE(t.temporary);
  EXPECT_EQ(t.describe(), "mail: 451 x");
}

TEST(ClientResultTest, LocalRefusalHasNoServerCode) {
  SmtpError e = to_smtp_error(
      failure(Phase::kMail, Failure::Cause::kLocal, Reply(552, "5.3.4", "Message too big")));
  EXPECT_EQ(e.code, 0);
  EXPECT_EQ(e.enhanced, "5.3.4");
  EXPECT_EQ(e.describe(), "mail: 5.3.4 Message too big");
}

TEST(ClientResultTest, PerRecipientResults) {
  MessageResult r;
  RecipientResult ok{RcptArgs{*parse_mailbox("a@x.test", false), kNotifyNone, ""},
                     Reply(250, "2.1.5", "ok"), std::nullopt};
  RecipientResult no{RcptArgs{*parse_mailbox("b@x.test", false), kNotifyNone, ""},
                     Reply(550, "5.1.1", "unknown"),
                     failure(Phase::kRcpt, Failure::Cause::kReply, Reply(550, "5.1.1", "unknown"))};
  r.rcpts = {ok, no};
  r.reply = Reply(250, "2.0.0", "queued");
  SendResult s = to_send_result(r);
  EXPECT_FALSE(s.error);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.accepted(), 1u);
  ASSERT_EQ(s.recipients.size(), 2u);
  EXPECT_EQ(s.recipients[1].address, "b@x.test");
  ASSERT_TRUE(s.recipients[1].error);
  EXPECT_EQ(s.recipients[1].error->code, 550);
  EXPECT_EQ(s.code, 250);
  EXPECT_EQ(s.text, "2.0.0 queued");
  EXPECT_EQ(s.describe(),
            "sent to 1 of 2 recipients: 250 2.0.0 queued; refused b@x.test (rcpt: 550 5.1.1 "
            "unknown)");
}

TEST(ClientOutgoingTest, EnvelopeFromMessage) {
  Message m(1767225600, Message::Token{});
  ASSERT_TRUE(m.set_from("Me <me@x.test>").ok());
  ASSERT_TRUE(m.add_to("a@y.test, B <b@y.test>").ok());
  ASSERT_TRUE(m.add_bcc("hidden@z.test").ok());
  m.set_text("hello\n");
  Outgoing o = make_outgoing(m);
  ASSERT_FALSE(o.error);
  EXPECT_EQ(o.envelope.mail.from.str(), "me@x.test");
  ASSERT_EQ(o.envelope.rcpts.size(), 3u);
  EXPECT_EQ(o.envelope.rcpts[2].to.str(), "hidden@z.test");
  EXPECT_EQ(o.body.find("hidden@z.test"), std::string::npos);
  EXPECT_EQ(o.envelope.mail.size, o.body.size());  // rendered CRLF text: SIZE is its length
  EXPECT_EQ(o.envelope.mail.body, BodyType::k7Bit);
}

TEST(ClientOutgoingTest, RawBytesSizedAsSent) {
  Outgoing o = make_outgoing(SendEnvelope{"", {"a@y.test"}}, "Subject: x\n\n\xc3\xa9t\xc3\xa9\n");
  ASSERT_FALSE(o.error);
  EXPECT_TRUE(o.envelope.mail.from.is_null());
  EXPECT_EQ(o.envelope.mail.body, BodyType::k8BitMime);
  EXPECT_EQ(*o.envelope.mail.size, 21u);  // 10+2, 0+2, 5+2: each LF becomes CRLF
}

TEST(ClientOutgoingTest, UnusableEnvelopes) {
  Outgoing none = make_outgoing(SendEnvelope{"a@x.test", {}}, "x");
  ASSERT_TRUE(none.error);
  EXPECT_EQ(none.error->kind, K::kMessage);
  EXPECT_FALSE(none.error->temporary);

  Outgoing bad = make_outgoing(SendEnvelope{"a@x.test", {"not an address"}}, "x");
  ASSERT_TRUE(bad.error);
  EXPECT_EQ(bad.error->phase, "rcpt");
  EXPECT_EQ(bad.recipients, std::vector<std::string>{"not an address"});

  Message no_from;
  ASSERT_TRUE(no_from.add_to("a@y.test").ok());
  Outgoing nf = make_outgoing(no_from);
  ASSERT_TRUE(nf.error);
  EXPECT_EQ(nf.error->kind, K::kMessage);
}

// --- REQUIRETLS (RFC 8689) ---------------------------------------------------

TEST(ClientOutgoingTest, RequireTlsReachesTheEnvelope) {
  Message m(1767225600, Message::Token{});
  ASSERT_TRUE(m.set_from("me@x.test").ok());
  ASSERT_TRUE(m.add_to("a@y.test").ok());
  EXPECT_FALSE(make_outgoing(m).envelope.mail.requiretls);
  m.set_require_tls(true);
  EXPECT_TRUE(make_outgoing(m).envelope.mail.requiretls);

  EXPECT_FALSE(make_outgoing(SendEnvelope{"a@x.test", {"b@y.test"}}, "x").envelope.mail.requiretls);
  EXPECT_TRUE(
      make_outgoing(SendEnvelope{"a@x.test", {"b@y.test"}, true}, "x").envelope.mail.requiretls);
}

// ClientSession refuses a REQUIRETLS message locally with 550 5.7.30 when
// the server does not offer the extension: a TLS failure the caller can
// tell apart, not a fault of the message.
TEST(ClientResultTest, LocalRequireTlsRefusalIsTls) {
  SmtpError e = to_smtp_error(failure(
      Phase::kMail, Failure::Cause::kLocal,
      Reply(550, "5.7.30", "REQUIRETLS support required: the server does not offer REQUIRETLS")));
  EXPECT_EQ(e.kind, K::kTls);
  EXPECT_EQ(e.code, 0);
  EXPECT_EQ(e.enhanced, "5.7.30");
  EXPECT_FALSE(e.temporary);
  EXPECT_TRUE(e.requiretls_refused());
  EXPECT_EQ(e.describe(),
            "mail: 5.7.30 REQUIRETLS support required: the server does not offer REQUIRETLS");
  // Other local refusals stay kMessage; a server's own 5.7.30 stays kRefused.
  EXPECT_FALSE(
      to_smtp_error(failure(Phase::kMail, Failure::Cause::kLocal, Reply(552, "5.3.4", "big")))
          .requiretls_refused());
  SmtpError server = to_smtp_error(
      failure(Phase::kRcpt, Failure::Cause::kReply, Reply(550, "5.7.30", "REQUIRETLS needed")));
  EXPECT_EQ(server.kind, K::kRefused);
  EXPECT_EQ(server.code, 550);
  EXPECT_TRUE(server.requiretls_refused());
}

TEST(ClientRequireTlsTest, OptionsMustGiveVerifiedTls) {
  ClientOptions o;  // STARTTLS, certificate checked: the default is fine
  EXPECT_FALSE(requiretls_refusal(o));
  o.security = Security::kTls;
  EXPECT_FALSE(requiretls_refusal(o));

  o.security = Security::kNone;
  std::optional<SmtpError> none = requiretls_refusal(o);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->kind, K::kTls);
  EXPECT_EQ(none->phase, "mail");
  EXPECT_EQ(none->enhanced, "5.7.30");
  EXPECT_EQ(none->code, 0);
  EXPECT_FALSE(none->temporary);
  EXPECT_NE(none->text.find("kNone"), std::string::npos) << none->text;

  o.security = Security::kStartTls;
  o.verify_certificate = false;
  std::optional<SmtpError> unverified = requiretls_refusal(o);
  ASSERT_TRUE(unverified);
  EXPECT_TRUE(unverified->requiretls_refused());
  EXPECT_NE(unverified->text.find("verify_certificate"), std::string::npos) << unverified->text;
}

TEST(ClientRequireTlsTest, ConnectionMustBeVerifiedTls) {
  EXPECT_FALSE(requiretls_refusal(true, true, "verified"));
  std::optional<SmtpError> plain = requiretls_refusal(false, false, "");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->describe(),
            "mail: 5.7.30 REQUIRETLS support required: the connection is not encrypted");
  std::optional<SmtpError> self = requiretls_refusal(true, false, "self-signed certificate");
  ASSERT_TRUE(self);
  EXPECT_EQ(self->kind, K::kTls);
  EXPECT_NE(self->text.find("self-signed certificate"), std::string::npos);
}

}  // namespace
}  // namespace tern
