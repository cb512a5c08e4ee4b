// ServerSession against abusive clients: HTTP on the SMTP port, overlong
// HELO names, endless commands without a message, endless AUTH attempts.
// Each ends with a clear reply (RFC 3463 code) and, where it says so, the
// end of the session.
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

std::string plain(const std::string& user, const std::string& password) {
  return base64_encode(std::string("\0", 1) + user + std::string("\0", 1) + password);
}

TEST(SessionAbuse, HttpRequestAsFirstCommandIsHungUpOn) {
  // The rest of the request (pipelined headers) gets no reply at all.
  Driver d;
  d.start();
  std::string r = d.send("GET / HTTP/1.1\r\nHost: mx.example.test\r\n\r\n");
  EXPECT_EQ(codes(r), V{"421 4.7.0"});
  EXPECT_NE(r.find("HTTP request"), std::string::npos) << r;
  EXPECT_TRUE(d.closed);
  EXPECT_EQ(d.s.end(), SessionEnd::kHttp);
}

TEST(SessionAbuse, EveryHttpLineShapeIsHungUpOnMidSession) {
  for (const char* line :
       {"POST /form HTTP/1.1", "post /x HTTP/1.0", "HEAD / HTTP/1.1", "PUT /a HTTP/1.1",
        "CONNECT mx.example.test:25 HTTP/1.1", "OPTIONS * HTTP/1.1", "Host: mx.example.test",
        "User-Agent: Mozilla/5.0", "PRI * HTTP/2.0"}) {
    Driver d;
    d.start();
    d.ehlo();
    EXPECT_EQ(codes(d.send("MAIL FROM:<a@remote.test>\r\n")), V{"250 2.1.0"});
    EXPECT_EQ(codes(d.send(std::string(line) + "\r\nNOOP\r\n")), V{"421 4.7.0"}) << line;
    EXPECT_TRUE(d.closed) << line;
    EXPECT_EQ(d.s.end(), SessionEnd::kHttp) << line;
  }
}

TEST(SessionAbuse, WordsThatOnlyResembleHttpAreUnknownCommands) {
  Driver d;
  d.start();
  EXPECT_EQ(codes(d.send("GET\r\n")), V{"500 5.5.1"});
  EXPECT_EQ(codes(d.send("GETTER x\r\n")), V{"500 5.5.1"});
  EXPECT_EQ(codes(d.send("Hostname: x\r\n")), V{"500 5.5.1"});
  EXPECT_FALSE(d.closed);
}

TEST(SessionAbuse, HttpInsideMessageDataIsJustData) {
  Driver d;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  EXPECT_EQ(codes(d.send("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody\r\n.\r\n")), V{"250 2.0.0"});
  EXPECT_FALSE(d.closed);
}

TEST(SessionAbuse, HeloLabelsOver63OctetsAreSyntaxErrors) {
  // RFC 1035 2.3.4: labels of at most 63 octets.
  Driver d;
  d.start();
  std::string l63(63, 'a'), l64(64, 'a');
  EXPECT_EQ(codes(d.send("HELO " + l64 + ".example\r\n")), V{"501 5.5.4"});
  EXPECT_EQ(codes(d.send("EHLO x." + l64 + "\r\n")), V{"501 5.5.4"});
  EXPECT_EQ(codes(d.send("HELO " + std::string(1001, 'a') + "\r\n")), V{"501 5.5.4"});
  EXPECT_TRUE(d.s.helo().empty());
  EXPECT_EQ(codes(d.send("HELO " + l63 + ".example\r\n")), V{"250"});
  EXPECT_EQ(d.s.helo(), l63 + ".example");
}

TEST(SessionAbuse, HeloNamesOver255OctetsAreSyntaxErrors) {
  // RFC 5321 4.5.3.1.2: a domain name is at most 255 octets.
  Driver d;
  d.start();
  std::string l63(63, 'b');
  std::string n255 = l63 + "." + l63 + "." + l63 + "." + l63;  // 4 * 63 + 3
  ASSERT_EQ(n255.size(), 255u);
  EXPECT_EQ(codes(d.send("EHLO " + n255 + ".x\r\n")), V{"501 5.5.4"});
  EXPECT_EQ(codes(d.send("EHLO " + n255 + "\r\n")).back(), "250");
}

TEST(SessionAbuse, HeloAddressLiteralsStayAllowed) {
  Driver d;
  d.start();
  EXPECT_EQ(codes(d.send("HELO [192.0.2.7]\r\n")), V{"250"});
  EXPECT_EQ(codes(d.send("HELO [IPv6:2001:db8::7]\r\n")), V{"250"});
  EXPECT_EQ(codes(d.send("HELO [" + std::string(300, '1') + "]\r\n")), V{"501 5.5.4"});
}

TEST(SessionAbuse, EndlessNoopsEndTheSession) {
  SessionOptions o;
  o.max_commands_without_message = 5;
  Driver d(o);
  d.start();
  EXPECT_EQ(codes(d.send("EHLO a\r\n")).back(), "250");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(codes(d.send("NOOP\r\n")), V{"250 2.0.0"});
  EXPECT_FALSE(d.closed);
  EXPECT_EQ(codes(d.send("NOOP\r\n")), V{"421 4.7.0"});
  EXPECT_TRUE(d.closed);
  EXPECT_EQ(d.s.end(), SessionEnd::kTooManyCommands);
}

TEST(SessionAbuse, MailRsetLoopsEndTheSession) {
  SessionOptions o;
  o.max_commands_without_message = 6;
  Driver d(o);
  d.start();
  d.ehlo();  // 1
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(codes(d.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@local.test>\r\nRSET\r\n")),
              (V{"250 2.1.0", "250 2.1.5", "250 2.0.0"}));  // MAIL, RSET: 2 each
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@remote.test>\r\nVRFY x\r\n")),
            (V{"250 2.1.0", "421 4.7.0"}));
  EXPECT_EQ(d.s.end(), SessionEnd::kTooManyCommands);
}

TEST(SessionAbuse, AMessageRestartsTheCommandCount) {
  SessionOptions o;
  o.max_commands_without_message = 3;
  Driver d(o);
  d.start();
  for (int i = 0; i < 5; ++i) {
    // EHLO, MAIL, RSET... count 3 at most between messages; RCPT and
    // DATA are not counted, however many.
    EXPECT_EQ(codes(d.send("EHLO a\r\nNOOP\r\nMAIL FROM:<a@remote.test>\r\n")).back(), "250 2.1.0");
    for (int r = 0; r < 4; ++r) d.send("RCPT TO:<alice@local.test>\r\n");
    EXPECT_EQ(codes(d.send("DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n")), (V{"354", "250 2.0.0"}));
  }
  EXPECT_FALSE(d.closed);
  EXPECT_EQ(d.s.messages_accepted(), 5u);
}

TEST(SessionAbuse, QuitIsNeverRefusedForTheCount) {
  SessionOptions o;
  o.max_commands_without_message = 1;
  Driver d(o);
  d.start();
  EXPECT_EQ(codes(d.send("NOOP\r\nQUIT\r\n")), (V{"250 2.0.0", "221 2.0.0"}));
  EXPECT_EQ(d.s.end(), SessionEnd::kQuit);
}

// Submission with TLS on, ready for AUTH.
Driver& tls_ready(Driver& d) {
  d.start();
  d.ehlo();
  d.send("STARTTLS\r\n");
  d.ehlo();
  return d;
}

TEST(SessionAbuse, ThirdFailedAuthEndsTheSession) {
  Driver d(submission());
  tls_ready(d);
  EXPECT_EQ(codes(d.send("AUTH PLAIN " + plain("alice", "wrong1") + "\r\n")), V{"535 5.7.8"});
  EXPECT_EQ(codes(d.send("AUTH PLAIN " + plain("alice", "wrong2") + "\r\n")), V{"535 5.7.8"});
  EXPECT_FALSE(d.closed);
  EXPECT_EQ(codes(d.send("AUTH PLAIN " + plain("alice", "wrong3") + "\r\n")),
            (V{"535 5.7.8", "421 4.7.0"}));
  EXPECT_TRUE(d.closed);
  EXPECT_EQ(d.s.end(), SessionEnd::kTooManyAuthFailures);
  EXPECT_EQ(d.auths.size(), 3u);
}

TEST(SessionAbuse, AuthFailuresNameTheCauseWhenErrorsRunOutToo) {
  SessionOptions o = submission();
  o.max_errors = 3;
  Driver d(o);
  tls_ready(d);
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(codes(d.send("AUTH PLAIN " + plain("alice", "wrong") + "\r\n")), V{"535 5.7.8"});
  EXPECT_EQ(codes(d.send("AUTH PLAIN " + plain("alice", "wrong") + "\r\n")),
            (V{"535 5.7.8", "421 4.7.0"}));
  EXPECT_EQ(d.s.end(), SessionEnd::kTooManyAuthFailures);
  EXPECT_EQ(d.s.counts().errors, 3u);
}

// Only wrong credentials count: a malformed or cancelled exchange tries no
// password (max_errors bounds those).
TEST(SessionAbuse, CancelledAndMalformedAuthAreErrorsNotFailures) {
  SessionOptions o = submission();
  o.max_auth_failures = 1;
  o.max_errors = 6;
  Driver d(o);
  tls_ready(d);
  EXPECT_EQ(codes(d.send("AUTH LOGIN\r\n")), V{"334"});
  EXPECT_EQ(codes(d.send("*\r\n")), V{"501 5.0.0"});
  EXPECT_EQ(codes(d.send("AUTH PLAIN !!!\r\n")), V{"501 5.5.2"});
  EXPECT_EQ(codes(d.send("AUTH PLAIN\r\n")), V{"334"});
  EXPECT_EQ(codes(d.send(base64_encode("no nuls") + "\r\n")), V{"501 5.5.2"});
  EXPECT_FALSE(d.closed);
  EXPECT_EQ(codes(d.send("AUTH PLAIN =\r\nAUTH PLAIN =\r\n")), (V{"501 5.5.2", "501 5.5.2"}));
  EXPECT_EQ(codes(d.send("AUTH PLAIN !!!\r\n")), (V{"501 5.5.2", "421 4.7.0"}));  // the 6th error
  EXPECT_EQ(d.s.end(), SessionEnd::kTooManyErrors);
}

TEST(SessionAbuse, AuthSucceedsAfterFewerFailures) {
  SessionOptions o = submission();
  o.max_auth_failures = 2;
  Driver d(o);
  tls_ready(d);
  EXPECT_EQ(codes(d.send("AUTH PLAIN " + plain("alice", "wrong") + "\r\n")), V{"535 5.7.8"});
  EXPECT_EQ(codes(d.send("AUTH PLAIN " + plain("alice", "secret") + "\r\n")), V{"235 2.7.0"});
  EXPECT_FALSE(d.closed);
}

// An unknown mechanism is an error, not a failed attempt: no credential was tried.
TEST(SessionAbuse, UnknownMechanismIsNotAnAuthFailure) {
  SessionOptions o = submission();
  o.max_auth_failures = 1;
  Driver d(o);
  tls_ready(d);
  EXPECT_EQ(codes(d.send("AUTH CRAM-MD5\r\nAUTH XOAUTH2\r\n")), (V{"504 5.5.4", "504 5.5.4"}));
  EXPECT_FALSE(d.closed);
}

TEST(SessionAbuse, RepliesOfAGroupEndingCommandGoOutBeforeTheNextCommand) {
  // RFC 2920 3.1: NOOP, EHLO, VRFY ... end a pipelined group; RSET, MAIL
  // and RCPT do not, and their replies are batched.
  Driver d;
  d.start();
  d.ehlo();
  d.sends = 0;
  d.send("NOOP\r\nNOOP\r\nNOOP\r\n");
  EXPECT_EQ(d.sends, 3);
  d.sends = 0;
  d.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@local.test>\r\nRSET\r\n");
  EXPECT_EQ(d.sends, 1);
}

}  // namespace
}  // namespace tern
