// core/deadline.h: which limit bounds a server connection's next read.
#include "core/deadline.h"

#include <gtest/gtest.h>

namespace tern {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class DeadlineTest : public ::testing::Test {
 protected:
  DeadlineTest() {
    limits.command = 300s;
    limits.data = 600s;
    limits.session = 3600s;
  }
  ReadTimeouts limits;
  const Clock::time_point start = Clock::time_point() + 1000h;
};

TEST_F(DeadlineTest, CommandLineGetsTheCommandTimeoutFromTheLastReply) {
  ReadDeadline d = read_deadline(start + 10s, start + 10s, start, false, limits);
  EXPECT_EQ(d.waiting, Waiting::kCommand);
  EXPECT_EQ(d.timeout, 300s);
}

// RFC 5321 4.5.3.2.7 times the command from our reply: a client dripping a
// byte at a time does not move the deadline, each read gets what is left.
TEST_F(DeadlineTest, SlowBytesDoNotExtendTheCommandDeadline) {
  ReadDeadline d = read_deadline(start + 250s, start + 10s, start, false, limits);
  EXPECT_EQ(d.waiting, Waiting::kCommand);
  EXPECT_EQ(d.timeout, 60s);
  d = read_deadline(start + 310s, start + 10s, start, false, limits);
  EXPECT_EQ(d.waiting, Waiting::kCommand);
  EXPECT_EQ(d.timeout, 0s);
  d = read_deadline(start + 400s, start + 10s, start, false, limits);
  EXPECT_LT(d.timeout, 0s);  // already up: the caller times out without reading
}

// RFC 5321 4.5.3.2.6: each data block gets the whole data timeout, however
// long ago our 354 went out.
TEST_F(DeadlineTest, DataGetsTheDataTimeoutPerRead) {
  ReadDeadline d = read_deadline(start + 1000s, start + 10s, start, true, limits);
  EXPECT_EQ(d.waiting, Waiting::kData);
  EXPECT_EQ(d.timeout, 600s);
}

TEST_F(DeadlineTest, SessionLimitWinsWhenNearer) {
  // 100 s of session left, a fresh reply: the session limit bounds the read.
  ReadDeadline d = read_deadline(start + 3500s, start + 3500s, start, false, limits);
  EXPECT_EQ(d.waiting, Waiting::kSession);
  EXPECT_EQ(d.timeout, 100s);
  d = read_deadline(start + 3500s, start + 3500s, start, true, limits);
  EXPECT_EQ(d.waiting, Waiting::kSession);
  EXPECT_EQ(d.timeout, 100s);
  d = read_deadline(start + 3700s, start + 3690s, start, true, limits);
  EXPECT_EQ(d.waiting, Waiting::kSession);
  EXPECT_LT(d.timeout, 0s);
}

TEST_F(DeadlineTest, ATieGoesToTheSessionLimit) {
  // Both end at the same moment: the session's reply (4.4.2) says more.
  ReadDeadline d = read_deadline(start + 3200s, start + 3200s, start, false, limits);
  EXPECT_EQ(d.waiting, Waiting::kCommand);
  d = read_deadline(start + 3300s, start + 3300s, start, false, limits);
  EXPECT_EQ(d.waiting, Waiting::kSession);
  EXPECT_EQ(d.timeout, 300s);
}

}  // namespace
}  // namespace tern
