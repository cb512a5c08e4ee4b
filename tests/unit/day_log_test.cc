// fs/day_log.h: the per-UTC-day files under the DMARC aggregate and TLS-RPT
// logs: where a line goes, what reading gives back (torn lines included),
// the reporter's markers and the pruning of old days.
#include "fs/day_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "testlib.h"

namespace tern {
namespace {

using testlib::slurp;
using testlib::TempDir;

// 2024-03-10 00:00:00 UTC.
constexpr int64_t kDay = 1710028800;

void Write(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

// Every line read_day hands over; `keep` refuses those starting with "x".
std::vector<std::string> Lines(const std::string& dir, const std::string& day, size_t* refused) {
  std::vector<std::string> out;
  *refused = read_day(dir, day, [&out](std::string_view line) {
    out.emplace_back(line);
    return line.empty() || line[0] != 'x';
  });
  return out;
}

TEST(DayLog, DayBoundariesAreUtc) {
  EXPECT_EQ(utc_day(kDay - 1), "2024-03-09");
  EXPECT_EQ(utc_day(kDay), "2024-03-10");
  EXPECT_EQ(utc_day(kDay + 86399), "2024-03-10");
  EXPECT_EQ(utc_day(kDay + 86400), "2024-03-11");
  EXPECT_EQ(utc_day(0), "1970-01-01");
  EXPECT_EQ(day_start("2024-03-10"), kDay);
  EXPECT_EQ(day_start("2024-02-29"), kDay - 10 * 86400);  // a leap day
  EXPECT_FALSE(day_start("2023-02-29"));
  EXPECT_FALSE(day_start("2024-04-31"));
  EXPECT_FALSE(day_start("2024-00-10"));
  EXPECT_FALSE(day_start("2024-3-10"));
  EXPECT_FALSE(day_start("2024-03-10.sent"));
  EXPECT_FALSE(day_start(""));
}

TEST(DayLog, AppendsEachLineToItsUtcDayFile) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/not/yet/there";
  DayLog log(dir);
  EXPECT_EQ(log.dir(), dir);
  ASSERT_TRUE(log.append(kDay - 1, "last second of the 9th").ok());
  ASSERT_TRUE(log.append(kDay, "first of the 10th").ok());
  ASSERT_TRUE(log.append(kDay + 86400, "the 11th").ok());
  ASSERT_TRUE(log.append(kDay + 86399, "back to the 10th").ok());  // reopens that file
  EXPECT_EQ(slurp(dir + "/2024-03-09"), "last second of the 9th\n");
  EXPECT_EQ(slurp(dir + "/2024-03-10"), "first of the 10th\nback to the 10th\n");
  EXPECT_EQ(slurp(dir + "/2024-03-11"), "the 11th\n");

  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  ASSERT_EQ(::stat((dir + "/2024-03-10").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0137, 0u) << "at most 0640";

  // Another writer (a second DayLog, as `tern tls-rpt record` beside the
  // server) appends to the same file, never over it.
  DayLog other(dir);
  ASSERT_TRUE(other.append(kDay + 5, "from another writer").ok());
  ASSERT_TRUE(log.append(kDay + 6, "and the first again").ok());
  EXPECT_EQ(slurp(dir + "/2024-03-10"),
            "first of the 10th\nback to the 10th\nfrom another writer\nand the first again\n");
}

TEST(DayLog, OpenErrorIsTransient) {
  TempDir tmp;
  Write(tmp.path() + "/file", "not a directory");
  DayLog log(tmp.path() + "/file");
  const Status s = log.append(kDay, "line");
  EXPECT_EQ(s.kind(), Status::Kind::kTransient);
  EXPECT_NE(s.message().find("cannot open " + tmp.path() + "/file/2024-03-10"), std::string::npos)
      << s.message();
}

TEST(DayLog, ConcurrentAppendsKeepLinesWhole) {
  TempDir tmp;
  DayLog log(tmp.path());
  constexpr int kThreads = 4, kLines = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < kLines; ++i) {
        // Alternate days so the threads also reopen the file under each other.
        const int64_t time = kDay + (i % 2) * 86400;
        ASSERT_TRUE(log.append(time, "line " + std::to_string(t) + std::string(100, 'a')).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  size_t lines = 0;
  for (const char* day : {"2024-03-10", "2024-03-11"}) {
    const size_t refused = read_day(tmp.path(), day, [&lines](std::string_view line) {
      ++lines;
      return line.size() == 106 && line.substr(0, 5) == "line " &&
             line.substr(6) == std::string(100, 'a');
    });
    EXPECT_EQ(refused, 0u) << day;
  }
  EXPECT_EQ(lines, static_cast<size_t>(kThreads * kLines));
}

TEST(DayLog, ReadDayHandsOverCompleteLinesAndCountsRefusals) {
  TempDir tmp;
  Write(tmp.path() + "/2024-03-10", "one\nxbad\n\ntwo\n");
  size_t refused = 99;
  EXPECT_EQ(Lines(tmp.path(), "2024-03-10", &refused),
            (std::vector<std::string>{"one", "xbad", "", "two"}));
  EXPECT_EQ(refused, 1u);

  // A missing file has no lines.
  EXPECT_TRUE(Lines(tmp.path(), "2024-03-11", &refused).empty());
  EXPECT_EQ(refused, 0u);
}

TEST(DayLog, TornLastLineAfterACrashIsSkipped) {
  TempDir tmp;
  // A crash (or a full disk) in the middle of a write leaves a last line
  // without its "\n": it is never handed over, but counted.
  Write(tmp.path() + "/2024-03-10", "one\ntwo\nthr");
  size_t refused = 0;
  EXPECT_EQ(Lines(tmp.path(), "2024-03-10", &refused), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(refused, 1u);

  // What comes after the restart is appended to the torn fragment, and the
  // two make one line, which the caller's parser judges (it has always been
  // so: appending does not look for a torn end); later lines read as usual.
  DayLog log(tmp.path());
  ASSERT_TRUE(log.append(kDay, "xfour").ok());
  ASSERT_TRUE(log.append(kDay, "five").ok());
  EXPECT_EQ(Lines(tmp.path(), "2024-03-10", &refused),
            (std::vector<std::string>{"one", "two", "thrxfour", "five"}));
  EXPECT_EQ(refused, 0u);  // Lines() refuses only a leading "x": "thrxfour" is taken
}

TEST(DayLog, ListsDaysAndMarkersOnly) {
  TempDir tmp;
  const std::string d = tmp.path();
  EXPECT_TRUE(list_days(d + "/missing").all.empty());
  for (const char* name : {"2024-03-08", "2024-03-08.sent", "2024-03-09", "2024-03-09.partial",
                           "2024-03-07.sent", "2024-03-10.tmp", "2024-02-30", "README", "2024"}) {
    Write(d + "/" + name, "");
  }
  const DayFiles l = list_days(d);
  EXPECT_EQ(l.days, (std::set<std::string>{"2024-03-08", "2024-03-09"}));
  EXPECT_EQ(l.sent, (std::set<std::string>{"2024-03-07", "2024-03-08"}));
  EXPECT_EQ(l.all, (std::set<std::string>{"2024-03-07", "2024-03-08", "2024-03-09"}));
}

TEST(DayLog, PartialAndSentMarkers) {
  TempDir tmp;
  const std::string d = tmp.path();
  EXPECT_TRUE(read_partial(d, "2024-03-10").empty());
  ASSERT_TRUE(add_partial(d, "2024-03-10", "1710028800.example.com@mx.example.net"));
  ASSERT_TRUE(add_partial(d, "2024-03-10", "id2 mailto:tlsrpt@example.com"));
  ASSERT_TRUE(add_partial(d, "2024-03-10", "id2 mailto:tlsrpt@example.com"));
  EXPECT_EQ(read_partial(d, "2024-03-10"),
            (std::set<std::string>{"1710028800.example.com@mx.example.net",
                                   "id2 mailto:tlsrpt@example.com"}));
  // Marked sent: the marker says when, the partial list goes.
  ASSERT_TRUE(mark_sent(d, "2024-03-10", kDay + 86400 + 3600));
  EXPECT_EQ(slurp(d + "/2024-03-10.sent"), "done 1710118800\n");
  EXPECT_FALSE(Exists(d + "/2024-03-10.partial"));
  EXPECT_TRUE(read_partial(d, "2024-03-10").empty());

  // No directory: nothing written, false.
  EXPECT_FALSE(add_partial(d + "/missing", "2024-03-10", "x"));
  EXPECT_FALSE(mark_sent(d + "/missing", "2024-03-10", kDay));
}

TEST(DayLog, PrunesDaysOlderThanKeepDaysWithTheirMarkers) {
  TempDir tmp;
  const std::string d = tmp.path();
  // Today is 2024-03-31; keep 14 days: the 17th (14 days back) stays, the
  // 16th goes, with both markers; names that are not ours stay.
  for (const char* name : {"2024-03-16", "2024-03-16.sent", "2024-03-16.partial", "2024-03-17",
                           "2024-03-17.sent", "2024-03-30", "2024-03-16.tmp", "README"}) {
    Write(d + "/" + name, "x\n");
  }
  const int64_t now = kDay + 21 * 86400 + 43200;  // 2024-03-31 12:00
  ASSERT_EQ(utc_day(now), "2024-03-31");
  prune_days(d, list_days(d).all, now, 14);
  for (const char* gone : {"2024-03-16", "2024-03-16.sent", "2024-03-16.partial"}) {
    EXPECT_FALSE(Exists(d + "/" + gone)) << gone;
  }
  for (const char* kept :
       {"2024-03-17", "2024-03-17.sent", "2024-03-30", "2024-03-16.tmp", "README"}) {
    EXPECT_TRUE(Exists(d + "/" + kept)) << kept;
  }
  // Only the days it is given.
  prune_days(d, {"2024-03-30"}, now + 30 * 86400, 14);
  EXPECT_FALSE(Exists(d + "/2024-03-30"));
  EXPECT_TRUE(Exists(d + "/2024-03-17"));
}

}  // namespace
}  // namespace tern
