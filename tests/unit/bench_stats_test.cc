// What `tern bench` reports (src/bench/stats.h, report.h): nearest-rank
// percentiles, error keys, merged counters and the JSON contract that
// bench/run.sh reads.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "bench/report.h"
#include "bench/stats.h"

namespace tern::bench {
namespace {

TEST(BenchPercentileTest, NearestRank) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 50), 50);
  EXPECT_EQ(percentile(v, 90), 90);
  EXPECT_EQ(percentile(v, 99), 99);
  EXPECT_EQ(percentile(v, 100), 100);
  EXPECT_EQ(percentile(v, 0), 1);
  EXPECT_EQ(percentile(v, 99.5), 100);
  // Ten samples: p50 is the 5th, p90 the 9th, p99 the 10th.
  std::vector<double> ten{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(percentile(ten, 50), 5);
  EXPECT_EQ(percentile(ten, 90), 9);
  EXPECT_EQ(percentile(ten, 99), 10);
  EXPECT_EQ(percentile(ten, 91), 10);
}

TEST(BenchPercentileTest, SmallAndEmpty) {
  EXPECT_EQ(percentile({}, 50), 0);
  EXPECT_EQ(percentile({7}, 1), 7);
  EXPECT_EQ(percentile({7}, 99), 7);
  EXPECT_EQ(percentile({1, 2}, 50), 1);
  EXPECT_EQ(percentile({1, 2}, 51), 2);
}

TEST(BenchPercentileTest, SummarizeSorts) {
  std::vector<double> v{9, 1, 5, 3, 7, 2, 8, 4, 6, 10};
  const LatencySummary s = summarize(&v);
  EXPECT_EQ(s.count, 10u);
  EXPECT_EQ(s.p50, 5);
  EXPECT_EQ(s.p90, 9);
  EXPECT_EQ(s.p99, 10);
  EXPECT_EQ(s.max, 10);
  EXPECT_DOUBLE_EQ(s.mean, 5.5);
  EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
  std::vector<double> none;
  EXPECT_EQ(summarize(&none).count, 0u);
}

TEST(BenchErrorKeyTest, ReplyCodeOrCause) {
  Failure f;
  f.cause = Failure::Cause::kReply;
  f.phase = Phase::kRcpt;
  f.reply = Reply(451, "4.3.0", "try later");
  EXPECT_EQ(error_key(f), "451");
  Failure c;
  c.cause = Failure::Cause::kConnection;
  c.phase = Phase::kConnect;
  c.detail = "cannot connect to 127.0.0.1:1: Connection refused";
  EXPECT_EQ(error_key(c), "connect");
  c.phase = Phase::kData;
  c.detail = "timed out waiting for the server";
  EXPECT_EQ(error_key(c), "timeout");
  c.detail = "connection closed by the server";
  EXPECT_EQ(error_key(c), "connection");
  Failure t;
  t.cause = Failure::Cause::kTls;
  t.phase = Phase::kStartTls;
  EXPECT_EQ(error_key(t), "tls");
  Failure p;
  p.cause = Failure::Cause::kProtocol;
  EXPECT_EQ(error_key(p), "protocol");
}

TEST(BenchStatsTest, MergeAddsUp) {
  Stats a, b;
  a.messages_ok = 3;
  a.connections = 1;
  a.errors["451"] = 2;
  a.latency_ms = {1, 2, 3};
  b.messages_ok = 2;
  b.messages_failed = 1;
  b.connections = 2;
  b.tls_handshakes = 2;
  b.errors["451"] = 1;
  b.errors["connect"] = 1;
  b.latency_ms = {4, 5};
  a.merge(std::move(b));
  EXPECT_EQ(a.messages_ok, 5u);
  EXPECT_EQ(a.messages_failed, 1u);
  EXPECT_EQ(a.connections, 3u);
  EXPECT_EQ(a.tls_handshakes, 2u);
  EXPECT_EQ(a.errors["451"], 3u);
  EXPECT_EQ(a.errors["connect"], 1u);
  EXPECT_EQ(a.latency_ms.size(), 5u);
}

// The keys bench/run.sh reads; renaming one breaks the harness.
TEST(BenchReportTest, LoadJsonContract) {
  BenchOptions o;
  o.messages = 10;
  Stats s;
  s.messages_ok = 8;
  s.messages_failed = 1;
  s.connections = 4;
  s.errors["451"] = 1;
  for (int i = 1; i <= 8; ++i) s.latency_ms.push_back(i);
  const LoadReport r = make_load_report(o, &s, 2.0, true, 20000);
  EXPECT_EQ(r.not_attempted, 1u);
  EXPECT_DOUBLE_EQ(r.messages_per_s(), 4.0);
  EXPECT_DOUBLE_EQ(r.connections_per_s(), 2.0);
  const auto j = nlohmann::json::parse(to_json(r));
  EXPECT_EQ(j["mode"], "load");
  EXPECT_EQ(j["messages"], 10);
  EXPECT_EQ(j["size"], 1024);
  EXPECT_EQ(j["messages_ok"], 8);
  EXPECT_EQ(j["messages_failed"], 1);
  EXPECT_EQ(j["not_attempted"], 1);
  EXPECT_DOUBLE_EQ(j["messages_per_s"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(j["connections_per_s"].get<double>(), 2.0);
  EXPECT_EQ(j["tls_handshakes"], 0);
  EXPECT_TRUE(j.contains("tls_handshakes_per_s"));
  EXPECT_EQ(j["deadline_hit"], true);
  EXPECT_EQ(j["latency_ms"]["p50"], 4);
  EXPECT_EQ(j["latency_ms"]["p90"], 8);
  EXPECT_EQ(j["latency_ms"]["p99"], 8);
  EXPECT_EQ(j["latency_ms"]["max"], 8);
  EXPECT_EQ(j["errors"]["451"], 1);
  EXPECT_EQ(j["fd_limit"], 20000);
  EXPECT_NE(to_text(r).find("4.0 messages/s"), std::string::npos);
}

TEST(BenchReportTest, IdleJsonContract) {
  IdleReport r;
  r.requested = 1000;
  r.banners = 999;
  r.ready = 998;
  r.errors["connect"] = 1;
  const auto j = nlohmann::json::parse(to_json(r));
  EXPECT_EQ(j["mode"], "idle");
  EXPECT_EQ(j["requested"], 1000);
  EXPECT_EQ(j["banners"], 999);
  EXPECT_EQ(j["ready"], 998);
  EXPECT_EQ(j["errors"]["connect"], 1);
}

}  // namespace
}  // namespace tern::bench
