// ServerSession's SPF step (RFC 7208 on incoming mail), driven with no I/O:
// the kCheckSpf action at the first RCPT of each transaction, the replies
// of RFC 7372 (550 5.7.23, 451 4.7.24), marking with Received-SPF (RFC 7208
// 9.1), the postmaster exemption (RFC 5321 4.5.1) and PIPELINING across
// the pause.
#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/received.h"
#include "core/server_session.h"
#include "session_driver.h"

namespace tern {
namespace {

using testlib::codes;
using testlib::Driver;
using testlib::submission;
using testlib::V;

SessionOptions spf_options(bool reject_fail = true, bool defer_temperror = true) {
  SessionOptions o;
  o.spf_check = true;
  o.spf_reject_fail = reject_fail;
  o.spf_defer_temperror = defer_temperror;
  return o;
}

SpfOutcome outcome(SpfResult r, std::string mechanism = "", std::string explanation = "",
                   std::string problem = "") {
  return SpfOutcome{r, std::move(mechanism), std::move(explanation), std::move(problem)};
}

// Sends one message to alice and returns what was stored ("" if refused).
std::string send_message(Driver& d, const std::string& from = "sender@remote.test") {
  d.send("MAIL FROM:<" + from + ">\r\n");
  if (codes(d.send("RCPT TO:<alice@local.test>\r\n")) != V{"250 2.1.5"}) return "";
  d.send("DATA\r\n");
  d.send("Subject: hi\r\n\r\nbody\r\n.\r\n");
  return d.messages.empty() ? "" : d.messages.back();
}

TEST(SessionSpf, CheckedOnceAtTheFirstRcptWithTheMailFromIdentity) {
  Driver d(spf_options());
  d.spf_answer = outcome(SpfResult::kPass, "ip4:192.0.2.0/24");
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("MAIL FROM:<sender@remote.test>\r\n")), V{"250 2.1.0"});
  EXPECT_TRUE(d.spf_requests.empty());  // not at MAIL
  EXPECT_EQ(codes(d.send("RCPT TO:<alice@local.test>\r\n")), V{"250 2.1.5"});
  EXPECT_EQ(codes(d.send("RCPT TO:<bob@local.test>\r\n")), V{"250 2.1.5"});
  ASSERT_EQ(d.spf_requests.size(), 1u);
  EXPECT_EQ(d.spf_requests[0].client_ip, "192.0.2.7");
  EXPECT_EQ(d.spf_requests[0].mail_from, "sender@remote.test");
  EXPECT_EQ(d.spf_requests[0].helo, "client.test");
  EXPECT_FALSE(d.spf_requests[0].helo_identity);
  // A new transaction is checked again.
  d.send("RSET\r\nMAIL FROM:<other@remote.test>\r\nRCPT TO:<alice@local.test>\r\n");
  ASSERT_EQ(d.spf_requests.size(), 2u);
  EXPECT_EQ(d.spf_requests[1].mail_from, "other@remote.test");
}

TEST(SessionSpf, NullSenderChecksTheHeloIdentity) {
  Driver d(spf_options());
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<>\r\nRCPT TO:<alice@local.test>\r\n");
  ASSERT_EQ(d.spf_requests.size(), 1u);
  EXPECT_TRUE(d.spf_requests[0].helo_identity);
  EXPECT_EQ(d.spf_requests[0].mail_from, "");
}

TEST(SessionSpf, BadRcptSyntaxDoesNotCheck) {
  Driver d(spf_options());
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<sender@remote.test>\r\n");
  EXPECT_EQ(codes(d.send("RCPT TO:alice\r\n")), V{"501 5.1.3"});
  EXPECT_TRUE(d.spf_requests.empty());
}

TEST(SessionSpf, FailIsRefusedWithTheExplanation) {
  Driver d(spf_options());
  d.spf_answer = outcome(SpfResult::kFail, "-all", "192.0.2.7 is not one of remote.test's");
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<sender@remote.test>\r\n");
  EXPECT_EQ(d.send("RCPT TO:<alice@local.test>\r\n"),
            "550 5.7.23 SPF validation failed: 192.0.2.7 is not one of remote.test's\r\n");
  EXPECT_EQ(codes(d.send("RCPT TO:<bob@local.test>\r\n")), V{"550 5.7.23"});
  EXPECT_EQ(d.spf_requests.size(), 1u);
  EXPECT_EQ(codes(d.send("DATA\r\n")), V{"554 5.5.1"});
}

TEST(SessionSpf, ExplanationIsMadePrintable) {
  Driver d(spf_options());
  d.spf_answer = outcome(SpfResult::kFail, "-all", "bad\r\n250 injected");
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<sender@remote.test>\r\n");
  EXPECT_EQ(d.send("RCPT TO:<alice@local.test>\r\n"),
            "550 5.7.23 SPF validation failed: bad??250 injected\r\n");
}

TEST(SessionSpf, PostmasterIsAcceptedEvenOnFail) {
  Driver d(spf_options());
  d.spf_answer = outcome(SpfResult::kFail, "-all", "no");
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<sender@remote.test>\r\n");
  EXPECT_EQ(codes(d.send("RCPT TO:<Postmaster>\r\n")), V{"250 2.1.5"});
  EXPECT_EQ(codes(d.send("RCPT TO:<postmaster@local.test>\r\n")), V{"250 2.1.5"});
  EXPECT_EQ(codes(d.send("RCPT TO:<alice@local.test>\r\n")), V{"550 5.7.23"});
  d.send("DATA\r\n");
  EXPECT_EQ(codes(d.send("x\r\n.\r\n")), V{"250 2.0.0"});
  ASSERT_EQ(d.messages.size(), 1u);
  EXPECT_EQ(d.messages[0].rfind("Received-SPF: fail ", 0), 0u) << d.messages[0];
}

TEST(SessionSpf, TempErrorIsDeferred) {
  Driver d(spf_options());
  d.spf_answer = outcome(SpfResult::kTempError, "", "", "SERVFAIL looking up TXT of remote.test");
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<sender@remote.test>\r\n");
  EXPECT_EQ(d.send("RCPT TO:<alice@local.test>\r\n"),
            "451 4.7.24 SPF temporary error, try again later\r\n");
  EXPECT_EQ(codes(d.send("RCPT TO:<postmaster@local.test>\r\n")), V{"250 2.1.5"});
}

TEST(SessionSpf, RefusalsComeAfterTheRecipientsOwnVerdict) {
  Driver d(spf_options());
  d.spf_answer = outcome(SpfResult::kFail, "-all", "no");
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<sender@remote.test>\r\n");
  EXPECT_EQ(codes(d.send("RCPT TO:<carol@local.test>\r\n")), V{"550 5.1.1"});
  EXPECT_EQ(codes(d.send("RCPT TO:<x@elsewhere.test>\r\n")), V{"550 5.7.1"});
}

TEST(SessionSpf, MarkModesAcceptAndMark) {
  Driver d(spf_options(false, false));
  d.spf_answer = outcome(SpfResult::kFail, "-all", "no");
  d.start();
  d.ehlo();
  std::string m = send_message(d);
  EXPECT_EQ(m.rfind("Received-SPF: fail (localhost: domain of sender@remote.test does not "
                    "designate 192.0.2.7 as permitted sender)\r\n",
                    0),
            0u)
      << m;
  d.spf_answer = outcome(SpfResult::kTempError, "", "", "timeout");
  m = send_message(d);
  EXPECT_EQ(m.rfind("Received-SPF: temperror ", 0), 0u) << m;
  EXPECT_NE(m.find("problem=timeout\r\n"), std::string::npos) << m;
}

TEST(SessionSpf, PassIsMarkedAboveTheReceivedHeader) {
  Driver d(spf_options());
  d.spf_answer = outcome(SpfResult::kPass, "ip4:192.0.2.0/24");
  d.start();
  d.ehlo();
  std::string m = send_message(d);
  EXPECT_EQ(
      m.rfind("Received-SPF: pass (localhost: domain of sender@remote.test designates "
              "192.0.2.7 as permitted sender)\r\n"
              "\tclient-ip=192.0.2.7; envelope-from=\"sender@remote.test\"; helo=client.test;\r\n"
              "\treceiver=localhost; identity=mailfrom; mechanism=\"ip4:192.0.2.0/24\"\r\n"
              "Received: from client.test",
              0),
      0u)
      << m.substr(0, 400);
}

TEST(SessionSpf, SoftFailAndPermErrorAreOnlyMarked) {
  for (SpfResult r :
       {SpfResult::kSoftFail, SpfResult::kPermError, SpfResult::kNeutral, SpfResult::kNone}) {
    Driver d(spf_options());
    d.spf_answer = outcome(r, "~all");
    d.start();
    d.ehlo();
    std::string m = send_message(d);
    EXPECT_EQ(m.rfind(std::string("Received-SPF: ") + spf_result_name(r) + " ", 0), 0u) << m;
  }
}

TEST(SessionSpf, PipelinedCommandsWaitForTheCheck) {
  Driver d(spf_options());
  d.hold_spf = true;
  d.start();
  d.ehlo();
  std::string w = d.send(
      "MAIL FROM:<sender@remote.test>\r\nRCPT TO:<alice@local.test>\r\nRCPT "
      "TO:<bob@local.test>\r\nDATA\r\n");
  EXPECT_TRUE(d.spf_waiting);
  EXPECT_EQ(codes(w), V{"250 2.1.0"});  // MAIL's reply goes out before the wait
  int sends = d.sends;
  w = d.answer_spf(outcome(SpfResult::kPass, "+all"));
  EXPECT_FALSE(d.spf_waiting);
  EXPECT_EQ(codes(w), (V{"250 2.1.5", "250 2.1.5", "354"}));
  EXPECT_EQ(d.sends - sends, 1);  // the three replies in one write
  EXPECT_EQ(codes(d.send("x\r\n.\r\n")), V{"250 2.0.0"});
  EXPECT_EQ(d.spf_requests.size(), 1u);
}

TEST(SessionSpf, PipelinedRefusalThenDataIsRefused) {
  Driver d(spf_options());
  d.hold_spf = true;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<s@remote.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\nbody\r\n.\r\n");
  std::string w = d.answer_spf(outcome(SpfResult::kFail, "-all", "no"));
  V got = codes(w);
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got[0], "550 5.7.23");
  EXPECT_EQ(got[1], "554 5.5.1");
  EXPECT_TRUE(d.messages.empty());
}

TEST(SessionSpf, NotCheckedWhenOff) {
  Driver d;
  d.start();
  d.ehlo();
  EXPECT_NE(send_message(d), "");
  EXPECT_TRUE(d.spf_requests.empty());
  EXPECT_EQ(d.messages[0].rfind("Received: ", 0), 0u);
}

TEST(SessionSpf, NotCheckedForAuthenticatedClients) {
  SessionOptions o = submission();
  o.spf_check = true;
  Driver d(o);
  d.spf_answer = outcome(SpfResult::kFail, "-all", "no");
  d.start();
  d.ehlo();
  d.send("STARTTLS\r\n");
  d.ehlo();
  ASSERT_EQ(
      codes(d.send("AUTH PLAIN " + base64_encode(std::string("\0alice\0secret", 13)) + "\r\n")),
      V{"235 2.7.0"});
  std::string m = send_message(d, "alice@local.test");
  EXPECT_NE(m, "");
  EXPECT_TRUE(d.spf_requests.empty());
  EXPECT_EQ(m.find("Received-SPF"), std::string::npos);
}

TEST(SessionSpf, ClosedWhileWaitingIgnoresTheAnswer) {
  Driver d(spf_options());
  d.hold_spf = true;
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<s@remote.test>\r\nRCPT TO:<alice@local.test>\r\n");
  d.s.shutdown();
  std::string w = d.answer_spf(outcome(SpfResult::kPass));
  EXPECT_EQ(codes(w), V{"421 4.3.2"});
  EXPECT_TRUE(d.closed);
}

TEST(ReceivedSpf, QuotesValuesThatAreNotDotAtomsAndFolds) {
  ReceivedSpfInfo i;
  i.result = "neutral";
  i.receiver = "mx.local.test";
  i.client_ip = "2001:db8::1";
  i.envelope_from = "";
  i.helo = "[192.0.2.1]";
  i.identity = "helo";
  std::string h = build_received_spf(i);
  EXPECT_EQ(h,
            "Received-SPF: neutral (mx.local.test: 2001:db8::1 is neither permitted nor denied by "
            "domain of [192.0.2.1])\r\n"
            "\tclient-ip=\"2001:db8::1\"; envelope-from=\"\"; helo=\"[192.0.2.1]\";\r\n"
            "\treceiver=mx.local.test; identity=helo\r\n");
  i.result = "permerror";
  i.problem = "a \"quoted\" (thing)\\";
  h = build_received_spf(i);
  EXPECT_NE(h.find("lookup of [192.0.2.1]: a \"quoted\" _thing__)"), std::string::npos) << h;
  EXPECT_NE(h.find("problem=\"a \\\"quoted\\\" (thing)\\\\\""), std::string::npos) << h;
}

}  // namespace
}  // namespace tern
