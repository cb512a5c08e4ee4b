// The header/body split and h= field selection (RFC 6376 5.4.2).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dkim/message.h"

namespace tern::dkim {
namespace {

std::vector<std::string> Raw(const std::vector<HeaderField>& fields) {
  std::vector<std::string> out;
  for (const HeaderField& f : fields) out.push_back(f.raw);
  return out;
}

TEST(DkimMessage, SplitFieldsKeepsFoldingAndOctets) {
  const auto fields =
      split_header_fields("From: a@b\r\nSubject: one\r\n two\r\n\tthree\r\nTo : c@d\r\n");
  EXPECT_EQ(Raw(fields),
            (std::vector<std::string>{"From: a@b\r\n", "Subject: one\r\n two\r\n\tthree\r\n",
                                      "To : c@d\r\n"}));
  EXPECT_EQ(fields[2].name(), "To");
  EXPECT_TRUE(fields[2].is("to"));
  EXPECT_TRUE(fields[1].is("SUBJECT"));
  EXPECT_FALSE(fields[1].is("subjec"));
}

TEST(DkimMessage, OddLines) {
  // A continuation with nothing before it, a line without a colon, and a
  // last field without CRLF each become fields of their own.
  const auto fields = split_header_fields(" lead\r\nNo colon here\r\nX: y");
  EXPECT_EQ(Raw(fields), (std::vector<std::string>{" lead\r\n", "No colon here\r\n", "X: y"}));
  EXPECT_EQ(fields[1].name(), "");
  EXPECT_FALSE(fields[1].is(""));
  EXPECT_EQ(fields[2].name(), "X");
}

TEST(DkimMessage, BareLfDoesNotEndALine) {
  const auto fields = split_header_fields("A: 1\nB: 2\r\n");
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].raw, "A: 1\nB: 2\r\n");
}

TEST(DkimMessage, SplitterFindsTheBlankLineAcrossEveryChunkBoundary) {
  const std::string msg = "From: a\r\nTo: b\r\n\r\nbody\r\n\r\nmore\r\n";
  for (size_t cut = 0; cut <= msg.size(); ++cut) {
    MessageSplitter s(1000);
    std::string body(s.write(std::string_view(msg).substr(0, cut)));
    body += s.write(std::string_view(msg).substr(cut));
    s.finish();
    EXPECT_TRUE(s.in_body()) << cut;
    EXPECT_EQ(body, "body\r\n\r\nmore\r\n") << cut;
    EXPECT_EQ(Raw(s.fields()), (std::vector<std::string>{"From: a\r\n", "To: b\r\n"})) << cut;
  }
}

TEST(DkimMessage, SplitterOneOctetAtATime) {
  const std::string msg = "A: 1\r\n\r\n\r\nx";
  MessageSplitter s(1000);
  std::string body;
  for (char c : msg) body += s.write(std::string_view(&c, 1));
  EXPECT_EQ(body, "\r\nx");
  EXPECT_EQ(Raw(s.fields()), (std::vector<std::string>{"A: 1\r\n"}));
}

TEST(DkimMessage, MessageStartingWithBlankLineHasNoHeader) {
  MessageSplitter s(1000);
  EXPECT_EQ(s.write("\r\nbody"), "body");
  EXPECT_TRUE(s.in_body());
  EXPECT_TRUE(s.fields().empty());
}

TEST(DkimMessage, MessageWithoutBlankLineIsAllHeader) {
  MessageSplitter s(1000);
  EXPECT_EQ(s.write("A: 1\r\nB: 2\r\n"), "");
  EXPECT_FALSE(s.in_body());
  s.finish();
  EXPECT_EQ(Raw(s.fields()), (std::vector<std::string>{"A: 1\r\n", "B: 2\r\n"}));
}

TEST(DkimMessage, HeaderOverflow) {
  MessageSplitter s(10);
  EXPECT_EQ(s.write("Subject: a long header\r\n"), "");
  EXPECT_TRUE(s.overflow());
  EXPECT_EQ(s.write("\r\nbody"), "");
  s.finish();
  EXPECT_TRUE(s.fields().empty());
}

TEST(DkimMessage, HeaderOverflowInOneChunk) {
  MessageSplitter s(10);
  EXPECT_EQ(s.write("Subject: a long header\r\n\r\nbody"), "");
  EXPECT_TRUE(s.overflow());
  EXPECT_EQ(s.write("more body"), "");
  EXPECT_TRUE(s.fields().empty());
}

TEST(DkimMessage, HeaderLimitCountsTheFieldsWithTheirCrlf) {
  MessageSplitter fits(9);  // "A: 1234\r\n" is 9 octets
  EXPECT_EQ(fits.write("A: 1234\r\n\r\nbody"), "body");
  EXPECT_FALSE(fits.overflow());
  MessageSplitter over(8);
  EXPECT_EQ(over.write("A: 1234\r\n\r\nbody"), "");
  EXPECT_TRUE(over.overflow());
  MessageSplitter unterminated(8);
  unterminated.write("A: 1234\r\n");
  unterminated.finish();
  EXPECT_TRUE(unterminated.overflow());
}

TEST(DkimMessage, SelectsBottomUpAndOversignedNamesSelectNothing) {
  const auto fields =
      split_header_fields("Received: 1\r\nFrom: first\r\nTo: t\r\nFrom: second\r\nSubject: s\r\n");
  std::vector<std::string> got;
  for (const HeaderField* f :
       select_fields(fields, {"from", "from", "from", "SUBJECT", "cc"}, fields.size())) {
    got.push_back(f->raw);
  }
  EXPECT_EQ(got,
            (std::vector<std::string>{"From: second\r\n", "From: first\r\n", "Subject: s\r\n"}));
}

TEST(DkimMessage, SelectionSkipsTheSignatureItself) {
  const auto fields =
      split_header_fields("DKIM-Signature: one\r\nDKIM-Signature: two\r\nFrom: f\r\n");
  // Verifying the second signature: h=dkim-signature means the other one.
  const auto picked = select_fields(fields, {"dkim-signature", "from"}, 1);
  ASSERT_EQ(picked.size(), 2u);
  EXPECT_EQ(picked[0]->raw, "DKIM-Signature: one\r\n");
  EXPECT_EQ(picked[1]->raw, "From: f\r\n");
}

TEST(DkimMessage, HostileHeaderListIsLinear) {
  // 20000 fields and an h= of 40000 names: each instance is taken once,
  // the surplus selects nothing (a quadratic search would crawl here).
  std::string section;
  for (int i = 0; i < 20000; ++i) section += "X: " + std::to_string(i) + "\r\n";
  const auto fields = split_header_fields(section);
  const std::vector<std::string> names(40000, "x");
  const auto picked = select_fields(fields, names, fields.size());
  ASSERT_EQ(picked.size(), 20000u);
  EXPECT_EQ(picked.front()->raw, "X: 19999\r\n");
  EXPECT_EQ(picked.back()->raw, "X: 0\r\n");
}

TEST(DkimMessage, EqualsIgnoreCase) {
  EXPECT_TRUE(equals_ignore_case("Message-ID", "message-id"));
  EXPECT_FALSE(equals_ignore_case("a", "ab"));
  EXPECT_FALSE(equals_ignore_case("[", "{"));  // only ASCII letters fold
}

}  // namespace
}  // namespace tern::dkim
