// Organizational domains (RFC 7489 3.2) with Debian's public suffix list,
// and identifier alignment (3.1).
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "dmarc/org_domain.h"

namespace tern::dmarc {
namespace {

TEST(DmarcOrgDomain, PublicSuffixPlusOneLabel) {
  EXPECT_EQ(organizational_domain("example.com"), "example.com");
  EXPECT_EQ(organizational_domain("mail.example.com"), "example.com");
  EXPECT_EQ(organizational_domain("a.b.c.example.com"), "example.com");
  // Multi-label public suffixes: not the last two labels (3.2's warning).
  EXPECT_EQ(organizational_domain("mail.example.co.uk"), "example.co.uk");
  EXPECT_EQ(organizational_domain("www.example.com.au"), "example.com.au");
  // The private section of the list counts too.
  EXPECT_EQ(organizational_domain("alice.github.io"), "alice.github.io");
  EXPECT_EQ(organizational_domain("x.alice.github.io"), "alice.github.io");
}

TEST(DmarcOrgDomain, WildcardsAndExceptions) {
  // "*.ck" with "!www.ck".
  EXPECT_EQ(organizational_domain("foo.bar.ck"), "foo.bar.ck");
  EXPECT_EQ(organizational_domain("a.foo.bar.ck"), "foo.bar.ck");
  EXPECT_EQ(organizational_domain("mail.www.ck"), "www.ck");
  // "*.kawasaki.jp" with "!city.kawasaki.jp".
  EXPECT_EQ(organizational_domain("a.b.city.kawasaki.jp"), "city.kawasaki.jp");
}

TEST(DmarcOrgDomain, CaseAndTrailingDot) {
  EXPECT_EQ(organizational_domain("Mail.Example.COM."), "example.com");
  EXPECT_EQ(organizational_domain("MAIL.EXAMPLE.CO.UK"), "example.co.uk");
}

TEST(DmarcOrgDomain, UnlistedTldUsesTheImplicitStarRule) {
  EXPECT_EQ(organizational_domain("a.b.example.test"), "example.test");
  EXPECT_EQ(organizational_domain("example.test"), "example.test");
}

TEST(DmarcOrgDomain, PublicSuffixesAreTheirOwn) {
  EXPECT_EQ(organizational_domain("com"), "com");
  EXPECT_EQ(organizational_domain("co.uk"), "co.uk");
  EXPECT_EQ(organizational_domain("github.io"), "github.io");
  EXPECT_EQ(organizational_domain(""), "");
}

TEST(DmarcOrgDomain, PunycodeNames) {
  // .рф as an A-label; the list holds it in UTF-8, libpsl matches both.
  EXPECT_EQ(organizational_domain("mail.example.xn--p1ai"), "example.xn--p1ai");
}

TEST(DmarcOrgDomain, UsesDebiansList) {
  // The package publicsuffix is a build dependency (scripts/deps.sh): if
  // this fails, libpsl fell back to its built-in copy.
  EXPECT_NE(public_suffix_list_source().find("/usr/share/publicsuffix"), std::string::npos)
      << public_suffix_list_source();
}

TEST(DmarcOrgDomain, StrictAlignment) {
  EXPECT_TRUE(aligned("example.com", "example.com", Alignment::kStrict));
  EXPECT_TRUE(aligned("Example.COM", "example.com.", Alignment::kStrict));
  EXPECT_FALSE(aligned("mail.example.com", "example.com", Alignment::kStrict));
  EXPECT_FALSE(aligned("example.com", "news.example.com", Alignment::kStrict));
  EXPECT_FALSE(aligned("example.com", "example.net", Alignment::kStrict));
}

TEST(DmarcOrgDomain, RelaxedAlignment) {
  // 3.1.1's example: d=example.com and From news.example.com.
  EXPECT_TRUE(aligned("example.com", "news.example.com", Alignment::kRelaxed));
  EXPECT_TRUE(aligned("cbg.bounces.example.com", "example.com", Alignment::kRelaxed));
  EXPECT_TRUE(aligned("a.example.com", "b.example.com", Alignment::kRelaxed));
  EXPECT_TRUE(aligned("A.Example.Co.UK", "b.example.co.uk", Alignment::kRelaxed));
  EXPECT_FALSE(aligned("example.com", "example.net", Alignment::kRelaxed));
  EXPECT_FALSE(aligned("example.co.uk", "other.co.uk", Alignment::kRelaxed));
  // Different users of a private suffix are different organisations.
  EXPECT_FALSE(aligned("alice.github.io", "bob.github.io", Alignment::kRelaxed));
  // A public suffix aligns with nothing but itself ("d=com" never helps).
  EXPECT_FALSE(aligned("com", "example.com", Alignment::kRelaxed));
  EXPECT_FALSE(aligned("co.uk", "example.co.uk", Alignment::kRelaxed));
  EXPECT_FALSE(aligned("", "", Alignment::kRelaxed));
  EXPECT_FALSE(aligned("", "example.com", Alignment::kStrict));
}

TEST(DmarcOrgDomain, ConcurrentFirstUse) {
  // The list loads once, whichever thread asks first.
  std::vector<std::thread> threads;
  std::vector<std::string> got(8);
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&got, i] { got[i] = organizational_domain("x.y.example.co.uk"); });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& g : got) EXPECT_EQ(g, "example.co.uk");
}

}  // namespace
}  // namespace tern::dmarc
