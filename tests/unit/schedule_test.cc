// Retry policy and concurrency limits (src/relay/schedule.h, limiter.h).
#include "relay/schedule.h"

#include <gtest/gtest.h>

#include "relay/limiter.h"

namespace tern {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr int64_t kT0 = 1700000000;  // when the message arrived

RetryPolicy NoJitter() {
  RetryPolicy p;
  p.jitter = 0;
  return p;
}

TEST(ScheduleTest, DefaultsAreMinutesThenHoursThenFiveDays) {
  RetryPolicy p;
  ASSERT_FALSE(p.intervals.empty());
  EXPECT_EQ(p.intervals.front(), minutes(5));
  EXPECT_EQ(p.intervals.back(), hours(4));
  EXPECT_EQ(p.max_age, hours(24 * 5));
  EXPECT_EQ(p.delay_warning, hours(4));
}

TEST(ScheduleTest, WaitsGrowThenTheLastRepeats) {
  RetryPolicy p = NoJitter();
  const int64_t want[] = {300, 600, 1200, 2400, 4800, 9600, 14400, 14400, 14400};
  for (uint32_t attempts = 1; attempts <= 9; ++attempts) {
    SCOPED_TRACE(attempts);
    EXPECT_EQ(next_retry(p, attempts, kT0, kT0 + 1000, 0.5) - (kT0 + 1000), want[attempts - 1]);
  }
  // The unit does not matter without jitter; attempts 0 reads as the first.
  EXPECT_EQ(next_retry(p, 1, kT0, kT0, 0.0), kT0 + 300);
  EXPECT_EQ(next_retry(p, 0, kT0, kT0, 0.99), kT0 + 300);
}

TEST(ScheduleTest, JitterStaysWithinItsBand) {
  RetryPolicy p;  // 10%
  EXPECT_EQ(next_retry(p, 1, kT0, kT0, 0.0), kT0 + 270);
  EXPECT_EQ(next_retry(p, 1, kT0, kT0, 0.5), kT0 + 300);
  EXPECT_EQ(next_retry(p, 1, kT0, kT0, 0.999999), kT0 + 330);
  for (double u = 0; u < 1; u += 0.01) {
    int64_t wait = next_retry(p, 7, kT0, kT0, u) - kT0;
    EXPECT_GE(wait, 12960);
    EXPECT_LE(wait, 15840);
  }
  EXPECT_EQ(next_retry(p, 1, kT0, kT0, 7.0), kT0 + 330);  // out of range: clamped
}

TEST(ScheduleTest, NeverPastTheGiveUpTimeNorBeforeTheNextSecond) {
  RetryPolicy p = NoJitter();
  const int64_t end = kT0 + 5 * 86400;
  EXPECT_EQ(give_up_at(p, kT0), end);
  EXPECT_EQ(next_retry(p, 20, kT0, end - 60, 0.5), end);  // the last try is at expiry
  EXPECT_EQ(next_retry(p, 20, kT0, end + 100, 0.5), end + 101);
  p.intervals = {seconds(0)};
  EXPECT_EQ(next_retry(p, 1, kT0, kT0 + 5, 0.5), kT0 + 6);
  EXPECT_FALSE(expired(p, kT0, end - 1));
  EXPECT_TRUE(expired(p, kT0, end));
}

TEST(ScheduleTest, DelayWarningAfterItsTimeUnlessOff) {
  RetryPolicy p;
  EXPECT_FALSE(delay_warning_due(p, kT0, kT0 + 4 * 3600 - 1));
  EXPECT_TRUE(delay_warning_due(p, kT0, kT0 + 4 * 3600));
  p.delay_warning = seconds(0);
  EXPECT_FALSE(delay_warning_due(p, kT0, kT0 + 100 * 86400));
}

TEST(ScheduleTest, FormatDuration) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(59), "59s");
  EXPECT_EQ(format_duration(60), "1m");
  EXPECT_EQ(format_duration(4800), "1h20m");
  EXPECT_EQ(format_duration(3601), "1h");
  EXPECT_EQ(format_duration(5 * 86400), "5d");
  EXPECT_EQ(format_duration(86400 + 7200 + 60), "1d2h");
  EXPECT_EQ(format_duration(-300), "-5m");
}

TEST(LimiterTest, PerDestinationAndGlobal) {
  ConcurrencyLimiter l(3, 2);
  EXPECT_TRUE(l.try_acquire("a.example"));
  EXPECT_TRUE(l.try_acquire("a.example"));
  EXPECT_FALSE(l.try_acquire("a.example"));  // 2 per destination
  EXPECT_TRUE(l.saturated("a.example"));
  EXPECT_FALSE(l.saturated("local"));
  EXPECT_TRUE(l.try_acquire("local"));
  EXPECT_TRUE(l.full());
  EXPECT_FALSE(l.try_acquire("b.example"));  // 3 in total
  EXPECT_TRUE(l.saturated("b.example"));
  EXPECT_EQ(l.in_flight(), 3u);
  EXPECT_EQ(l.in_flight("a.example"), 2u);
  l.release("a.example");
  EXPECT_TRUE(l.try_acquire("b.example"));
  l.release("nobody");  // not held: ignored
  EXPECT_EQ(l.in_flight(), 3u);
  l.set_limits(10, 1);
  EXPECT_FALSE(l.try_acquire("a.example"));  // already 1 there
  EXPECT_TRUE(l.try_acquire("c.example"));
  // "local" is bounded by the global limit only.
  ConcurrencyLimiter local(4, 1);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(local.try_acquire("local")) << i;
  EXPECT_FALSE(local.try_acquire("local"));
  EXPECT_EQ(local.limit("local"), 4u);
  EXPECT_EQ(local.limit("a.example"), 1u);
  ConcurrencyLimiter zero(0, 0);  // treated as 1
  EXPECT_TRUE(zero.try_acquire("x"));
  EXPECT_FALSE(zero.try_acquire("y"));
}

}  // namespace
}  // namespace tern
