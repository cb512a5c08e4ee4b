#include <gtest/gtest.h>

#include "sts/policy.h"

namespace tern::sts {
namespace {

TEST(StsPolicy, RfcExample) {
  // RFC 8461 3.2's example, CRLF-separated.
  std::string error;
  auto p = parse_policy(
      "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
      "mx: backupmx.example.com\r\nmax_age: 604800\r\n",
      &error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->mode, Mode::kEnforce);
  EXPECT_EQ(p->max_age, 604800u);
  EXPECT_EQ(p->mx, (std::vector<std::string>{"mail.example.com", "*.example.net",
                                             "backupmx.example.com"}));
}

TEST(StsPolicy, LfSpacingUnknownKeysBlankLines) {
  std::string error;
  auto p = parse_policy(
      "version:STSv1\nmode:   testing  \n\nfuture_key: whatever: x\nmx: MX.Example.COM.\n"
      "max_age: 86400",
      &error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->mode, Mode::kTesting);
  EXPECT_EQ(p->mx, std::vector<std::string>{"mx.example.com"});
  EXPECT_EQ(p->max_age, 86400u);
}

TEST(StsPolicy, ModeNoneNeedsNoMx) {
  std::string error;
  auto p = parse_policy("version: STSv1\nmode: none\nmax_age: 1\n", &error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->mode, Mode::kNone);
}

TEST(StsPolicy, MaxAgeCappedAtAYear) {
  std::string error;
  auto p =
      parse_policy("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 9999999999\n", &error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->max_age, kMaxMaxAge);
}

TEST(StsPolicy, Invalid) {
  const char* bad[] = {
      "",
      "mode: enforce\nmx: a.example\nmax_age: 1\n",                            // no version
      "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",            // wrong version
      "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n",            // case-sensitive
      "version: STSv1\nmode: enforce\nmax_age: 1\n",                           // no mx
      "version: STSv1\nmode: enforce\nmx: a.example\n",                        // no max_age
      "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",           // not digits
      "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n",  // 11 digits
      "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n",           // bad mx
      "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n",  // one wildcard label only
      "version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 1\n",  // twice
      "version: STSv1\nmode: enforce\ngarbage line\nmx: a.example\nmax_age: 1\n",
      "<html><body>Not found</body></html>",
  };
  for (const char* text : bad) {
    std::string error;
    EXPECT_FALSE(parse_policy(text, &error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
}

TEST(StsPolicy, TextRoundTrips) {
  Policy p;
  p.mode = Mode::kEnforce;
  p.mx = {"mx1.example.com", "*.example.org"};
  p.max_age = 3600;
  std::string error;
  auto back = parse_policy(p.text(), &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, p);
}

TEST(StsMx, Matching) {
  // RFC 8461 4.1: "*.example.com" matches "mail.example.com" but not
  // "example.com" nor "foo.bar.example.com".
  EXPECT_TRUE(mx_matches("*.example.com", "mail.example.com"));
  EXPECT_FALSE(mx_matches("*.example.com", "example.com"));
  EXPECT_FALSE(mx_matches("*.example.com", "foo.bar.example.com"));
  EXPECT_FALSE(mx_matches("*.example.com", ".example.com"));
  EXPECT_TRUE(mx_matches("mail.example.com", "MAIL.example.com."));
  EXPECT_TRUE(mx_matches("mail.example.com.", "mail.example.com"));
  EXPECT_FALSE(mx_matches("mail.example.com", "mail2.example.com"));
  EXPECT_FALSE(mx_matches("mail.example.com", "xmail.example.com"));
  EXPECT_FALSE(mx_matches("", "a"));

  Policy p;
  p.mx = {"mx1.example.com", "*.example.net"};
  EXPECT_TRUE(p.allows("mx1.example.com"));
  EXPECT_TRUE(p.allows("a.example.net"));
  EXPECT_FALSE(p.allows("evil.example"));
}

TEST(StsMx, ValidPattern) {
  EXPECT_TRUE(valid_mx_pattern("mx.example.com"));
  EXPECT_TRUE(valid_mx_pattern("*.example.com"));
  EXPECT_TRUE(valid_mx_pattern("localhost"));
  EXPECT_FALSE(valid_mx_pattern("*"));
  EXPECT_FALSE(valid_mx_pattern("mx.*.example"));
  EXPECT_FALSE(valid_mx_pattern("-mx.example"));
  EXPECT_FALSE(valid_mx_pattern("mx example"));
}

}  // namespace
}  // namespace tern::sts
