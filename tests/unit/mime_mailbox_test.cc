// Mailbox parsing (RFC 5322 3.4): the forms a command line or a To header
// gives, address lists with groups, and the display form.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tern/mailbox.h"

namespace tern {
namespace {

Mailbox mb(std::string name, std::string address) { return {std::move(name), std::move(address)}; }

TEST(MimeMailboxTest, ParsesTheCommonForms) {
  EXPECT_EQ(Mailbox::parse("a@example.com"), mb("", "a@example.com"));
  EXPECT_EQ(Mailbox::parse("  <a@example.com> "), mb("", "a@example.com"));
  EXPECT_EQ(Mailbox::parse("Alice Smith <alice@example.com>"),
            mb("Alice Smith", "alice@example.com"));
  EXPECT_EQ(Mailbox::parse("Alice<alice@example.com>"), mb("Alice", "alice@example.com"));
  EXPECT_EQ(Mailbox::parse("\"Doe, John\" <j@example.com>"), mb("Doe, John", "j@example.com"));
  EXPECT_EQ(Mailbox::parse("j@example.com (John Doe)"), mb("John Doe", "j@example.com"));
}

TEST(MimeMailboxTest, LenientAboutSpecialsInAnUnquotedName) {
  EXPECT_EQ(Mailbox::parse("Doe, John Q. <j@example.com>"), mb("Doe, John Q.", "j@example.com"));
}

TEST(MimeMailboxTest, Utf8NamesAndAddresses) {
  EXPECT_EQ(Mailbox::parse("Jörg Müller <jörg@bücher.example>"),
            mb("Jörg Müller", "jörg@bücher.example"));
}

TEST(MimeMailboxTest, DecodesEncodedWordsInNames) {
  EXPECT_EQ(Mailbox::parse("=?UTF-8?Q?J=C3=B6rg?= =?UTF-8?Q?_M=C3=BCller?= <j@x.org>"),
            mb("Jörg Müller", "j@x.org"));
  EXPECT_EQ(Mailbox::parse("=?UTF-8?B?SsO2cmc=?= Smith <j@x.org>"), mb("Jörg Smith", "j@x.org"));
}

TEST(MimeMailboxTest, CommentsAndWhitespace) {
  EXPECT_EQ(Mailbox::parse("John (the man)  \t Doe <j@x.org> (home)"), mb("John Doe", "j@x.org"));
  EXPECT_EQ(Mailbox::parse("\"John  \\\"JD\\\" Doe\" <j@x.org>"), mb("John \"JD\" Doe", "j@x.org"));
  EXPECT_EQ(Mailbox::parse("Name < j@x.org >"), mb("Name", "j@x.org"));
}

TEST(MimeMailboxTest, QuotedLocalPartsAndLiterals) {
  EXPECT_EQ(Mailbox::parse("\"john doe\"@x.org"), mb("", "\"john doe\"@x.org"));
  EXPECT_EQ(Mailbox::parse("N <\"a>b\"@x.org>"), mb("N", "\"a>b\"@x.org"));
  EXPECT_EQ(Mailbox::parse("root@[192.0.2.1]"), mb("", "root@[192.0.2.1]"));
  EXPECT_EQ(Mailbox::parse("root@[IPv6:2001:db8::1]"), mb("", "root@[IPv6:2001:db8::1]"));
}

TEST(MimeMailboxTest, RefusesWhatIsNotOneMailbox) {
  for (const char* bad : {"", "   ", "<>", "Name <>", "john doe@x.org", "a@b, c@d", "noat", "<a@b",
                          "a@b>", "Name <a@b> tail", "<a@b> <c@d>", "\"open <a@b>", "(open a@b",
                          "a@b)", "<@relay:a@b>", "Team: a@b;", "a@@b", "a@b\r\nBcc: c@d"}) {
    EXPECT_FALSE(Mailbox::parse(bad)) << bad;
  }
}

// Found by tests/fuzz/mime_fuzz.cc: a "(" inside a domain literal is
// balanced for the scanner but was taken for an unclosed comment by the
// code that strips comments, which then looped for ever.
// A name that holds an encoded word's text literally (it was not one where
// it came from) is quoted, so it reads back as itself (found by fuzzing).
TEST(MimeMailboxTest, NameThatLooksLikeAnEncodedWordIsQuoted) {
  const Mailbox m = mb("x =?UTF-8?Q?J=C3=B6rg?= y", "a@x.org");
  EXPECT_EQ(m.str(), "\"x =?UTF-8?Q?J=C3=B6rg?= y\" <a@x.org>");
  EXPECT_EQ(Mailbox::parse(m.str()), m);
}

TEST(MimeMailboxTest, ParenthesisInADomainLiteralEnds) {
  EXPECT_FALSE(Mailbox::parse("[3(]? %"));
  EXPECT_FALSE(Mailbox::parse("a@[1(]"));
  // In a display name the unclosed comment runs to the name's end.
  const auto named = Mailbox::parse("[(] <a@x.org>");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->address, "a@x.org");
  EXPECT_FALSE(Mailbox::parse_list("a@[1(], b@x.org"));
  EXPECT_EQ(Mailbox::parse("\"x\" <a@x.org>"), mb("x", "a@x.org"));
}

TEST(MimeMailboxTest, ParsesLists) {
  const auto list =
      Mailbox::parse_list("a@x.org, \"Doe, J\" <j@x.org>,Bob <b@y.org> , c@z.org (Cee)");
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, (std::vector<Mailbox>{mb("", "a@x.org"), mb("Doe, J", "j@x.org"),
                                         mb("Bob", "b@y.org"), mb("Cee", "c@z.org")}));
}

TEST(MimeMailboxTest, ListsWithGroupsAndEmptyElements) {
  const auto list =
      Mailbox::parse_list("undisclosed-recipients:;, Team: a@x.org, B <b@x.org>;, ,c@x.org,");
  ASSERT_TRUE(list);
  EXPECT_EQ(*list,
            (std::vector<Mailbox>{mb("", "a@x.org"), mb("B", "b@x.org"), mb("", "c@x.org")}));
  EXPECT_EQ(Mailbox::parse_list(" "), std::vector<Mailbox>{});
}

TEST(MimeMailboxTest, ListRefusesBadElements) {
  for (const char* bad : {"a@x.org, nope", "Doe, John <j@x.org>", "Team: a@x.org", "a@x.org;",
                          "x@y: a@b;", "\"a@x.org", "A <a@x.org"}) {
    EXPECT_FALSE(Mailbox::parse_list(bad)) << bad;
  }
}

TEST(MimeMailboxTest, Str) {
  EXPECT_EQ(mb("", "a@x.org").str(), "a@x.org");
  EXPECT_EQ(mb("Jörg Müller", "j@x.org").str(), "Jörg Müller <j@x.org>");
  EXPECT_EQ(mb("Doe, J.", "j@x.org").str(), "\"Doe, J.\" <j@x.org>");
  EXPECT_EQ(mb("a \"b\"", "j@x.org").str(), "\"a \\\"b\\\"\" <j@x.org>");
  for (const Mailbox& m : {mb("Doe, J.", "j@x.org"), mb("a \"q\" \\ b", "j@x.org"),
                           mb("Zoë (x)", "z@x.org"), mb("", "\"q u\"@x.org")}) {
    EXPECT_EQ(Mailbox::parse(m.str()), m) << m.str();
  }
}

}  // namespace
}  // namespace tern
