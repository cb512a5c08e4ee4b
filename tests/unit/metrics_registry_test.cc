// The metrics registry and its text exposition format 0.0.4: what
// Prometheus and promtool read (integration/test_metrics.py scrapes the
// real thing).
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "metrics/registry.h"
#include "metrics/server_metrics.h"

namespace tern::metrics {
namespace {

TEST(MetricsRegistry, CounterWithLabels) {
  Registry r;
  auto& f = r.counter("tern_test_total", "A test counter.", {"kind", "code"});
  f.with({"smtp", "550"}).inc();
  f.with({"smtp", "550"}).inc(2);
  f.with({"submission", "421"}).inc();
  EXPECT_EQ(r.render(),
            "# HELP tern_test_total A test counter.\n"
            "# TYPE tern_test_total counter\n"
            "tern_test_total{kind=\"smtp\",code=\"550\"} 3\n"
            "tern_test_total{kind=\"submission\",code=\"421\"} 1\n");
}

TEST(MetricsRegistry, UnlabelledMetricShownFromTheStart) {
  Registry r;
  r.gauge("tern_b", "B.");
  r.counter("tern_a_total", "A.");
  // Sorted by name; a family without labels has its one child at once.
  EXPECT_EQ(r.render(),
            "# HELP tern_a_total A.\n# TYPE tern_a_total counter\ntern_a_total 0\n"
            "# HELP tern_b B.\n# TYPE tern_b gauge\ntern_b 0\n");
}

TEST(MetricsRegistry, LabelledFamilyWithoutChildrenHasOnlyItsHeader) {
  Registry r;
  r.counter("tern_x_total", "X.", {"a"});
  EXPECT_EQ(r.render(), "# HELP tern_x_total X.\n# TYPE tern_x_total counter\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  Registry r;
  r.gauge("tern_g", "Back\\slash and\nnewline \"kept\".", {"v"}).with({"a\"b\\c\nd"}).set(1.5);
  EXPECT_EQ(r.render(),
            "# HELP tern_g Back\\\\slash and\\nnewline \"kept\".\n"
            "# TYPE tern_g gauge\n"
            "tern_g{v=\"a\\\"b\\\\c\\nd\"} 1.5\n");
}

TEST(MetricsRegistry, FormatsSpecialValues) {
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
  EXPECT_EQ(format_value(1700000000), "1700000000");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(-2), "-2");
}

TEST(MetricsRegistry, Histogram) {
  Registry r;
  auto& h = r.histogram("tern_latency_seconds", "Latency.", {"dest"}, {1, 2.5});
  h.with({"local"}).observe(0.5);
  h.with({"local"}).observe(1);  // le is inclusive
  h.with({"local"}).observe(2);
  h.with({"local"}).observe(10);
  EXPECT_EQ(r.render(),
            "# HELP tern_latency_seconds Latency.\n"
            "# TYPE tern_latency_seconds histogram\n"
            "tern_latency_seconds_bucket{dest=\"local\",le=\"1\"} 2\n"
            "tern_latency_seconds_bucket{dest=\"local\",le=\"2.5\"} 3\n"
            "tern_latency_seconds_bucket{dest=\"local\",le=\"+Inf\"} 4\n"
            "tern_latency_seconds_sum{dest=\"local\"} 13.5\n"
            "tern_latency_seconds_count{dest=\"local\"} 4\n");
}

TEST(MetricsRegistry, SameNameReturnsSameFamilyOrThrows) {
  Registry r;
  auto& a = r.counter("tern_x_total", "X.", {"a"});
  EXPECT_EQ(&a, &r.counter("tern_x_total", "X.", {"a"}));
  EXPECT_THROW(r.counter("tern_x_total", "X.", {"b"}), std::logic_error);
  EXPECT_THROW(r.gauge("tern_x_total", "X.", {"a"}), std::logic_error);
  r.histogram("tern_h", "H.", {}, {1, 2});
  EXPECT_THROW(r.histogram("tern_h", "H.", {}, {1, 3}), std::logic_error);
}

TEST(MetricsRegistry, RefusesBadNamesAndLabelCounts) {
  Registry r;
  EXPECT_THROW(r.counter("tern-x", "X."), std::invalid_argument);
  EXPECT_THROW(r.counter("9x", "X."), std::invalid_argument);
  EXPECT_THROW(r.counter("tern_x", "X.", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.counter("tern_y", "X.", {"bad-label"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("tern_h", "H.", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("tern_h2", "H.", {}, {2, 1}), std::invalid_argument);
  auto& f = r.counter("tern_z_total", "Z.", {"a", "b"});
  EXPECT_THROW(f.with({"only one"}), std::invalid_argument);
}

TEST(MetricsRegistry, ConcurrentIncrementsAndChildCreation) {
  Registry r;
  auto& f = r.counter("tern_c_total", "C.", {"t"});
  auto& h = r.histogram("tern_h", "H.", {}, {1});
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& mine = f.with({std::to_string(t)});
      for (int i = 0; i < kEach; ++i) {
        mine.inc();
        f.with({"shared"}).inc();
        h.with({}).observe(0.5);
        if (i % 1000 == 0) (void)r.render();  // a scrape meanwhile
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(f.with({"shared"}).value(), uint64_t{kThreads * kEach});
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(f.with({std::to_string(t)}).value(), uint64_t{kEach});
  EXPECT_EQ(h.with({}).snapshot().cumulative.back(), uint64_t{kThreads * kEach});
}

TEST(ServerMetrics, CommandLabelIsBounded) {
  EXPECT_EQ(command_label("RCPT TO:<a@b>"), "RCPT");
  EXPECT_EQ(command_label("mail from:<>"), "MAIL");
  EXPECT_EQ(command_label("STARTTLS"), "STARTTLS");
  EXPECT_EQ(command_label(""), "none");
  EXPECT_EQ(command_label("X-ANYTHING-THE-CLIENT-WANTS"), "other");
}

TEST(ServerMetrics, RegisteredOnceWithTernNames) {
  ServerMetrics& m = server();
  EXPECT_EQ(&m, &server());
  const std::string text = registry().render();
  EXPECT_NE(text.find("# TYPE tern_connections_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE tern_delivery_latency_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("\ntern_tls_certificate_expiry_timestamp_seconds 0\n"), std::string::npos);
}

// The admission's counters (owned by the loop) reach the metrics as what
// they gained since the last publication.
TEST(ServerMetrics, PublishLimitsAddsWhatTheCountersGained) {
  ServerMetrics& m = server();
  Counter& user = m.limits.with({"messages_per_hour_per_user"});
  Counter& data = m.timeouts.with({"data"});
  LimitCounters c;
  c[Limit::kMessagesPerUser] = 5;
  c.data_timeouts = 1;
  publish_limits(c);
  const uint64_t user0 = user.value(), data0 = data.value();
  publish_limits(c);  // nothing new
  EXPECT_EQ(user.value(), user0);
  c[Limit::kMessagesPerUser] += 2;
  c.data_timeouts += 1;
  publish_limits(c);
  EXPECT_EQ(user.value() - user0, 2u);
  EXPECT_EQ(data.value() - data0, 1u);
}

}  // namespace
}  // namespace tern::metrics
