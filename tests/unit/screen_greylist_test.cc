#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "screen/greylist.h"
#include "screen/greylist_store.h"

namespace tern {
namespace {

constexpr int64_t T0 = 1700000000;
const std::string kNet = "192.0.2.0/24";

GreylistOptions options() {
  GreylistOptions o;
  o.delay = 300;
  o.retry_window = 3600;
  o.expiry = 86400 * 10;
  o.auto_allow_after = 3;
  o.max_entries = 100;
  return o;
}

GreylistResult check(Greylist& g, int64_t now, const std::string& from = "<a@x.test>",
                     const std::string& to = "<b@y.test>", const std::string& net = kNet) {
  std::string records;
  return g.check(net, from, to, now, &records).result;
}

TEST(GreylistNetwork, IsTheSlash24OrSlash64) {
  EXPECT_EQ(greylist_network("192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(greylist_network("::ffff:192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(greylist_network("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(greylist_network("unknown"), "");
}

TEST(Greylist, DefersFirstThenPassesAfterTheDelay) {
  Greylist g(options());
  std::string records;
  GreylistDecision d = g.check(kNet, "<a@x.test>", "<b@y.test>", T0, &records);
  EXPECT_EQ(d.result, GreylistResult::kNew);
  EXPECT_TRUE(d.deferred());
  EXPECT_EQ(d.retry_in, 300);
  EXPECT_EQ(records, "t 1700000000 1700000000 0 192.0.2.0/24 <a@x.test> <b@y.test>\n");
  records.clear();
  d = g.check(kNet, "<a@x.test>", "<b@y.test>", T0 + 100, &records);
  EXPECT_EQ(d.result, GreylistResult::kEarly);
  EXPECT_EQ(d.retry_in, 200);
  EXPECT_EQ(records, "");  // nothing changed
  d = g.check(kNet, "<a@x.test>", "<b@y.test>", T0 + 300, &records);
  EXPECT_EQ(d.result, GreylistResult::kPassed);
  EXPECT_FALSE(d.deferred());
  EXPECT_EQ(records,
            "t 1700000000 1700000300 1 192.0.2.0/24 <a@x.test> <b@y.test>\n"
            "n 1 1700000300 192.0.2.0/24\n");
  EXPECT_EQ(check(g, T0 + 5000), GreylistResult::kKnown);
  // Another sender, recipient or network is another triplet.
  EXPECT_EQ(check(g, T0 + 5000, "<other@x.test>"), GreylistResult::kNew);
  EXPECT_EQ(check(g, T0 + 5000, "<a@x.test>", "<c@y.test>"), GreylistResult::kNew);
  EXPECT_EQ(check(g, T0 + 5000, "<a@x.test>", "<b@y.test>", "198.51.100.0/24"),
            GreylistResult::kNew);
}

TEST(Greylist, ALateRetryStartsOverAndUnusedEntriesExpire) {
  Greylist g(options());
  EXPECT_EQ(check(g, T0), GreylistResult::kNew);
  EXPECT_EQ(check(g, T0 + 3601), GreylistResult::kNew);  // past the retry window
  EXPECT_EQ(check(g, T0 + 3700), GreylistResult::kEarly);
  EXPECT_EQ(check(g, T0 + 3901), GreylistResult::kPassed);
  EXPECT_EQ(check(g, T0 + 3901 + 86400 * 10), GreylistResult::kKnown);  // used: kept
  // Unused for longer than the expiry: greylisted again.
  EXPECT_EQ(check(g, T0 + 3901 + 86400 * 30), GreylistResult::kNew);
  // Pruned: the network unseen for the expiry goes, the fresh triplet stays
  // until its retry window has passed.
  EXPECT_EQ(g.size(), 2u);
  g.prune(T0 + 3901 + 86400 * 30 + 100);
  EXPECT_EQ(g.size(), 1u);
  g.prune(T0 + 3901 + 86400 * 30 + 3601);
  EXPECT_EQ(g.size(), 0u);
}

TEST(Greylist, ANetworkThatRetriesWellIsAllowed) {
  Greylist g(options());
  for (int i = 0; i < 3; ++i) {
    std::string to = "<r" + std::to_string(i) + "@y.test>";
    EXPECT_EQ(check(g, T0 + i, "<a@x.test>", to), GreylistResult::kNew);
    EXPECT_EQ(check(g, T0 + 400 + i, "<a@x.test>", to), GreylistResult::kPassed);
  }
  // Three passes: the whole /24 is allowed, for any triplet.
  EXPECT_EQ(check(g, T0 + 500, "<new@z.test>", "<q@y.test>"), GreylistResult::kAllowed);
  EXPECT_EQ(check(g, T0 + 500, "<new@z.test>", "<q@y.test>", "198.51.100.0/24"),
            GreylistResult::kNew);
  // Until it has not been seen for the expiry.
  EXPECT_EQ(check(g, T0 + 500 + 86400 * 11, "<n2@z.test>", "<q@y.test>"), GreylistResult::kNew);
  // 0 disables auto-allowing.
  GreylistOptions o = options();
  o.auto_allow_after = 0;
  Greylist never(o);
  for (int i = 0; i < 5; ++i) {
    std::string to = "<r" + std::to_string(i) + "@y.test>";
    check(never, T0, "<a@x.test>", to);
    EXPECT_EQ(check(never, T0 + 400, "<a@x.test>", to), GreylistResult::kPassed);
  }
  EXPECT_EQ(check(never, T0 + 500, "<z@x.test>"), GreylistResult::kNew);
}

TEST(Greylist, StaysWithinMaxEntries) {
  GreylistOptions o = options();
  o.max_entries = 10;
  Greylist g(o);
  for (int i = 0; i < 50; ++i) check(g, T0 + i, "<s" + std::to_string(i) + "@x.test>");
  EXPECT_EQ(g.size(), 10u);
  // The newest are kept: the last one retried passes.
  EXPECT_EQ(check(g, T0 + 400, "<s49@x.test>"), GreylistResult::kPassed);
  EXPECT_EQ(check(g, T0 + 400, "<s0@x.test>"), GreylistResult::kNew);
}

TEST(Greylist, RecordsReplayToTheSameState) {
  Greylist g(options());
  std::string log;
  g.check(kNet, "<a b@x.test>", "<%@y.test>", T0, &log);  // escaped: space and %
  g.check(kNet, "<c@x.test>", "<d@y.test>", T0, &log);
  g.check(kNet, "<c@x.test>", "<d@y.test>", T0 + 400, &log);
  EXPECT_NE(log.find("<a%20b@x.test> <%25@y.test>"), std::string::npos) << log;
  Greylist replayed(options());
  std::istringstream in(log + "garbage line\nt 1 2\n");
  std::string line;
  int bad = 0;
  while (std::getline(in, line)) bad += !replayed.apply(line);
  EXPECT_EQ(bad, 2);
  EXPECT_EQ(replayed.snapshot(), g.snapshot());
  std::string records;
  EXPECT_EQ(replayed.check(kNet, "<a b@x.test>", "<%@y.test>", T0 + 301, &records).result,
            GreylistResult::kPassed);
  EXPECT_EQ(replayed.check(kNet, "<c@x.test>", "<d@y.test>", T0 + 500, &records).result,
            GreylistResult::kKnown);
  // "-" lines forget.
  EXPECT_TRUE(replayed.apply("- t 192.0.2.0/24 <c@x.test> <d@y.test>"));
  EXPECT_TRUE(replayed.apply("- n 192.0.2.0/24"));
  EXPECT_EQ(replayed.check(kNet, "<c@x.test>", "<d@y.test>", T0 + 600, &records).result,
            GreylistResult::kNew);
}

class GreylistStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-greylist-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/greylist.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string read() {
    std::ifstream f(path_);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  std::string dir_, path_;
};

TEST_F(GreylistStoreTest, StateSurvivesARestart) {
  std::string error;
  {
    GreylistStore s(path_, options());
    ASSERT_TRUE(s.open(T0).ok());  // no file yet: empty
    EXPECT_EQ(s.check(kNet, "<a@x.test>", "<b@y.test>", T0, &error).result, GreylistResult::kNew);
    EXPECT_EQ(error, "");
  }
  EXPECT_EQ(read(),
            "# tern greylist 1\nt 1700000000 1700000000 0 192.0.2.0/24 <a@x.test> <b@y.test>\n");
  {
    GreylistStore s(path_, options());
    ASSERT_TRUE(s.open(T0 + 10).ok());
    EXPECT_EQ(s.check(kNet, "<a@x.test>", "<b@y.test>", T0 + 100, &error).result,
              GreylistResult::kEarly);
    EXPECT_EQ(s.check(kNet, "<a@x.test>", "<b@y.test>", T0 + 300, &error).result,
              GreylistResult::kPassed);
  }
  {
    // A torn last line (a crash mid-write) is skipped.
    std::ofstream(path_, std::ios::app) << "t 17000";
    GreylistStore s(path_, options());
    ASSERT_TRUE(s.open(T0 + 400).ok());
    EXPECT_EQ(s.size(), 2u);  // the triplet and its network
    EXPECT_EQ(s.check(kNet, "<a@x.test>", "<b@y.test>", T0 + 500, &error).result,
              GreylistResult::kKnown);
  }
  // Compacted on open: one line per entry, expired ones gone.
  EXPECT_EQ(read(),
            "# tern greylist 1\nn 1 1700000300 192.0.2.0/24\n"
            "t 1700000000 1700000300 1 192.0.2.0/24 <a@x.test> <b@y.test>\n");
  GreylistStore late(path_, options());
  ASSERT_TRUE(late.open(T0 + 86400 * 20).ok());
  EXPECT_EQ(late.size(), 0u);
  EXPECT_EQ(read(), "# tern greylist 1\n");
}

TEST_F(GreylistStoreTest, TheLogIsCompactedAsItGrows) {
  GreylistStore s(path_, options());
  ASSERT_TRUE(s.open(T0).ok());
  std::string error;
  // The same triplet cycling through its window writes a line each time.
  for (int i = 0; i < 3000; ++i)
    s.check(kNet, "<a@x.test>", "<b@y.test>", T0 + int64_t{i} * 3601, &error);
  EXPECT_EQ(error, "");
  std::string text = read();
  EXPECT_LT(std::count(text.begin(), text.end(), '\n'), 1100);
}

TEST_F(GreylistStoreTest, AnUnwritableLogKeepsGreylistingInMemory) {
  std::filesystem::create_directory(path_);  // a directory where the file should be
  GreylistStore s(path_, options());
  EXPECT_FALSE(s.open(T0).ok());
  std::string error;
  EXPECT_EQ(s.check(kNet, "<a@x.test>", "<b@y.test>", T0, &error).result, GreylistResult::kNew);
  EXPECT_NE(error, "");
  EXPECT_EQ(s.check(kNet, "<a@x.test>", "<b@y.test>", T0 + 300, &error).result,
            GreylistResult::kPassed);
}

}  // namespace
}  // namespace tern
