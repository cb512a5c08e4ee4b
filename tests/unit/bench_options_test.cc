// `tern bench`'s command line (src/bench/options.h), parsed by CLI11 as
// the binary parses it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench/options.h"

namespace tern::bench {
namespace {

// Parses `args` (without the program name) and finishes the options;
// *error gets the CLI11 or finish_bench_options() complaint.
BenchOptions Parse(std::vector<std::string> args, std::string* error = nullptr) {
  CLI::App app("test");
  BenchOptions o;
  add_bench_options(app, &o);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them reversed
  std::string e;
  try {
    app.parse(reversed);
    e = finish_bench_options(&o);
  } catch (const CLI::ParseError& ex) {
    e = std::string("parse: ") + ex.what();
  }
  if (error) {
    *error = e;
  } else {
    EXPECT_EQ(e, "");
  }
  return o;
}

std::string ErrorOf(std::vector<std::string> args) {
  std::string e;
  Parse(std::move(args), &e);
  return e;
}

TEST(BenchOptionsTest, Defaults) {
  const BenchOptions o = Parse({});
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 2525);
  EXPECT_EQ(o.sessions, 10);
  EXPECT_EQ(o.messages, 1000u);
  EXPECT_EQ(o.size, 1024u);
  EXPECT_EQ(o.per_connection, 0u);
  EXPECT_TRUE(o.pipelining);
  EXPECT_EQ(o.tls, TlsMode::kNone);
  EXPECT_FALSE(o.insecure);
  EXPECT_EQ(o.rcpts, 1);
  EXPECT_EQ(o.threads, 1);
  EXPECT_FALSE(o.json);
  EXPECT_EQ(o.idle, 0u);
}

TEST(BenchOptionsTest, EveryFlag) {
  const BenchOptions o = Parse({"--host",
                                "::1",
                                "--port",
                                "2526",
                                "--sessions",
                                "100",
                                "--messages",
                                "5000",
                                "--size",
                                "100K",
                                "--per-connection",
                                "1",
                                "--pipelining",
                                "off",
                                "--tls",
                                "starttls",
                                "--insecure",
                                "--from",
                                "a@b.test",
                                "--to",
                                "c@d.test",
                                "--rcpts",
                                "3",
                                "--timeout",
                                "5",
                                "--max-seconds",
                                "60",
                                "--threads",
                                "2",
                                "--json",
                                "--helo",
                                "client.test"});
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 2526);
  EXPECT_EQ(o.sessions, 100);
  EXPECT_EQ(o.messages, 5000u);
  EXPECT_EQ(o.size, 102400u);
  EXPECT_EQ(o.per_connection, 1u);
  EXPECT_FALSE(o.pipelining);
  EXPECT_EQ(o.tls, TlsMode::kStartTls);
  EXPECT_TRUE(o.insecure);
  EXPECT_EQ(o.from, "a@b.test");
  EXPECT_EQ(o.to, "c@d.test");
  EXPECT_EQ(o.rcpts, 3);
  EXPECT_EQ(o.timeout, 5);
  EXPECT_EQ(o.max_seconds, 60);
  EXPECT_EQ(o.threads, 2);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.helo, "client.test");
  EXPECT_EQ(Parse({"--tls", "tls"}).tls, TlsMode::kImplicit);
  const BenchOptions a =
      Parse({"--tls", "starttls", "--user", "u@bench.test", "--password", "secret"});
  EXPECT_EQ(a.user, "u@bench.test");
  EXPECT_EQ(a.password, "secret");
  EXPECT_EQ(Parse({"--size", "2048"}).size, 2048u);
}

TEST(BenchOptionsTest, IdleMode) {
  const BenchOptions o = Parse({"--idle", "10000", "--hold", "20", "--sessions", "200"});
  EXPECT_EQ(o.idle, 10000u);
  EXPECT_EQ(o.hold, 20);
  EXPECT_EQ(o.sessions, 200);
}

TEST(BenchOptionsTest, BadValues) {
  EXPECT_NE(ErrorOf({"--host", "localhost"}).find("--host must be an IP address"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sessions", "0"}).find("--sessions"), std::string::npos);
  EXPECT_NE(ErrorOf({"--messages", "0"}).find("--messages"), std::string::npos);
  EXPECT_NE(ErrorOf({"--size", "1.5K"}).find("--size"), std::string::npos);
  EXPECT_NE(ErrorOf({"--size", "10"}).find("--size must be at least"), std::string::npos);
  EXPECT_NE(ErrorOf({"--rcpts", "0"}).find("--rcpts"), std::string::npos);
  EXPECT_NE(ErrorOf({"--timeout", "0"}).find("--timeout"), std::string::npos);
  EXPECT_NE(ErrorOf({"--max-seconds", "0"}).find("--max-seconds"), std::string::npos);
  EXPECT_NE(ErrorOf({"--threads", "0"}).find("--threads"), std::string::npos);
  EXPECT_NE(ErrorOf({"--from", "not an address"}).find("--from"), std::string::npos);
  EXPECT_NE(ErrorOf({"--to", "x"}).find("--to"), std::string::npos);
  EXPECT_NE(ErrorOf({"--pipelining", "maybe"}).find("parse:"), std::string::npos);
  EXPECT_NE(ErrorOf({"--tls", "ssl"}).find("parse:"), std::string::npos);
  EXPECT_NE(ErrorOf({"--port", "70000"}).find("parse:"), std::string::npos);
  EXPECT_NE(ErrorOf({"--port", "0"}).find("--port"), std::string::npos);
  EXPECT_NE(ErrorOf({"--user", "u@bench.test"}).find("--user needs --tls"), std::string::npos);
}

// The smallest message the header allows is fine; one octet less is not.
TEST(BenchOptionsTest, SmallestSize) {
  std::string e = ErrorOf({"--size", "10"});
  const size_t at = e.find("at least ");
  ASSERT_NE(at, std::string::npos);
  const std::string least = e.substr(at + 9, e.find(' ', at + 9) - at - 9);
  EXPECT_EQ(Parse({"--size", least}).size, std::stoull(least));
}

}  // namespace
}  // namespace tern::bench
