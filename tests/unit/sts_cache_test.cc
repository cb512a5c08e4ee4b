#include <gtest/gtest.h>

#include "sts/cache.h"

namespace tern::sts {
namespace {

CachedPolicy Cached(std::string id, int64_t fetched, uint32_t max_age) {
  CachedPolicy c;
  c.id = std::move(id);
  c.fetched = fetched;
  c.policy.mode = Mode::kEnforce;
  c.policy.mx = {"mx.example.com"};
  c.policy.max_age = max_age;
  return c;
}

constexpr int64_t kNow = 1'700'000'000;

TEST(StsCache, NothingCached) {
  EXPECT_EQ(decide(nullptr, RecordState::kFound, "a", kNow), Action::kFetch);
  EXPECT_EQ(decide(nullptr, RecordState::kAbsent, "", kNow), Action::kNoPolicy);
  EXPECT_EQ(decide(nullptr, RecordState::kTempFail, "", kNow), Action::kNoPolicy);
}

TEST(StsCache, ValidCacheSameId) {
  const CachedPolicy c = Cached("a", kNow - 100, 1000);
  EXPECT_EQ(decide(&c, RecordState::kFound, "a", kNow), Action::kUseCached);
}

TEST(StsCache, IdChangeRefetches) {
  const CachedPolicy c = Cached("a", kNow - 100, 1000);
  // Refresh: on failure the cached policy stays (5.1).
  EXPECT_EQ(decide(&c, RecordState::kFound, "b", kNow), Action::kRefresh);
}

TEST(StsCache, RecordGoneOrDnsTroubleKeepsValidCache) {
  const CachedPolicy c = Cached("a", kNow - 100, 1000);
  EXPECT_EQ(decide(&c, RecordState::kAbsent, "", kNow), Action::kUseCached);
  EXPECT_EQ(decide(&c, RecordState::kTempFail, "", kNow), Action::kUseCached);
}

TEST(StsCache, ExpiredCache) {
  const CachedPolicy c = Cached("a", kNow - 1000, 1000);  // expires exactly now
  EXPECT_FALSE(c.valid_at(kNow));
  EXPECT_TRUE(c.valid_at(kNow - 1));
  EXPECT_EQ(decide(&c, RecordState::kFound, "a", kNow), Action::kFetch);
  EXPECT_EQ(decide(&c, RecordState::kAbsent, "", kNow), Action::kNoPolicy);
  EXPECT_EQ(decide(&c, RecordState::kTempFail, "", kNow), Action::kNoPolicy);
}

TEST(StsCache, ProactiveRefresh) {
  const CachedPolicy c = Cached("a", kNow - 2 * 86400, 30 * 86400);
  EXPECT_EQ(decide(&c, RecordState::kFound, "a", kNow), Action::kRefresh);
  EXPECT_EQ(decide(&c, RecordState::kFound, "a", kNow, 3 * 86400), Action::kUseCached);
}

TEST(StsCache, EntryRoundTrips) {
  const CachedPolicy c = Cached("20240101T000000", kNow, 604800);
  const std::string text = cache_entry(c);
  auto back = parse_cache_entry(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
}

TEST(StsCache, EntryRejectsOthers) {
  const std::string good = cache_entry(Cached("abc", kNow, 60));
  EXPECT_FALSE(parse_cache_entry(""));
  EXPECT_FALSE(parse_cache_entry(good.substr(0, good.size() / 2)));
  EXPECT_FALSE(parse_cache_entry("tern-mta-sts 2\n" + good.substr(15)));
  EXPECT_FALSE(parse_cache_entry("tern-mta-sts 1\nid: a-b\nfetched: 1\n\nversion: STSv1\n"));
  EXPECT_FALSE(parse_cache_entry("tern-mta-sts 1\nid: a\nfetched: x\n\n"));
}

}  // namespace
}  // namespace tern::sts
