// ServerSession, driven with no I/O: bytes in, replies and actions out.
#include "core/server_session.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "core/base64.h"
#include "session_driver.h"

namespace tern {
namespace {

using testlib::codes;
using testlib::Driver;
using testlib::submission;
using testlib::V;

TEST(ServerSession, GreetingHasNoEnhancedCode) {
  Driver d;
  d.s.start();
  d.pump();
  EXPECT_EQ(d.wire, "220 localhost ESMTP tern\r\n");
}

TEST(ServerSession, RefusedConnectionGetsReplyAndClose) {
  Driver d;
  d.s.start(Reply(421, "4.7.0", "Too many connections"));
  d.pump();
  EXPECT_EQ(d.wire, "421 4.7.0 Too many connections\r\n");
  EXPECT_TRUE(d.closed);
}

TEST(ServerSession, EhloAdvertisesExtensions) {
  Driver d;
  d.start();
  std::string r = d.ehlo();
  for (const char* ext : {"250-PIPELINING", "250-SIZE 52428800", "250-8BITMIME", "250-SMTPUTF8",
                          "250-ENHANCEDSTATUSCODES", "250-CHUNKING", "250-DSN", "250-STARTTLS"})
    EXPECT_NE(r.find(std::string(ext) + "\r\n"), std::string::npos) << ext;
  EXPECT_EQ(r.find("AUTH"), std::string::npos);  // not before TLS
  EXPECT_EQ(r.rfind("250 HELP\r\n"), r.size() - 10);
}

TEST(ServerSession, AuthAdvertisedOnlyAfterTlsAndStartTlsDisappears) {
  Driver d(submission());
  d.start();
  EXPECT_EQ(d.ehlo().find("AUTH"), std::string::npos);
  EXPECT_EQ(codes(d.send("STARTTLS\r\n")), V{"220 2.0.0"});
  std::string r = d.ehlo();
  EXPECT_NE(r.find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos);
  EXPECT_EQ(r.find("STARTTLS"), std::string::npos);
}

// RFC 8689 2, 4.1: REQUIRETLS is offered, and accepted, only over TLS.
TEST(ServerSession, RequireTlsOnlyOverTls) {
  Driver d;
  d.start();
  EXPECT_EQ(d.ehlo().find("REQUIRETLS"), std::string::npos);
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@x.test> REQUIRETLS\r\n")), V{"530 5.7.10"});
  EXPECT_EQ(codes(d.send("STARTTLS\r\n")), V{"220 2.0.0"});
  EXPECT_NE(d.ehlo().find("250-REQUIRETLS\r\n"), std::string::npos);
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@x.test> REQUIRETLS\r\n")), V{"250 2.1.0"});
}

TEST(ServerSession, NoStartTlsWithoutContext) {
  SessionOptions o;
  o.tls_available = false;
  Driver d(o);
  d.start();
  EXPECT_EQ(d.ehlo().find("STARTTLS"), std::string::npos);
  EXPECT_EQ(codes(d.send("STARTTLS\r\n")), V{"454 4.7.0"});
}

TEST(ServerSession, HeloHasNoExtensions) {
  Driver d;
  d.start();
  EXPECT_EQ(d.send("HELO client.test\r\n"), "250 localhost Hello client.test [192.0.2.7]\r\n");
  EXPECT_EQ(codes(d.send("HELO\r\n")), V{"501 5.5.4"});
  EXPECT_EQ(codes(d.send("EHLO\r\n")), V{"501 5.5.4"});
}

TEST(ServerSession, OneMessage) {
  Driver d;
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("MAIL FROM:<sender@remote.test>\r\n")), V{"250 2.1.0"});
  EXPECT_EQ(codes(d.send("RCPT TO:<alice@local.test>\r\n")), V{"250 2.1.5"});
  EXPECT_EQ(d.send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(d.send("Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
  ASSERT_EQ(d.messages.size(), 1u);
  const std::string& m = d.messages[0];
  EXPECT_EQ(
      m.rfind(
          "Received: from client.test ([192.0.2.7])\r\n\tby localhost (tern) with ESMTP id Q1\r\n"
          "\tfor <alice@local.test>; Mon, 23 Nov 2026 09:00:00 +0000\r\n",
          0),
      0u)
      << m;
  EXPECT_NE(m.find("\r\nSubject: hi\r\n\r\n.dot\r\nbody\r\n"), std::string::npos);
  EXPECT_EQ(m.substr(m.size() - 6), "body\r\n");
  ASSERT_EQ(d.envelopes.size(), 1u);
  EXPECT_EQ(d.envelopes[0].mail.from.str(), "sender@remote.test");
  EXPECT_EQ(d.envelopes[0].rcpts.at(0).to.str(), "alice@local.test");
  EXPECT_EQ(d.envelopes[0].helo, "client.test");
  EXPECT_EQ(d.envelopes[0].client_ip, "192.0.2.7");
  EXPECT_EQ(d.envelopes[0].received_at, 1795424400);
  EXPECT_EQ(codes(d.send("QUIT\r\n")), V{"221 2.0.0"});
  EXPECT_TRUE(d.closed);
}

TEST(ServerSession, CommandsAreCaseInsensitive) {
  Driver d;
  d.start();
  d.send("ehlo x\r\n");
  EXPECT_EQ(codes(d.send("mail from:<a@b.test>\r\nrCpT To:<bob@local.test>\r\ndata\r\n")),
            (V{"250 2.1.0", "250 2.1.5", "354"}));
}

TEST(ServerSession, PipelinedRepliesComeInOrderInOneWrite) {
  Driver d;
  d.start();
  d.ehlo();
  int before = d.sends;
  std::string r = d.send(
      "MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@local.test>\r\nRCPT TO:<nobody@local.test>\r\n"
      "RCPT TO:<bob@local.test>\r\nDATA\r\n");
  EXPECT_EQ(codes(r), (V{"250 2.1.0", "250 2.1.5", "550 5.1.1", "250 2.1.5", "354"}));
  EXPECT_EQ(d.sends - before, 1);  // batched (RFC 2920 3.2)
  r = d.send("hello\r\n.\r\nMAIL FROM:<b@remote.test>\r\nRCPT TO:<bob@local.test>\r\nQUIT\r\n");
  EXPECT_EQ(codes(r), (V{"250 2.0.0", "250 2.1.0", "250 2.1.5", "221 2.0.0"}));
  ASSERT_EQ(d.envelopes.size(), 1u);
  EXPECT_EQ(d.envelopes[0].rcpts.size(), 2u);  // the refused one is not in the envelope
}

TEST(ServerSession, SequenceErrors) {
  Driver d;
  d.start();
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@b.test>\r\n")), V{"503 5.5.1"});
  d.ehlo();
  EXPECT_EQ(codes(d.send("RCPT TO:<alice@local.test>\r\n")), V{"503 5.5.1"});
  EXPECT_EQ(codes(d.send("DATA\r\n")), V{"503 5.5.1"});
  d.send("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@b.test>\r\n")), V{"503 5.5.1"});
  EXPECT_EQ(codes(d.send("DATA\r\n")), V{"503 5.5.1"});
  d.send("RCPT TO:<nobody@local.test>\r\n");
  EXPECT_EQ(codes(d.send("DATA\r\n")), V{"554 5.5.1"});  // all recipients refused
  EXPECT_EQ(codes(d.send("DATA extra\r\n")), V{"501 5.5.4"});
}

TEST(ServerSession, SimpleCommands) {
  Driver d;
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("NOOP\r\n")), V{"250 2.0.0"});
  EXPECT_EQ(codes(d.send("NOOP anything\r\n")), V{"250 2.0.0"});
  EXPECT_EQ(codes(d.send("RSET x\r\n")), V{"501 5.5.4"});
  EXPECT_EQ(codes(d.send("VRFY alice\r\n")), V{"252 2.5.0"});
  EXPECT_EQ(codes(d.send("VRFY\r\n")), V{"501 5.5.4"});
  EXPECT_EQ(codes(d.send("EXPN list\r\n")), V{"502 5.5.1"});
  std::string help = d.send("HELP\r\n");
  EXPECT_EQ(codes(help), V{"214 2.0.0"});
  EXPECT_NE(help.find("214-2.0.0 "), std::string::npos);
  for (const char* c :
       {"TURN\r\n", "SAML FROM:<a@b>\r\n", "SEND FROM:<a@b>\r\n", "SOML FROM:<a@b>\r\n"})
    EXPECT_EQ(codes(d.send(c)), V{"502 5.5.1"}) << c;
  EXPECT_EQ(codes(d.send("FOO\r\n")), V{"500 5.5.1"});
  EXPECT_EQ(codes(d.send("\r\n")), V{"500 5.5.2"});
  EXPECT_EQ(codes(d.send("QUIT now\r\n")), V{"501 5.5.4"});
  EXPECT_FALSE(d.closed);
}

TEST(ServerSession, VrfyWhenEnabled) {
  SessionOptions o;
  o.vrfy = true;
  Driver d(o);
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("VRFY <alice@local.test>\r\n")), V{"250 2.1.5"});
  EXPECT_EQ(codes(d.send("VRFY carol@local.test\r\n")), V{"550 5.1.1"});
}

TEST(ServerSession, RsetAndEhloDropTheTransaction) {
  Driver d;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<alice@local.test>\r\n");
  EXPECT_EQ(codes(d.send("RSET\r\n")), V{"250 2.0.0"});
  EXPECT_EQ(codes(d.send("DATA\r\n")), V{"503 5.5.1"});
  d.send("MAIL FROM:<a@b.test>\r\n");
  d.ehlo();
  EXPECT_EQ(codes(d.send("RCPT TO:<alice@local.test>\r\n")), V{"503 5.5.1"});
}

TEST(ServerSession, MailParameterErrors) {
  SessionOptions o;
  o.max_message_size = 1000;
  Driver d(o);
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@b.test> FOO=BAR\r\n")), V{"555 5.5.4"});
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@b.test> SIZE=1001\r\n")), V{"552 5.3.4"});
  EXPECT_EQ(codes(d.send("MAIL TO:<a@b.test>\r\n")), V{"501 5.5.4"});
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@b.test> SIZE=1000 BODY=8BITMIME\r\n")), V{"250 2.1.0"});
  EXPECT_EQ(codes(d.send("RCPT TO:<alice@local.test> BAR=1\r\n")), V{"555 5.5.4"});
}

TEST(ServerSession, DsnParametersReachTheEnvelope) {
  Driver d;
  d.start();
  d.ehlo();
  d.send(
      "MAIL FROM:<a@b.test> RET=HDRS ENVID=abc+2Bdef AUTH=<>\r\n"
      "RCPT TO:<alice@local.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@local.test\r\n"
      "DATA\r\nx\r\n.\r\n");
  ASSERT_EQ(d.envelopes.size(), 1u);
  const Envelope& e = d.envelopes[0];
  EXPECT_EQ(e.mail.ret, DsnRet::kHdrs);
  EXPECT_EQ(e.mail.envid, "abc+def");
  EXPECT_EQ(e.rcpts[0].notify, unsigned(kNotifySuccess | kNotifyFailure));
  EXPECT_EQ(e.rcpts[0].orcpt, "rfc822;alice@local.test");
}

TEST(ServerSession, RecipientVerdicts) {
  Driver d;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(codes(d.send("RCPT TO:<someone@elsewhere.test>\r\n")), V{"550 5.7.1"});
  EXPECT_EQ(codes(d.send("RCPT TO:<carol@local.test>\r\n")), V{"550 5.1.1"});
  EXPECT_EQ(codes(d.send("RCPT TO:<x@tempfail.test>\r\n")), V{"451 4.3.0"});
  EXPECT_EQ(codes(d.send("RCPT TO:<Postmaster>\r\n")), V{"250 2.1.5"});
  EXPECT_EQ(codes(d.send("RCPT TO:<postmaster@local.test>\r\n")), V{"250 2.1.5"});
}

TEST(ServerSession, TooManyRecipientsIs452) {
  SessionOptions o;
  o.max_recipients = 3;
  Driver d(o);
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@b.test>\r\n");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(codes(d.send("RCPT TO:<alice@local.test>\r\n")), V{"250 2.1.5"});
  EXPECT_EQ(codes(d.send("RCPT TO:<bob@local.test>\r\n")), V{"452 4.5.3"});
}

TEST(ServerSession, RecipientOvershootIsNotAnError) {
  // RFC 5321 4.5.3.1.10: 452 means "send the rest later", so a 130-recipient
  // list must not trip max_errors (20) and lose the 100 accepted ones.
  Driver d;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@b.test>\r\n");
  std::string in;
  for (int i = 0; i < 130; ++i) in += "RCPT TO:<bob@local.test>\r\n";
  V c = codes(d.send(in + "DATA\r\nx\r\n.\r\n"));
  ASSERT_EQ(c.size(), 132u);
  EXPECT_EQ(c[99], "250 2.1.5");
  EXPECT_EQ(c[100], "452 4.5.3");
  EXPECT_EQ(c[129], "452 4.5.3");
  EXPECT_EQ(c[130], "354");
  EXPECT_EQ(c[131], "250 2.0.0");
  EXPECT_FALSE(d.closed);
}

TEST(ServerSession, HundredRecipientsByDefault) {
  Driver d;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@b.test>\r\n");
  std::string in;
  for (int i = 0; i < 100; ++i) in += "RCPT TO:<bob@local.test>\r\n";
  V c = codes(d.send(in));
  EXPECT_EQ(c.size(), 100u);
  EXPECT_EQ(c.back(), "250 2.1.5");
}

TEST(ServerSession, SubmissionNeedsTlsThenAuth) {
  Driver d(submission());
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("MAIL FROM:<alice@local.test>\r\n")), V{"530 5.7.0"});
  EXPECT_EQ(codes(d.send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")), V{"530 5.7.0"});
  d.send("STARTTLS\r\n");
  d.ehlo();
  std::string r = d.send("MAIL FROM:<alice@local.test>\r\n");
  EXPECT_EQ(codes(r), V{"530 5.7.0"});
  EXPECT_NE(r.find("Authentication required"), std::string::npos);
  // "\0alice\0secret"
  EXPECT_EQ(
      codes(d.send("AUTH PLAIN " + base64_encode(std::string("\0alice\0secret", 13)) + "\r\n")),
      V{"235 2.7.0"});
  ASSERT_EQ(d.auths.size(), 1u);
  EXPECT_EQ(d.auths[0].user, "alice");
  EXPECT_EQ(d.s.auth_user(), "alice");
  EXPECT_EQ(codes(d.send("AUTH PLAIN =\r\n")), V{"503 5.5.1"});  // already authenticated
  EXPECT_EQ(codes(d.send("MAIL FROM:<alice@local.test>\r\nRCPT TO:<x@elsewhere.test>\r\n")),
            (V{"250 2.1.0", "250 2.1.5"}));  // authenticated users relay
  d.send("DATA\r\nhi\r\n.\r\n");
  ASSERT_EQ(d.messages.size(), 1u);
  EXPECT_NE(d.messages[0].find(
                "with ESMTPSA id Q1\r\n\t(version=TLSv1.3 cipher=TLS_AES_128_GCM_SHA256)\r\n"
                "\t(authenticated user alice)\r\n"),
            std::string::npos)
      << d.messages[0];
  EXPECT_EQ(d.envelopes[0].auth_user, "alice");
}

TEST(ServerSession, AuthPlainWithoutInitialResponse) {
  Driver d(submission());
  d.start();
  d.send("STARTTLS\r\n");
  d.ehlo();
  EXPECT_EQ(d.send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(codes(d.send(base64_encode(std::string("alice\0alice\0secret", 18)) + "\r\n")),
            V{"235 2.7.0"});
}

TEST(ServerSession, AuthLoginBothWays) {
  for (bool initial : {false, true}) {
    Driver d(submission());
    d.start();
    d.send("STARTTLS\r\n");
    d.ehlo();
    if (initial) {
      EXPECT_EQ(d.send("AUTH LOGIN " + base64_encode("alice") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
    } else {
      EXPECT_EQ(d.send("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
      EXPECT_EQ(d.send(base64_encode("alice") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
    }
    EXPECT_EQ(codes(d.send(base64_encode("secret") + "\r\n")), V{"235 2.7.0"});
    EXPECT_EQ(d.s.auth_user(), "alice");
  }
}

TEST(ServerSession, AuthFailuresAndCancel) {
  Driver d(submission());
  d.start();
  d.send("STARTTLS\r\n");
  d.ehlo();
  EXPECT_EQ(
      codes(d.send("AUTH PLAIN " + base64_encode(std::string("\0alice\0wrong", 12)) + "\r\n")),
      V{"535 5.7.8"});
  EXPECT_EQ(
      codes(d.send("AUTH PLAIN " + base64_encode(std::string("bob\0alice\0secret", 16)) + "\r\n")),
      V{"535 5.7.8"});  // acting for another user
  EXPECT_EQ(codes(d.send("AUTH PLAIN !!!\r\n")), V{"501 5.5.2"});
  EXPECT_EQ(codes(d.send("AUTH PLAIN " + base64_encode("noseparators") + "\r\n")), V{"501 5.5.2"});
  d.send("AUTH LOGIN\r\n");
  EXPECT_EQ(codes(d.send("*\r\n")), V{"501 5.0.0"});
  EXPECT_EQ(codes(d.send("AUTH PLAIN\r\n*\r\n")), (V{"334", "501 5.0.0"}));
  EXPECT_EQ(codes(d.send("AUTH CRAM-MD5\r\n")), V{"504 5.5.4"});
  EXPECT_EQ(codes(d.send("AUTH\r\n")), V{"501 5.5.4"});
  EXPECT_TRUE(d.s.auth_user().empty());
  EXPECT_EQ(d.auths.size(), 1u);  // only the well-formed own-identity attempt was checked
}

TEST(ServerSession, NoAuthOnSmtpListener) {
  Driver d;
  d.start();
  d.send("STARTTLS\r\n");
  std::string r = d.ehlo();
  EXPECT_EQ(r.find("AUTH"), std::string::npos);
  EXPECT_EQ(codes(d.send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")), V{"503 5.5.1"});
}

TEST(ServerSession, StartTlsDiscardsPipelinedPlaintext) {
  // CVE-2011-0411: commands after STARTTLS in the same packet must not run.
  Driver d;
  d.start();
  d.ehlo();
  std::string r = d.send("STARTTLS\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<alice@local.test>\r\n");
  EXPECT_EQ(r, "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(d.tls_requests, 1);
  // After TLS the session starts over: EHLO is needed again.
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@b.test>\r\n")), V{"503 5.5.1"});
  EXPECT_TRUE(d.s.tls_active());
  EXPECT_EQ(codes(d.send("STARTTLS\r\n")), V{"503 5.5.1"});
}

TEST(ServerSession, StartTlsRules) {
  Driver d;
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("STARTTLS now\r\n")), V{"501 5.5.4"});
  d.send("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(codes(d.send("STARTTLS\r\n")), V{"503 5.5.1"});
  EXPECT_EQ(d.tls_requests, 0);
}

TEST(ServerSession, OverlongCommandLine) {
  Driver d;
  d.start();
  d.ehlo();
  std::string longline = "NOOP " + std::string(3000, 'a') + "\r\n";
  EXPECT_EQ(codes(d.send(longline)), V{"500 5.5.2"});
  // Sent in pieces, never buffered whole: still one 500, then back in step.
  std::string r;
  r += d.send("MAIL FROM:<");
  for (int i = 0; i < 100; ++i) r += d.send(std::string(1000, 'b'));
  r += d.send("@x.test>\r\nNOOP\r\n");
  EXPECT_EQ(codes(r), (V{"500 5.5.2", "250 2.0.0"}));
  // At the limit is fine: 512+26+10+500+500 octets with CRLF.
  std::string atlimit = "NOOP " + std::string(1548 - 7, 'c') + "\r\n";
  EXPECT_EQ(codes(d.send(atlimit)), V{"250 2.0.0"});
  EXPECT_EQ(codes(d.send("NOOP " + std::string(1548 - 6, 'c') + "\r\n")), V{"500 5.5.2"});
}

TEST(ServerSession, BareNewlinesAndNulInCommands) {
  Driver d;
  d.start();
  EXPECT_EQ(codes(d.send("EHLO x\n")), V{"500 5.5.2"});
  EXPECT_EQ(codes(d.send("EHLO x\rNOOP\r\n")), V{"500 5.5.2"});
  EXPECT_EQ(codes(d.send(std::string("NOOP \0x\r\n", 9))), V{"500 5.5.2"});
  SessionOptions o;
  o.bare_newline = BareNewline::kNormalize;
  Driver n(o);
  n.start();
  EXPECT_EQ(codes(n.send("NOOP\n")), V{"250 2.0.0"});
}

TEST(ServerSession, TooManyErrorsCloses) {
  SessionOptions o;
  o.max_errors = 3;
  Driver d(o);
  d.start();
  EXPECT_EQ(codes(d.send("BAD\r\nBAD\r\n")), (V{"500 5.5.1", "500 5.5.1"}));
  EXPECT_FALSE(d.closed);
  EXPECT_EQ(codes(d.send("BAD\r\nNOOP\r\n")), (V{"500 5.5.1", "421 4.7.0"}));
  EXPECT_TRUE(d.closed);
}

// SMTP smuggling (../shared/refs/suites/smuggling.md): none of these ends the data.
const char* kSmuggle[] = {"\n.\n",
                          "\n.\r\n",
                          "\r.\r",
                          "\r.\r\n",
                          "\r.\n",
                          "\n.\r",
                          "\r\n.\n",
                          "\r\n.\r",
                          "\r\0\n.\r\n" /* S11 */,
                          "\r\n.\r\0\n" /* S12 */,
                          "\r\n.\r\r\n" /* S13 */,
                          "\r\r\n.\r\r\n" /* S14 */};
const size_t kSmuggleLen[] = {3, 4, 3, 4, 3, 3, 4, 4, 6, 6, 6, 7};

std::string smuggle_payload(size_t i) {
  return "From: a@x\r\nSubject: test\r\n\r\nbody line" + std::string(kSmuggle[i], kSmuggleLen[i]) +
         "MAIL FROM:<smuggled@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n"
         "From: smuggled@x\r\nSubject: SMUGGLED\r\n\r\nsmuggled body\r\n.\r\n";
}

TEST(ServerSession, SmugglingRejectedUnderRejectPolicy) {
  for (size_t i = 0; i < std::size(kSmuggle); ++i) {
    Driver d;
    d.start();
    d.ehlo();
    std::string r = d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n" +
                           smuggle_payload(i));
    EXPECT_EQ(codes(r), (V{"250 2.1.0", "250 2.1.5", "354", "550 5.5.2"})) << "variant " << i;
    EXPECT_TRUE(d.messages.empty()) << i;
    EXPECT_EQ(d.aborts, 1) << i;
    // Still in step: the next transaction works.
    EXPECT_EQ(codes(d.send("NOOP\r\n")), V{"250 2.0.0"}) << i;
  }
}

TEST(ServerSession, SmugglingIsBodyDataUnderNormalizePolicy) {
  SessionOptions o;
  o.bare_newline = BareNewline::kNormalize;
  for (size_t i = 0; i < std::size(kSmuggle); ++i) {
    Driver d(o);
    d.start();
    d.ehlo();
    std::string r = d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n" +
                           smuggle_payload(i));
    EXPECT_EQ(codes(r), (V{"250 2.1.0", "250 2.1.5", "354", "250 2.0.0"})) << "variant " << i;
    ASSERT_EQ(d.messages.size(), 1u) << i;
    EXPECT_NE(d.messages[0].find("MAIL FROM:<smuggled@x.test>"), std::string::npos) << i;
  }
}

TEST(ServerSession, DataSizeLimitWhileStreaming) {
  SessionOptions o;
  o.max_message_size = 100;
  Driver d(o);
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  std::string r;
  for (int i = 0; i < 50; ++i) r += d.send(std::string(78, 'x') + "\r\n");
  r += d.send(".\r\n");
  EXPECT_EQ(codes(r), V{"552 5.3.4"});
  EXPECT_TRUE(d.messages.empty());
  EXPECT_EQ(d.aborts, 1);
  EXPECT_LT(d.current.size(), 1000u);  // never more than the limit (+ Received) handed out
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@x.test>\r\n")), V{"250 2.1.0"});
}

TEST(ServerSession, DataLineTooLong) {
  Driver d;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  EXPECT_EQ(codes(d.send(std::string(999, 'x') + "\r\n.\r\n")), V{"554 5.6.0"});
  EXPECT_TRUE(d.messages.empty());
  d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  EXPECT_EQ(codes(d.send(std::string(998, 'x') + "\r\n.\r\n")), V{"250 2.0.0"});
}

TEST(ServerSession, DataSplitAnywhereGivesTheSameMessage) {
  std::string input =
      "MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n"
      "Subject: s\r\n\r\n..a\r\n.b\r\n\r\n.\r\nNOOP\r\n";
  Driver whole;
  whole.start();
  whole.ehlo();
  std::string expect = whole.send(input);
  ASSERT_EQ(whole.messages.size(), 1u);
  Driver bytes;
  bytes.start();
  bytes.ehlo();
  std::string got;
  for (char c : input) got += bytes.send(std::string(1, c));
  EXPECT_EQ(got, expect);
  ASSERT_EQ(bytes.messages.size(), 1u);
  EXPECT_EQ(bytes.messages[0], whole.messages[0]);
}

TEST(ServerSession, BdatChunks) {
  Driver d;
  d.start();
  d.ehlo();
  std::string r = d.send(
      "MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\n"
      "BDAT 12\r\nSubject: s\r\n"
      "BDAT 20 LAST\r\n\r\n.\r\nQUIT\r\nmore\r\n.\r\n");
  EXPECT_EQ(codes(r), (V{"250 2.1.0", "250 2.1.5", "250 2.0.0", "250 2.0.0"}));
  EXPECT_NE(r.find("250 2.0.0 12 octets received\r\n"), std::string::npos);
  ASSERT_EQ(d.messages.size(), 1u);
  // No dot handling in BDAT (RFC 3030 2): the data is exactly what was sent.
  EXPECT_NE(d.messages[0].find("\r\nSubject: s\r\n\r\n.\r\nQUIT\r\nmore\r\n.\r\n"),
            std::string::npos);
  EXPECT_EQ(d.messages[0].substr(d.messages[0].size() - 9), "more\r\n.\r\n");
  EXPECT_FALSE(d.closed);
}

TEST(ServerSession, BdatZeroLastAndSplitChunks) {
  Driver d;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nBDAT 10\r\n01234");
  d.send("56789");
  EXPECT_EQ(codes(d.send("BDAT 0 LAST\r\n")), V{"250 2.0.0"});
  ASSERT_EQ(d.messages.size(), 1u);
  EXPECT_EQ(d.messages[0].substr(d.messages[0].size() - 10), "0123456789");
}

TEST(ServerSession, BdatWithoutTransactionIsConsumed) {
  Driver d;
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n")), (V{"503 5.5.1", "250 2.0.0"}));
  EXPECT_FALSE(d.closed);
  EXPECT_EQ(codes(d.send("BDAT x\r\n")), V{"501 5.5.4"});
  EXPECT_EQ(codes(d.send("BDAT 5 FIRST\r\n")), V{"501 5.5.4"});
}

TEST(ServerSession, BdatSizeLimit) {
  SessionOptions o;
  o.max_message_size = 10;
  Driver d(o);
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\n");
  EXPECT_EQ(codes(d.send("BDAT 8\r\n12345678")), V{"250 2.0.0"});
  EXPECT_EQ(codes(d.send("BDAT 8\r\n12345678")), V{"552 5.3.4"});
  EXPECT_EQ(d.aborts, 1);
  EXPECT_EQ(codes(d.send("BDAT 1 LAST\r\nx")), V{"503 5.5.1"});  // transaction is gone
  EXPECT_TRUE(d.messages.empty());
}

TEST(ServerSession, BdatAndDataDoNotMix) {
  Driver d;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nBDAT 1\r\nx");
  EXPECT_EQ(codes(d.send("DATA\r\n")), V{"503 5.5.1"});
  EXPECT_EQ(codes(d.send("RSET\r\n")), V{"250 2.0.0"});
  EXPECT_EQ(d.aborts, 1);
  d.send("MAIL FROM:<a@x.test> BODY=BINARYMIME\r\nRCPT TO:<alice@local.test>\r\n");
  EXPECT_EQ(codes(d.send("DATA\r\n")), V{"503 5.5.1"});
  EXPECT_EQ(codes(d.send(std::string("BDAT 3 LAST\r\n\x00\xff\n", 16))), V{"250 2.0.0"});
}

TEST(ServerSession, StoreFailureIsTransient) {
  Driver d;
  d.start();
  d.ehlo();
  d.store_status = Status::Transient("disk full");
  EXPECT_EQ(
      codes(d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\nx\r\n.\r\n")),
      (V{"250 2.1.0", "250 2.1.5", "354", "451 4.3.0"}));
  d.store_status = Status::Permanent("bad");
  EXPECT_EQ(
      codes(d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\nx\r\n.\r\n")),
      (V{"250 2.1.0", "250 2.1.5", "354", "554 5.3.0"}));
}

// A content policy (DMARC) refusing the message: its reply instead of 250,
// and the session goes on with a new transaction.
TEST(ServerSession, RefusedMessageGetsThePolicyReply) {
  Driver d;
  d.start();
  d.ehlo();
  d.refuse_with = Reply(550, "5.7.1", "Email rejected per DMARC policy for x.test");
  EXPECT_EQ(
      codes(d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\nx\r\n.\r\n")),
      (V{"250 2.1.0", "250 2.1.5", "354", "550 5.7.1"}));
  EXPECT_NE(d.wire.find("DMARC policy for x.test"), std::string::npos);
  EXPECT_EQ(d.s.messages_accepted(), 0u);
  EXPECT_FALSE(d.s.in_transaction());
  d.refuse_with.reset();
  EXPECT_EQ(
      codes(d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\nx\r\n.\r\n")),
      (V{"250 2.1.0", "250 2.1.5", "354", "250 2.0.0"}));
  EXPECT_EQ(d.s.messages_accepted(), 1u);
}

TEST(ServerSession, TimeoutShutdownAndEof) {
  Driver t;
  t.start();
  t.s.timeout();
  t.pump();
  EXPECT_EQ(codes(t.wire), V{"421 4.4.2"});
  EXPECT_TRUE(t.closed);

  Driver s;
  s.start();
  s.s.shutdown();
  s.pump();
  EXPECT_EQ(codes(s.wire), V{"421 4.3.2"});
  EXPECT_TRUE(s.closed);

  Driver e;
  e.start();
  e.ehlo();
  e.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\npartial");
  e.s.eof();
  e.pump();
  EXPECT_EQ(e.aborts, 1);
  EXPECT_TRUE(e.closed);
}

TEST(ServerSession, DrainingLetsTheTransactionFinish) {
  Driver d;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<alice@local.test>\r\n");
  d.s.set_draining();
  EXPECT_FALSE(d.closed);
  std::string r = d.send("DATA\r\nhello\r\n.\r\n");
  EXPECT_EQ(codes(r), (V{"354", "250 2.0.0", "421 4.3.2"}));
  EXPECT_EQ(d.messages.size(), 1u);
  d.pump();
  EXPECT_TRUE(d.closed);
}

TEST(ServerSession, Utf8NeedsSmtputf8) {
  Driver d;
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("MAIL FROM:<j\xc3\xb6rg@x.test>\r\n")), V{"553 5.6.7"});
  EXPECT_EQ(codes(d.send("MAIL FROM:<j\xc3\xb6rg@x.test> SMTPUTF8\r\nRCPT TO:<alice@local.test>\r\n"
                         "DATA\r\nx\r\n.\r\n")),
            (V{"250 2.1.0", "250 2.1.5", "354", "250 2.0.0"}));
  EXPECT_NE(d.messages[0].find("with UTF8SMTP id"), std::string::npos);
}

}  // namespace
}  // namespace tern
