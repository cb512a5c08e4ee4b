// What ServerSession tells the log: every 4xx/5xx once through
// SessionEnv::on_refusal (with the command, AUTH data redacted, and the
// transaction's id, sender and recipients), why the session ended, and
// its counts.
#include <gtest/gtest.h>

#include <string>

#include "core/base64.h"
#include "core/server_session.h"
#include "session_driver.h"

namespace tern {
namespace {

using testlib::codes;
using testlib::Driver;
using testlib::submission;
using testlib::V;

TEST(SessionLog, EachRefusalOnceWithItsCommand) {
  Driver d;
  d.start();
  d.send("BOGUS\r\nNOOP\r\nMAIL FROM:<a@remote.test>\r\n");
  d.ehlo();
  d.send("MAIL FROM:<a@remote.test>\r\n");
  d.send("RCPT TO:<nobody@local.test>\r\nRCPT TO:<x@elsewhere.test>\r\n");
  d.send("RCPT TO:<alice@local.test>\r\n");
  EXPECT_EQ(d.env.refusals,
            (V{"BOGUS | 500 5.5.1 Command unrecognized |  |  | ",
               "MAIL FROM:<a@remote.test> | 503 5.5.1 Send EHLO or HELO first |  |  | ",
               "RCPT TO:<nobody@local.test> | 550 5.1.1 <nobody@local.test>: Recipient address "
               "rejected: User unknown | Q1 | a@remote.test | <nobody@local.test>",
               "RCPT TO:<x@elsewhere.test> | 550 5.7.1 <x@elsewhere.test>: Relay access denied | "
               "Q1 | a@remote.test | <x@elsewhere.test>"}));
}

TEST(SessionLog, TransactionsHaveTheirOwnIds) {
  // The id comes with MAIL; it is the message's queue id, and RSET ends it.
  Driver d;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<>\r\nRCPT TO:<nobody@local.test>\r\nRSET\r\n");
  d.send("MAIL FROM:<b@remote.test>\r\nRCPT TO:<alice@local.test>\r\n");
  EXPECT_EQ(d.send("DATA\r\nbody\r\n.\r\n"),
            "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as Q2\r\n");
  ASSERT_EQ(d.env.refusals.size(), 1u);
  EXPECT_NE(d.env.refusals[0].find(" | Q1 |  | <nobody@local.test>"), std::string::npos)
      << d.env.refusals[0];
  EXPECT_EQ(d.envelopes.at(0).id, "Q2");
}

TEST(SessionLog, MessageRefusalsNameTheRecipients) {
  Driver d;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@remote.test>\r\n");
  for (const char* r : {"alice", "bob", "postmaster", "alice", "bob", "alice", "bob"})
    d.send(std::string("RCPT TO:<") + r + "@local.test>\r\n");
  d.refuse_with = Reply(550, "5.7.1", "DMARC policy");
  d.send("DATA\r\nbody\r\n.\r\n");
  ASSERT_EQ(d.env.refusals.size(), 1u);
  EXPECT_EQ(d.env.refusals[0],
            "DATA | 550 5.7.1 DMARC policy | Q1 | a@remote.test | "
            "<alice@local.test>,<bob@local.test>,<postmaster@local.test>,<alice@local.test>,"
            "<bob@local.test>,+2");
}

TEST(SessionLog, DataRefusedBySizeIsLoggedInsideItsTransaction) {
  SessionOptions o;
  o.max_message_size = 10;
  Driver d(o);
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@local.test>\r\n");
  EXPECT_EQ(codes(d.send("DATA\r\n0123456789abcdef\r\n.\r\n")), (V{"354", "552 5.3.4"}));
  ASSERT_EQ(d.env.refusals.size(), 1u);
  EXPECT_EQ(d.env.refusals[0].rfind("DATA | 552 5.3.4", 0), 0u) << d.env.refusals[0];
  EXPECT_NE(d.env.refusals[0].find("| Q1 | a@remote.test | <alice@local.test>"), std::string::npos);
}

TEST(SessionLog, AuthDataIsNeverInTheCommand) {
  Driver d(submission());
  d.password_ok = false;
  d.start();
  d.ehlo();
  d.send("STARTTLS\r\n");
  d.ehlo();
  std::string secret = base64_encode(std::string("\0alice\0hunter2", 14));
  d.send("AUTH PLAIN " + secret + "\r\n");
  d.send("AUTH PLAIN\r\n");
  d.send(secret + "\r\n");
  std::string user = base64_encode("alice"), pass = base64_encode("hunter2");
  d.send("auth login " + user + "\r\n" + pass + "\r\n");
  EXPECT_EQ(d.env.refusals,
            (V{"AUTH PLAIN <redacted> | 535 5.7.8 Authentication credentials invalid |  |  | ",
               "AUTH PLAIN | 535 5.7.8 Authentication credentials invalid |  |  | ",
               "auth login <redacted> | 535 5.7.8 Authentication credentials invalid |  |  | ",
               "auth login <redacted> | 421 4.7.0 localhost Too many failed authentication "
               "attempts, closing connection |  |  | "}));
  for (const std::string& r : d.env.refusals) {
    EXPECT_EQ(r.find(secret), std::string::npos);
    EXPECT_EQ(r.find(user), std::string::npos);
    EXPECT_EQ(r.find(pass), std::string::npos);
    EXPECT_EQ(r.find("hunter2"), std::string::npos);
  }
}

TEST(SessionLog, RefusalsNoCommandCausedHaveNone) {
  Driver a;
  a.s.start(Reply(421, "4.7.0", "Too many connections"));
  a.pump();
  EXPECT_EQ(a.env.refusals, V{" | 421 4.7.0 Too many connections |  |  | "});
  EXPECT_EQ(a.s.end(), SessionEnd::kRefused);

  Driver b;
  b.start();
  b.ehlo();
  b.send("MAIL FROM:<a@remote.test>\r\n");
  b.s.timeout();
  b.pump();
  EXPECT_EQ(b.env.refusals,
            V{" | 421 4.4.2 localhost Error: timeout exceeded | Q1 | a@remote.test | "});
  EXPECT_EQ(b.s.end(), SessionEnd::kTimeout);

  Driver c;
  c.start();
  c.s.shutdown();
  c.pump();
  EXPECT_EQ(c.env.refusals.size(), 1u);
  EXPECT_EQ(c.s.end(), SessionEnd::kShutdown);
}

TEST(SessionLog, TooManyErrorsLogsTheLastCommandTwice) {
  // The error and the 421 that follows it: two replies, two refusals.
  SessionOptions o;
  o.max_errors = 2;
  Driver d(o);
  d.start();
  d.send("X1\r\nX2\r\n");
  EXPECT_EQ(d.env.refusals,
            (V{"X1 | 500 5.5.1 Command unrecognized |  |  | ",
               "X2 | 500 5.5.1 Command unrecognized |  |  | ",
               "X2 | 421 4.7.0 localhost Too many errors, closing connection |  |  | "}));
  EXPECT_EQ(d.s.end(), SessionEnd::kTooManyErrors);
}

TEST(SessionLog, LinesRefusedBeforeParsingAreShown) {
  Driver d;
  d.start();
  d.send("NOOP\n");
  d.send("NOOP " + std::string(3000, 'x'));
  d.send("\r\n");
  ASSERT_EQ(d.env.refusals.size(), 2u);
  EXPECT_EQ(d.env.refusals[0].rfind("NOOP | 500 5.5.2", 0), 0u) << d.env.refusals[0];
  EXPECT_EQ(d.env.refusals[1].rfind("NOOP xxx", 0), 0u) << d.env.refusals[1];
  EXPECT_LT(d.env.refusals[1].size(), 200u);
}

TEST(SessionLog, EndReasonsAndCounts) {
  Driver d;
  d.start();
  EXPECT_EQ(d.s.end(), SessionEnd::kOpen);
  d.ehlo();
  d.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@local.test>\r\nRCPT TO:<bob@local.test>\r\n");
  d.send("RCPT TO:<nobody@local.test>\r\nDATA\r\nbody\r\n.\r\n");
  d.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(d.s.end(), SessionEnd::kQuit);
  const SessionCounts& n = d.s.counts();
  EXPECT_EQ(n.commands, 10u);
  EXPECT_EQ(n.errors, 1u);
  EXPECT_EQ(n.messages, 2u);
  EXPECT_EQ(n.recipients, 3u);

  Driver e;
  e.start();
  e.s.eof();
  e.pump();
  EXPECT_EQ(e.s.end(), SessionEnd::kClientClosed);
  EXPECT_STREQ(session_end_name(SessionEnd::kTooManyAuthFailures), "too_many_auth_failures");
  EXPECT_STREQ(session_end_name(SessionEnd::kHttp), "http_request");
}

}  // namespace
}  // namespace tern
