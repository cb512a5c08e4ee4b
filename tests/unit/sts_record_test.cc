#include <gtest/gtest.h>

#include "sts/record.h"

namespace tern::sts {
namespace {

using Kind = RecordResult::Kind;

TEST(StsRecord, RfcExample) {
  // RFC 8461 3.1's example.
  RecordResult r = parse_record("v=STSv1; id=20160831085700Z;");
  ASSERT_EQ(r.kind, Kind::kFound);
  EXPECT_EQ(r.id, "20160831085700Z");
}

TEST(StsRecord, SpacingAndExtensions) {
  EXPECT_EQ(parse_record("v=STSv1;id=abc").id, "abc");
  EXPECT_EQ(parse_record("v=STSv1 ;\tid=abc ; ext_1=some-value;").id, "abc");
  EXPECT_EQ(parse_record("v=STSv1; foo=bar; id=X1").id, "X1");
}

TEST(StsRecord, NotOurs) {
  EXPECT_EQ(parse_record("v=spf1 -all").kind, Kind::kNone);
  EXPECT_EQ(parse_record("v=stsv1; id=abc").kind, Kind::kNone);  // %s: case-sensitive
  EXPECT_EQ(parse_record("").kind, Kind::kNone);
  EXPECT_EQ(parse_record("v=STSv10; id=a").kind, Kind::kNone);
}

TEST(StsRecord, Invalid) {
  EXPECT_EQ(parse_record("v=STSv1;").kind, Kind::kInvalid);         // no id
  EXPECT_EQ(parse_record("v=STSv1; id=").kind, Kind::kInvalid);     // empty id
  EXPECT_EQ(parse_record("v=STSv1; id=a-b").kind, Kind::kInvalid);  // not alnum
  EXPECT_EQ(parse_record("v=STSv1; id=" + std::string(33, 'a')).kind, Kind::kInvalid);
  EXPECT_EQ(parse_record("v=STSv1; id=" + std::string(32, 'a')).kind, Kind::kFound);
  EXPECT_EQ(parse_record("v=STSv1; id=a; id=b").kind, Kind::kInvalid);
  EXPECT_EQ(parse_record("v=STSv1; id=a; junk").kind, Kind::kInvalid);
  EXPECT_EQ(parse_record("v=STSv1; id=a; x=a b").kind, Kind::kInvalid);
}

TEST(StsRecord, Select) {
  // Strings of one record are joined; other TXT records are discarded (3.1).
  RecordResult r = select_record({{"v=spf1 -all"}, {"v=STSv1; ", "id=joined1"}});
  ASSERT_EQ(r.kind, Kind::kFound);
  EXPECT_EQ(r.id, "joined1");
  EXPECT_EQ(select_record({{"v=spf1 -all"}}).kind, Kind::kNone);
  EXPECT_EQ(select_record({}).kind, Kind::kNone);
  // Two STS records: no policy ("If the number of resulting records is not one").
  EXPECT_EQ(select_record({{"v=STSv1; id=a"}, {"v=STSv1; id=b"}}).kind, Kind::kInvalid);
  EXPECT_EQ(select_record({{"v=STSv1; id=a!"}}).kind, Kind::kInvalid);
}

}  // namespace
}  // namespace tern::sts
