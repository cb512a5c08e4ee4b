// base/time_id.h, and the two ids built on it: queue ids and session ids
// strictly increase as strings within a process.
#include "base/time_id.h"

#include <gtest/gtest.h>

#include <string>

#include "queue/queue_id.h"
#include "server/session_id.h"

namespace tern {
namespace {

TEST(TimeIdTest, Base62DigitsInAsciiOrder) {
  std::string s;
  append_base62(&s, 0, 3);
  EXPECT_EQ(s, "000");
  s.clear();
  append_base62(&s, 61, 2);
  EXPECT_EQ(s, "0z");
  s.clear();
  append_base62(&s, 62 * 62 + 1, 3);
  EXPECT_EQ(s, "101");
  s.clear();
  append_base62(&s, 62 * 62, 2);  // only the lowest digits
  EXPECT_EQ(s, "00");
}

TEST(TimeIdTest, MicrosStrictlyIncreaseEvenWhenTheClockDoesNot) {
  std::atomic<uint64_t> last{0};
  uint64_t prev = next_id_micros(last);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t next = next_id_micros(last);
    EXPECT_GT(next, prev);
    prev = next;
  }
  std::atomic<uint64_t> ahead{UINT64_C(1) << 62};  // "the clock went back"
  EXPECT_EQ(next_id_micros(ahead), (UINT64_C(1) << 62) + 1);
}

TEST(TimeIdTest, QueueAndSessionIdsSortByCreation) {
  std::string q = new_queue_id(), s = new_session_id();
  EXPECT_EQ(q.size(), 16u);
  EXPECT_EQ(s.size(), 9u);
  EXPECT_TRUE(is_valid_queue_id(q));
  for (int i = 0; i < 100; ++i) {
    const std::string q2 = new_queue_id(), s2 = new_session_id();
    EXPECT_LT(q, q2);
    EXPECT_LT(s, s2);
    q = q2;
    s = s2;
  }
}

}  // namespace
}  // namespace tern
