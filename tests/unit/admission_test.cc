// Admission and SlidingWindow against a fake clock: each limit refuses
// the one past it with its reply, windows slide, entries expire, and a
// flood of distinct addresses keeps the table at its cap.
#include "core/admission.h"

#include <gtest/gtest.h>

#include <string>

namespace tern {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// A fake steady clock far from the epoch (SlidingWindow reads the epoch as
// "never used").
struct FakeClock {
  Admission::Time now = Admission::Time{} + hours(1000);
  void advance(std::chrono::steady_clock::duration d) { now += d; }
};

TEST(SlidingWindowTest, AllowsTheLimitPerWindowAndSlides) {
  FakeClock clock;
  SlidingWindow w;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(w.try_add(clock.now, hours(1), 3)) << i;
  EXPECT_FALSE(w.try_add(clock.now, hours(1), 3));
  clock.advance(minutes(59));
  EXPECT_FALSE(w.try_add(clock.now, hours(1), 3));
  // One hour on, the three weigh fully; 20 minutes later a third of them
  // has slid out of the window: one more fits, not two.
  clock.advance(minutes(1));
  EXPECT_FALSE(w.try_add(clock.now, hours(1), 3));
  clock.advance(minutes(20));
  EXPECT_TRUE(w.try_add(clock.now, hours(1), 3));
  EXPECT_FALSE(w.try_add(clock.now, hours(1), 3));
  // Two windows on, nothing is left.
  clock.advance(hours(2));
  EXPECT_DOUBLE_EQ(w.count(clock.now, hours(1)), 0);
  EXPECT_TRUE(w.try_add(clock.now, hours(1), 1));
}

TEST(SlidingWindowTest, NeverLetsTwiceTheLimitThroughInOneWindow) {
  // A token bucket would: a full bucket at the end of one hour, then its
  // refill. Here, attempts every minute for three hours: any 60 minutes hold
  // at most the limit.
  FakeClock clock;
  SlidingWindow w;
  std::vector<int> accepted_at;
  for (int m = 0; m < 180; ++m) {
    if (w.try_add(clock.now, hours(1), 10)) accepted_at.push_back(m);
    clock.advance(minutes(1));
  }
  for (size_t i = 0; i < accepted_at.size(); ++i) {
    size_t in_hour = 0;
    for (size_t j = i; j < accepted_at.size() && accepted_at[j] < accepted_at[i] + 60; ++j)
      ++in_hour;
    EXPECT_LE(in_hour, 11u) << "from minute " << accepted_at[i];
  }
  EXPECT_GE(accepted_at.size(), 28u);  // and it does let the rate through
}

TEST(SlidingWindowTest, ZeroIsNoLimit) {
  FakeClock clock;
  SlidingWindow w;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(w.try_add(clock.now, minutes(1), 0));
}

TEST(ClientNetworkTest, Ipv4Slash24Ipv6Slash64) {
  EXPECT_EQ(client_network("192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(client_network("127.0.0.3"), "127.0.0.0/24");
  EXPECT_EQ(client_network("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(client_network("::ffff:198.51.100.9"), "198.51.100.0/24");
  EXPECT_EQ(client_network("unknown"), "unknown");
}

TEST(AdmissionTest, ConcurrentConnectionsPerAddressAndNetwork) {
  AdmissionLimits l;
  l.connections_per_ip = 2;
  l.connections_per_network = 3;
  Admission a(l);
  FakeClock c;
  EXPECT_FALSE(a.connect("192.0.2.1", c.now));
  EXPECT_FALSE(a.connect("192.0.2.1", c.now));
  std::optional<LimitRefusal> r = a.connect("192.0.2.1", c.now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, Limit::kConnectionsPerIp);
  EXPECT_EQ(r->key, "192.0.2.1");
  EXPECT_EQ(r->value, 3u);
  EXPECT_EQ(r->max, 2u);
  Reply reply = r->reply("mx.test");
  EXPECT_EQ(reply.code, 421);
  EXPECT_EQ(reply.enhanced, "4.7.0");
  EXPECT_EQ(reply.lines[0], "mx.test Too many connections from your address, try again later");
  // Another address of the same /24: the network's third, then full.
  EXPECT_FALSE(a.connect("192.0.2.2", c.now));
  r = a.connect("192.0.2.3", c.now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, Limit::kConnectionsPerNetwork);
  EXPECT_EQ(r->key, "192.0.2.0/24");
  EXPECT_EQ(r->reply("mx.test").lines[0],
            "mx.test Too many connections from your network, try again later");
  // Another network is not affected; a closed connection frees its slot.
  EXPECT_FALSE(a.connect("198.51.100.1", c.now));
  a.disconnect("192.0.2.1", c.now);
  EXPECT_FALSE(a.connect("192.0.2.3", c.now));
  EXPECT_EQ(a.counters()[Limit::kConnectionsPerIp], 1u);
  EXPECT_EQ(a.counters()[Limit::kConnectionsPerNetwork], 1u);
}

TEST(AdmissionTest, ConnectionRateCountsRefusedAttempts) {
  AdmissionLimits l;
  l.connection_rate_per_ip = 3;
  l.connection_rate_per_network = 5;
  Admission a(l);
  FakeClock c;
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(a.connect("192.0.2.1", c.now)) << i;
    a.disconnect("192.0.2.1", c.now);
  }
  std::optional<LimitRefusal> r = a.connect("192.0.2.1", c.now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, Limit::kConnectionRatePerIp);
  EXPECT_EQ(r->reply("h").lines[0],
            "h Too many connections from your address this minute, try again later");
  // 192.0.2.1 made 4 attempts; the network's 5th is 192.0.2.2's first.
  EXPECT_FALSE(a.connect("192.0.2.2", c.now));
  r = a.connect("192.0.2.2", c.now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, Limit::kConnectionRatePerNetwork);
  // A client that keeps trying stays refused: each attempt counts.
  c.advance(seconds(50));
  EXPECT_TRUE(a.connect("192.0.2.1", c.now));
  // Two minutes of silence later it is welcome again.
  c.advance(minutes(2));
  EXPECT_FALSE(a.connect("192.0.2.1", c.now));
}

TEST(AdmissionTest, MessagesAndRecipientsPerHourPerAddressAndNetwork) {
  AdmissionLimits l;
  l.messages_per_hour_per_ip = 2;
  l.messages_per_hour_per_network = 3;
  l.recipients_per_hour_per_ip = 3;
  Admission a(l);
  FakeClock c;
  EXPECT_FALSE(a.mail("192.0.2.1", "", c.now));
  EXPECT_FALSE(a.mail("192.0.2.1", "", c.now));
  std::optional<LimitRefusal> r = a.mail("192.0.2.1", "", c.now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, Limit::kMessagesPerIp);
  Reply reply = r->reply("h");
  EXPECT_EQ(reply.code, 451);  // RFC 5321 4.3.2: MAIL has no 450
  EXPECT_EQ(reply.enhanced, "4.7.1");
  EXPECT_EQ(reply.lines[0], "Too many messages from your address this hour, try again later");
  EXPECT_FALSE(a.mail("192.0.2.9", "", c.now));
  r = a.mail("192.0.2.10", "", c.now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, Limit::kMessagesPerNetwork);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(a.rcpt("192.0.2.1", "", false, c.now));
  r = a.rcpt("192.0.2.1", "", false, c.now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, Limit::kRecipientsPerIp);
  EXPECT_EQ(r->reply("h").code, 450);
  EXPECT_EQ(r->value, 4u);
  // An exempt client ("" address) is not counted.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(a.mail("", "", c.now));
  c.advance(hours(2));
  EXPECT_FALSE(a.mail("192.0.2.1", "", c.now));
}

TEST(AdmissionTest, UserLimitsApplyFromAnyAddressAndRefusalsUseNothing) {
  AdmissionLimits l;
  l.messages_per_hour_per_user = 2;
  l.recipients_per_hour_per_user = 4;
  l.outbound_recipients_per_hour_per_user = 2;
  l.recipients_per_hour_per_ip = 100;
  Admission a(l);
  FakeClock c;
  EXPECT_FALSE(a.mail("", "me@example.test", c.now));  // exempt address, user counted
  EXPECT_FALSE(a.mail("192.0.2.1", "me@example.test", c.now));
  std::optional<LimitRefusal> r = a.mail("198.51.100.1", "me@example.test", c.now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, Limit::kMessagesPerUser);
  EXPECT_EQ(r->reply("h").lines[0],
            "Too many messages from <me@example.test> this hour, try again later");
  EXPECT_FALSE(a.mail("", "other@example.test", c.now));
  // Outbound: two, then refused while local recipients still go.
  EXPECT_FALSE(a.rcpt("192.0.2.1", "me@example.test", true, c.now));
  EXPECT_FALSE(a.rcpt("192.0.2.1", "me@example.test", true, c.now));
  r = a.rcpt("192.0.2.1", "me@example.test", true, c.now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, Limit::kOutboundRecipientsPerUser);
  EXPECT_EQ(r->reply("h").code, 450);
  EXPECT_FALSE(a.rcpt("192.0.2.1", "me@example.test", false, c.now));
  EXPECT_FALSE(a.rcpt("192.0.2.1", "me@example.test", false, c.now));
  r = a.rcpt("192.0.2.1", "me@example.test", false, c.now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->limit, Limit::kRecipientsPerUser);
  EXPECT_EQ(r->value, 5u);
  // The refused RCPTs were not counted against the address.
  EXPECT_EQ(a.counters()[Limit::kOutboundRecipientsPerUser], 1u);
  EXPECT_EQ(a.counters()[Limit::kRecipientsPerUser], 1u);
  EXPECT_EQ(a.counters()[Limit::kMessagesPerUser], 1u);
  EXPECT_EQ(a.counters()[Limit::kRecipientsPerIp], 0u);
}

TEST(AdmissionTest, NewLimitsApplyToCountsSoFar) {
  AdmissionLimits l;
  l.messages_per_hour_per_ip = 10;
  Admission a(l);
  FakeClock c;
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(a.mail("192.0.2.1", "", c.now));
  l.messages_per_hour_per_ip = 5;
  a.set_limits(l);
  EXPECT_TRUE(a.mail("192.0.2.1", "", c.now));
}

TEST(AdmissionTest, IdleEntriesExpire) {
  AdmissionLimits l;
  l.messages_per_hour_per_ip = 1;
  Admission a(l);
  FakeClock c;
  EXPECT_FALSE(a.mail("192.0.2.1", "u", c.now));
  EXPECT_EQ(a.clients_tracked(), 2u);  // address and network
  EXPECT_EQ(a.users_tracked(), 1u);
  c.advance(hours(2));
  EXPECT_FALSE(a.mail("", "", c.now));
  EXPECT_EQ(a.clients_tracked(), 0u);
  EXPECT_EQ(a.users_tracked(), 0u);
}

TEST(AdmissionTest, LiveConnectionsKeepTheirEntries) {
  AdmissionLimits l;
  l.connections_per_ip = 1;
  Admission a(l);
  FakeClock c;
  EXPECT_FALSE(a.connect("192.0.2.1", c.now));
  c.advance(hours(5));
  EXPECT_FALSE(a.mail("", "", c.now));  // expiry runs
  EXPECT_TRUE(a.connect("192.0.2.1", c.now));
  a.disconnect("192.0.2.1", c.now);
  EXPECT_FALSE(a.connect("192.0.2.1", c.now));
}

TEST(AdmissionTest, AFloodOfAddressesStaysWithinTheCap) {
  AdmissionLimits l;
  l.connections_per_ip = 1;
  l.messages_per_hour_per_ip = 1;
  l.max_entries = 100;
  Admission a(l);
  FakeClock c;
  // Ten live connections: pinned, never evicted.
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(a.connect("198.51.100." + std::to_string(i), c.now));
  // 10,000 distinct /24s, one message each, within one hour.
  for (int i = 0; i < 10000; ++i) {
    std::string ip = "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1";
    ASSERT_FALSE(a.mail(ip, "", c.now)) << ip;
    ASSERT_LE(a.clients_tracked(), 100u);
    c.advance(std::chrono::milliseconds(100));
  }
  EXPECT_GT(a.counters().evicted, 19000u);
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(a.connect("198.51.100." + std::to_string(i), c.now)) << i;
  // The most recent entries are still there and still limit.
  EXPECT_TRUE(a.mail("10.39.15.1", "", c.now));
}

}  // namespace
}  // namespace tern
