// queue/free_space.h: the room left on the spool's file system, measured at
// most once a second, with a probe and a clock under the test's control.
#include "queue/free_space.h"

#include <gtest/gtest.h>

#include <limits>

namespace tern {
namespace {

struct Fake {
  std::optional<uint64_t> available = 10'000;
  int64_t now = 1'000'000;
  int probes = 0;
  FreeSpace make() {
    return FreeSpace(
        "/spool",
        [this](const std::string& dir) {
          EXPECT_EQ(dir, "/spool");
          ++probes;
          return available;
        },
        [this] { return now; });
  }
};

TEST(FreeSpaceTest, LowBelowTheMinimumPlusTheDeclaredSize) {
  Fake f;
  FreeSpace fs = f.make();
  EXPECT_FALSE(fs.low(9'000, 0));
  EXPECT_FALSE(fs.low(9'000, 1'000));
  EXPECT_TRUE(fs.low(9'000, 1'001));
  EXPECT_TRUE(fs.low(10'001, 0));
  EXPECT_TRUE(fs.low(1, std::numeric_limits<uint64_t>::max()));  // no overflow
}

TEST(FreeSpaceTest, MeasuredAtMostOnceASecond) {
  Fake f;
  FreeSpace fs = f.make();
  EXPECT_FALSE(fs.low(5'000, 0));
  f.available = 100;
  f.now += 999'999;
  EXPECT_FALSE(fs.low(5'000, 0));  // the cached reading
  EXPECT_EQ(f.probes, 1);
  f.now += 1;
  EXPECT_TRUE(fs.low(5'000, 0));
  EXPECT_EQ(f.probes, 2);
  f.now -= 10'000'000;  // the clock went back: measure again
  f.available = 10'000;
  EXPECT_FALSE(fs.low(5'000, 0));
  EXPECT_EQ(f.probes, 3);
}

TEST(FreeSpaceTest, OffWhenZeroOrUnknown) {
  Fake f;
  f.available = 0;
  FreeSpace fs = f.make();
  EXPECT_FALSE(fs.low(0, 1'000));
  EXPECT_EQ(f.probes, 0);  // not even measured
  f.available = std::nullopt;
  EXPECT_FALSE(fs.low(1'000, 0));
}

TEST(FreeSpaceTest, StatvfsOfARealDirectory) {
  EXPECT_TRUE(FreeSpace::statvfs_available("/").has_value());
  EXPECT_FALSE(FreeSpace::statvfs_available("/no/such/dir/at/all").has_value());
}

}  // namespace
}  // namespace tern
