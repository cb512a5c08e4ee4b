// The aliases file (src/delivery/aliases.h).
#include "delivery/aliases.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tern {
namespace {

using V = std::vector<std::string>;

Aliases parsed(std::string_view text) {
  Aliases a;
  Status s = a.parse(text, "aliases");
  EXPECT_TRUE(s.ok()) << s.message();
  return a;
}

std::string parse_error(std::string_view text) {
  Aliases a;
  Status s = a.parse(text, "aliases");
  EXPECT_FALSE(s.ok()) << text;
  EXPECT_EQ(s.kind(), Status::Kind::kPermanent);
  return s.message();
}

TEST(AliasesKey, LowerCasesAndDropsTag) {
  EXPECT_EQ(alias_key("Bob+Lists@Example.COM"), "bob@example.com");
  EXPECT_EQ(alias_key("a+b+c@x"), "a@x");
  EXPECT_EQ(alias_key("plain@x"), "plain@x");
  EXPECT_EQ(alias_key("Postmaster"), "postmaster");
  EXPECT_EQ(alias_key("a@b+c.example"), "a@b+c.example");  // only the local part has tags
}

TEST(AliasesKey, ComparesQuotedLocalPartsUnquoted) {
  // RFC 5321 4.1.2: all quoted forms of a local part are equivalent.
  EXPECT_EQ(alias_key("\"Bob\"@X"), "bob@x");
  EXPECT_EQ(alias_key(R"("B\o\b+tag"@x)"), "bob@x");
  EXPECT_EQ(alias_key(R"("a b"@x)"), alias_key(R"("a\ b"@x)"));
  EXPECT_EQ(alias_key(R"("a@b"@x)"), "a@b@x");  // split at the last '@'
  EXPECT_EQ(alias_key(R"("a\"b"@x)"), "a\"b@x");
}

TEST(AliasesParse, ErrorsNameSourceAndLine) {
  EXPECT_EQ(parse_error("a@x: b@x\n\nno colon here\n"),
            "aliases:3: expected 'alias@domain: target@domain, ...'");
  EXPECT_EQ(parse_error("# c\na@x: b@x\nA@X: c@x\n"),
            "aliases:3: duplicate alias 'a@x' (first on line 2)");
  EXPECT_EQ(parse_error("a@x: b@x,,c@x\n"), "aliases:1: empty target");
  EXPECT_EQ(parse_error("a@x: b@x,\n"), "aliases:1: empty target");
  EXPECT_EQ(parse_error("a@x:\n"), "aliases:1: empty target");
  EXPECT_EQ(parse_error("a@x: bob\n"), "aliases:1: target 'bob' is not local@domain");
  EXPECT_EQ(parse_error("a@x: b c@x\n"), "aliases:1: target 'b c@x' is not local@domain");
  EXPECT_EQ(parse_error("nodomain: b@x\n"), "aliases:1: alias 'nodomain' is not local@domain");
  EXPECT_EQ(parse_error("@x: b@x\n"), "aliases:1: alias '@x' is not local@domain");
  EXPECT_EQ(parse_error("a+t@x: b@x\n"),
            "aliases:1: alias 'a+t@x' has a +tag (tags are ignored when matching)");
  EXPECT_EQ(parse_error("a@x: *@y\n"), "aliases:1: target '*@y' is a wildcard");
}

TEST(AliasesParse, FailedParseKeepsPreviousRules) {
  Aliases a = parsed("a@x: b@x\n");
  EXPECT_FALSE(a.parse("c@x: d@x\nbroken\n", "aliases").ok());
  EXPECT_EQ(a.expand("a@x"), V{"b@x"});
  EXPECT_EQ(a.expand("c@x"), V{"c@x"});
}

TEST(AliasesParse, CommentsBlankLinesCrlfAndSpaces) {
  Aliases a = parsed(
      "# the team\r\n"
      "\r\n"
      "   \t\n"
      "team@example.com :  alice@example.com ,bob@example.com   # both\r\n"
      "  # indented comment\n"
      "odd#name@example.com: carol@example.com");  // '#' inside a word is not a comment
  EXPECT_EQ(a.expand("team@example.com"), (V{"alice@example.com", "bob@example.com"}));
  EXPECT_EQ(a.expand("odd#name@example.com"), V{"carol@example.com"});
}

TEST(AliasesExpand, NonAliasIsItself) {
  Aliases a = parsed("a@x: b@x\n");
  EXPECT_EQ(a.expand("Someone+t@Y"), V{"Someone+t@Y"});
  EXPECT_FALSE(a.matches("someone@y"));
  EXPECT_EQ(Aliases().expand("a@x"), V{"a@x"});
}

TEST(AliasesExpand, CaseAndTagInsensitive) {
  Aliases a = parsed("Sales@Example.com: alice@example.com\n");
  EXPECT_TRUE(a.matches("SALES+Q3@example.COM"));
  EXPECT_EQ(a.expand("SALES+Q3@example.COM"), V{"alice@example.com"});
}

TEST(AliasesExpand, CatchAllAndExactWins) {
  Aliases a = parsed(
      "*@example.com: admin@example.org\n"
      "info@example.com: alice@example.com\n");
  EXPECT_TRUE(a.matches("anything@example.com"));
  EXPECT_EQ(a.expand("Anything@Example.com"), V{"admin@example.org"});
  EXPECT_EQ(a.expand("info@example.com"), V{"alice@example.com"});
  EXPECT_FALSE(a.matches("anything@example.net"));
  EXPECT_EQ(a.expand("x@example.net"), V{"x@example.net"});
}

TEST(AliasesExpand, CatchAllNeverTakesTargetsOrRealMailboxes) {
  Aliases a = parsed(
      "*@example.com: admin@example.org\n"
      "info@example.com: bob@example.com\n");
  // bob is named as a target, so bob's mailbox gets it.
  EXPECT_EQ(a.expand("info@example.com"), V{"bob@example.com"});
  // Addressed directly, bob is caught unless known as a mailbox.
  EXPECT_EQ(a.expand("bob@example.com"), V{"admin@example.org"});
  auto is_user = [](const std::string& addr) { return alias_key(addr) == "bob@example.com"; };
  EXPECT_EQ(a.expand("Bob+x@example.com", is_user), V{"Bob+x@example.com"});
  EXPECT_EQ(a.expand("carol@example.com", is_user), V{"admin@example.org"});
  // An exact alias beats a mailbox of the same name.
  EXPECT_EQ(a.expand("info@example.com", [](const std::string&) { return true; }),
            V{"bob@example.com"});
}

TEST(AliasesExpand, CatchAllToItsOwnDomainEnds) {
  // postmaster@example.com is not an alias, so the catch-all matches it
  // again: that loop ends at postmaster@example.com itself.
  Aliases a = parsed("*@example.com: postmaster@example.com\n");
  EXPECT_EQ(a.expand("joe@example.com"), V{"postmaster@example.com"});
  EXPECT_EQ(a.expand("postmaster@example.com"), V{"postmaster@example.com"});
}

TEST(AliasesExpand, RecursiveAndDeduplicatedInFirstSeenOrder) {
  Aliases a = parsed(
      "all@x: dev@x, ops@x, carol@x\n"
      "dev@x: alice@x, bob@x\n"
      "ops@x: bob@x, Carol@X, dave@y\n");
  EXPECT_EQ(a.expand("all@x"), (V{"alice@x", "bob@x", "Carol@X", "dave@y"}));  // first-seen form
}

TEST(AliasesExpand, LoopsDeliverToTheAddressReachedAgain) {
  Aliases a = parsed(
      "a@x: b@x\n"
      "b@x: a@x\n"
      "bob@x: bob@x, archive@x\n");
  EXPECT_EQ(a.expand("a@x"), V{"a@x"});
  EXPECT_EQ(a.expand("b@x"), V{"b@x"});
  EXPECT_EQ(a.expand("bob@x"), (V{"bob@x", "archive@x"}));
}

TEST(AliasesExpand, DepthIsCutAfterTen) {
  std::string text;
  for (int i = 0; i < 15; ++i) {
    text += "a" + std::to_string(i) + "@x: a" + std::to_string(i + 1) + "@x\n";
  }
  Aliases a = parsed(text);
  EXPECT_EQ(a.expand("a0@x"), V{"a11@x"});
  EXPECT_EQ(a.expand("a5@x"), V{"a15@x"});  // a15 is not an alias
}

class AliasesFileTest : public ::testing::Test {
 protected:
  AliasesFileTest() {
    char tmpl[] = "/tmp/tern-aliases-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/aliases";
  }
  ~AliasesFileTest() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(path_, std::ios::binary) << text; }
  std::string dir_, path_;
};

TEST_F(AliasesFileTest, MissingFileIsNoAliases) {
  Aliases a;
  ASSERT_TRUE(a.load(path_).ok());
  EXPECT_EQ(a.expand("a@x"), V{"a@x"});
}

TEST_F(AliasesFileTest, LoadErrorNamesThePath) {
  write("a@x: b@x\noops\n");
  Aliases a;
  Status s = a.load(path_);
  EXPECT_EQ(s.message(), path_ + ":2: expected 'alias@domain: target@domain, ...'");
}

TEST_F(AliasesFileTest, ReloadIfChanged) {
  write("a@x: b@x\n");
  Aliases a;
  ASSERT_TRUE(a.load(path_).ok());
  EXPECT_EQ(a.expand("a@x"), V{"b@x"});
  ASSERT_TRUE(a.reload_if_changed(path_).ok());  // unchanged
  EXPECT_EQ(a.expand("a@x"), V{"b@x"});

  write("a@x: c@x, d@x\n");
  ASSERT_TRUE(a.reload_if_changed(path_).ok());
  EXPECT_EQ(a.expand("a@x"), (V{"c@x", "d@x"}));

  write("a@x: c@x\nbroken line\n");
  EXPECT_FALSE(a.reload_if_changed(path_).ok());
  EXPECT_EQ(a.expand("a@x"), (V{"c@x", "d@x"}));  // kept

  std::filesystem::remove(path_);
  ASSERT_TRUE(a.reload_if_changed(path_).ok());
  EXPECT_EQ(a.expand("a@x"), V{"a@x"});
}

}  // namespace
}  // namespace tern
