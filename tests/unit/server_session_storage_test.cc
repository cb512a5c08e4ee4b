// MAIL FROM when the spool is full (SessionEnv::storage_low): 452 4.3.1
// (RFC 5321 4.5.3.1.9, RFC 3463 X.3.1) before any data is sent, with the
// SIZE the client declared (RFC 1870 6.1); no transaction begins, the
// refusal is logged, and the session goes on.
#include <gtest/gtest.h>

#include "core/server_session.h"
#include "session_driver.h"

namespace tern {
namespace {

using testlib::codes;
using testlib::Driver;
using testlib::V;

TEST(SessionStorage, FullSpoolRefusesMailWith452AndTheSessionGoesOn) {
  Driver d;
  d.env.storage_room = 1000;
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@remote.test> SIZE=999\r\n")), V{"250 2.1.0"});
  d.send("RSET\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@remote.test> SIZE=1000\r\n"),
            "452 4.3.1 Insufficient system storage, try again later\r\n");
  EXPECT_FALSE(d.s.in_transaction());
  EXPECT_EQ(codes(d.send("RCPT TO:<alice@local.test>\r\n")), V{"503 5.5.1"});
  d.env.storage_room = 0;  // nothing fits, not even an undeclared size
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@remote.test>\r\n")), V{"452 4.3.1"});
  EXPECT_EQ(d.env.storage_asked, (std::vector<uint64_t>{999, 1000, 0}));
  ASSERT_EQ(d.env.refusals.size(), 3u);
  EXPECT_EQ(d.env.refusals[0],
            "MAIL FROM:<a@remote.test> SIZE=1000 | 452 4.3.1 Insufficient system storage, try "
            "again later |  |  | ");
  d.env.storage_room = 1000;  // space is back
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@remote.test>\r\n")), V{"250 2.1.0"});
  EXPECT_EQ(codes(d.send("RCPT TO:<alice@local.test>\r\n")), V{"250 2.1.5"});
}

TEST(SessionStorage, OverTheSizeLimitIsStill552) {
  // A message that can never fit is a permanent refusal, decided first.
  SessionOptions o;
  o.max_message_size = 100;
  Driver d(o);
  d.env.storage_room = 0;
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("MAIL FROM:<a@remote.test> SIZE=101\r\n")), V{"552 5.3.4"});
  EXPECT_TRUE(d.env.storage_asked.empty());
}

}  // namespace
}  // namespace tern
