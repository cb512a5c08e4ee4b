// ServerSession's outside filters (SessionOptions::filter, the milters):
// HELO, MAIL, RCPT and DATA each wait for kFilter once the session's own
// checks passed; a refusal reaches the client at that stage (RCPT: that
// recipient only), and pipelined commands keep their order.
#include <gtest/gtest.h>

#include "core/server_session.h"
#include "session_driver.h"

namespace tern {
namespace {

using testlib::codes;
using testlib::Driver;
using testlib::V;

SessionOptions filtered() {
  SessionOptions o;
  o.filter = true;
  return o;
}

TEST(ServerSessionFilter, EveryStageIsAskedWithWhatTheClientSent) {
  Driver d(filtered());
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@remote.test> SIZE=100\r\n")), V{"250 2.1.0"});
  EXPECT_EQ(codes(d.send("RCPT TO:<alice@local.test>\r\n")), V{"250 2.1.5"});
  EXPECT_EQ(codes(d.send("DATA\r\n")), V{"354"});
  d.send("Subject: x\r\n\r\nbody\r\n.\r\n");
  ASSERT_EQ(d.filter_requests.size(), 4u);
  EXPECT_EQ(d.filter_requests[0].stage, FilterStage::kHelo);
  EXPECT_EQ(d.filter_requests[0].address, "client.test");
  EXPECT_EQ(d.filter_requests[1].stage, FilterStage::kMail);
  EXPECT_EQ(d.filter_requests[1].arg, "<a@remote.test> SIZE=100");
  EXPECT_EQ(d.filter_requests[1].address, "a@remote.test");
  EXPECT_EQ(d.filter_requests[1].queue_id, "Q1");
  EXPECT_EQ(d.filter_requests[2].stage, FilterStage::kRcpt);
  EXPECT_EQ(d.filter_requests[2].address, "alice@local.test");
  EXPECT_EQ(d.filter_requests[3].stage, FilterStage::kData);
  EXPECT_EQ(d.messages.size(), 1u);
}

TEST(ServerSessionFilter, RefusalsAtEachStage) {
  Driver d(filtered());
  d.start();
  d.filter_answers[FilterStage::kHelo] = Reply(550, "5.7.1", "Command rejected");
  EXPECT_EQ(codes(d.ehlo()), V{"550 5.7.1"});
  EXPECT_TRUE(d.s.helo().empty());
  d.filter_answers.clear();
  d.ehlo();
  d.filter_answers[FilterStage::kMail] = Reply(451, "4.7.1", "later");
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@remote.test>\r\n")), V{"451 4.7.1"});
  EXPECT_FALSE(d.s.in_transaction());
  d.filter_answers.clear();
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@remote.test>\r\n")), V{"250 2.1.0"});
  // One recipient refused, the next accepted: the message goes on.
  d.filter_answers[FilterStage::kRcpt] = Reply(550, "5.7.1", "not this one");
  EXPECT_EQ(codes(d.send("RCPT TO:<bob@local.test>\r\n")), V{"550 5.7.1"});
  d.filter_answers.clear();
  EXPECT_EQ(codes(d.send("RCPT TO:<alice@local.test>\r\n")), V{"250 2.1.5"});
  d.filter_answers[FilterStage::kData] = Reply(554, "5.7.1", "no data");
  EXPECT_EQ(codes(d.send("DATA\r\n")), V{"554 5.7.1"});
  EXPECT_FALSE(d.s.in_transaction());  // a refused DATA ends the transaction
  EXPECT_TRUE(d.messages.empty());
}

TEST(ServerSessionFilter, PipelinedCommandsWaitTheirTurn) {
  Driver d(filtered());
  d.start();
  d.ehlo();
  d.filter_answers[FilterStage::kRcpt] = Reply(550, "5.7.1", "no");
  std::string w = d.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n");
  EXPECT_EQ(codes(w), (V{"250 2.1.0", "550 5.7.1", "554 5.5.1"}));
}

TEST(ServerSessionFilter, OwnChecksComeFirst) {
  Driver d(filtered());
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@remote.test>\r\n");
  size_t asked = d.filter_requests.size();
  // An unknown user is refused by the session: the filter never sees it.
  EXPECT_EQ(codes(d.send("RCPT TO:<nobody@elsewhere.test>\r\n")), V{"550 5.7.1"});
  EXPECT_EQ(d.filter_requests.size(), asked);
}

}  // namespace
}  // namespace tern
