// ReplyParser: server replies from bytes cut anywhere (RFC 5321 4.2).
#include "core/reply_parser.h"

#include <gtest/gtest.h>

namespace tern {
namespace {

using V = std::vector<std::string>;
using Error = ReplyParser::Error;

// Feeds `in` in one piece and collects every complete reply.
std::vector<Reply> parse_all(ReplyParser& p, std::string_view in) {
  p.feed(in);
  std::vector<Reply> out;
  while (auto r = p.next()) out.push_back(*r);
  return out;
}

TEST(ReplyParser, SingleLine) {
  ReplyParser p;
  auto r = parse_all(p, "250 2.1.0 Sender OK\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].code, 250);
  EXPECT_EQ(r[0].enhanced, "2.1.0");
  EXPECT_EQ(r[0].lines, V{"Sender OK"});
  EXPECT_EQ(p.raw_lines(), V{"250 2.1.0 Sender OK"});
  EXPECT_EQ(p.buffered(), 0u);
  EXPECT_EQ(p.error(), Error::kNone);
}

TEST(ReplyParser, MultiLineEhlo) {
  ReplyParser p;
  auto r = parse_all(p, "250-mx.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 HELP\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].code, 250);
  EXPECT_EQ(r[0].enhanced, "");
  EXPECT_EQ(r[0].lines, (V{"mx.test Hello", "PIPELINING", "SIZE 1000", "HELP"}));
  EXPECT_EQ(p.raw_lines().size(), 4u);
}

TEST(ReplyParser, EveryChunkingGivesTheSameReplies) {
  const std::string in =
      "220 mx.test ESMTP\r\n250-mx.test\r\n250 8BITMIME\r\n550-5.1.1 No such\r\n550 5.1.1 user\r\n";
  ReplyParser whole;
  auto expected = parse_all(whole, in);
  ASSERT_EQ(expected.size(), 3u);
  // Byte by byte.
  ReplyParser p;
  std::vector<Reply> got;
  for (char c : in) {
    p.feed(std::string_view(&c, 1));
    while (auto r = p.next()) got.push_back(*r);
  }
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].wire(), expected[i].wire());
  // Every two-piece split.
  for (size_t cut = 0; cut <= in.size(); ++cut) {
    ReplyParser q;
    std::vector<Reply> g;
    for (std::string_view part :
         {std::string_view(in).substr(0, cut), std::string_view(in).substr(cut)}) {
      q.feed(part);
      while (auto r = q.next()) g.push_back(*r);
    }
    ASSERT_EQ(g.size(), 3u) << cut;
    EXPECT_EQ(g[2].lines, (V{"No such", "user"})) << cut;
  }
}

TEST(ReplyParser, IncompleteReplyWaits) {
  ReplyParser p;
  p.feed("250-first\r\n250 sec");
  EXPECT_FALSE(p.next());
  EXPECT_EQ(p.error(), Error::kNone);
  EXPECT_EQ(p.buffered(), 18u);
  p.feed("ond\r\n");
  auto r = p.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lines, (V{"first", "second"}));
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(ReplyParser, SeveralRepliesInOneFeed) {
  ReplyParser p;
  auto r = parse_all(p, "250 2.1.0 ok\r\n250 2.1.5 ok\r\n554 5.5.1 no\r\n354 go\r\n");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].code, 250);
  EXPECT_EQ(r[1].enhanced, "2.1.5");
  EXPECT_EQ(r[2].code, 554);
  EXPECT_EQ(r[3].code, 354);
  EXPECT_EQ(r[3].enhanced, "");
}

TEST(ReplyParser, CodeAloneWithOrWithoutSpace) {
  // RFC 5321 4.2: clients SHOULD accept a bare code.
  ReplyParser p;
  auto r = parse_all(p, "250\r\n250 \r\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].code, 250);
  EXPECT_EQ(r[0].lines, V{""});
  EXPECT_EQ(r[1].lines, V{""});
}

TEST(ReplyParser, BareLfIsToleratedAsLineEnd) {
  ReplyParser p;
  auto r = parse_all(p, "250-a\n250 b\r\n220 c\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].lines, (V{"a", "b"}));
  EXPECT_EQ(r[1].code, 220);
}

TEST(ReplyParser, BareCrOrNulIsAnError) {
  for (std::string_view bad : {std::string_view("250 a\rb\r\n"), std::string_view("250 a\r\r\n"),
                               std::string_view("250 a\0b\r\n", 9)}) {
    ReplyParser p;
    EXPECT_TRUE(parse_all(p, bad).empty()) << bad;
    EXPECT_EQ(p.error(), Error::kSyntax);
    EXPECT_FALSE(p.error_detail().empty());
  }
}

TEST(ReplyParser, BadCodes) {
  for (std::string_view bad : {"199 x\r\n", "600 x\r\n", "260 x\r\n", "2a0 x\r\n", "25\r\n",
                               "250x\r\n", "\r\n", " 250 x\r\n", "hello\r\n", "250_x\r\n"}) {
    ReplyParser p;
    EXPECT_TRUE(parse_all(p, bad).empty()) << bad;
    EXPECT_EQ(p.error(), Error::kSyntax) << bad;
  }
}

// Found by tests/fuzz/reply_parser_fuzz.cc: an empty line is an error whose
// detail used to be empty, leaving the log with nothing to show.
TEST(ReplyParser, EmptyLineErrorHasADetail) {
  for (std::string_view bad : {"\r\n", "\n", "250-a\r\n\r\n"}) {
    ReplyParser p;
    EXPECT_TRUE(parse_all(p, bad).empty()) << bad;
    EXPECT_EQ(p.error(), Error::kSyntax) << bad;
    EXPECT_EQ(p.error_detail(), "(empty line)") << bad;
  }
}

TEST(ReplyParser, CodeMismatchAcrossLines) {
  ReplyParser p;
  EXPECT_TRUE(parse_all(p, "250-a\r\n251 b\r\n").empty());
  EXPECT_EQ(p.error(), Error::kCodeMismatch);
  EXPECT_NE(p.error_detail().find("251 b"), std::string::npos);
}

TEST(ReplyParser, ErrorIsFinal) {
  ReplyParser p;
  EXPECT_TRUE(parse_all(p, "bad\r\n").empty());
  EXPECT_TRUE(parse_all(p, "250 ok\r\n").empty());
  EXPECT_EQ(p.error(), Error::kSyntax);
}

TEST(ReplyParser, LineLimitCountsTheLineEnd) {
  ReplyParser::Limits lim;
  lim.max_line = 10;
  {
    ReplyParser p(lim);
    auto r = parse_all(p, "250 1234\r\n");  // exactly 10 with CRLF
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].lines, V{"1234"});
  }
  {
    ReplyParser p(lim);
    EXPECT_TRUE(parse_all(p, "250 12345\r\n").empty());
    EXPECT_EQ(p.error(), Error::kLineTooLong);
  }
}

TEST(ReplyParser, EndlessLineIsRefusedWithoutWaitingForLf) {
  ReplyParser p;  // default 4096
  std::string junk(4095, 'x');
  p.feed("250 ");
  p.feed(junk.substr(0, 4000));
  EXPECT_FALSE(p.next());
  EXPECT_EQ(p.error(), Error::kNone);
  p.feed(junk);
  EXPECT_FALSE(p.next());
  EXPECT_EQ(p.error(), Error::kLineTooLong);
  EXPECT_EQ(p.buffered(), 0u);  // nothing kept after the error
}

TEST(ReplyParser, DefaultLimitsAccept4096OctetLines) {
  ReplyParser p;
  std::string line = "250 " + std::string(4090, 'y') + "\r\n";
  ASSERT_EQ(line.size(), 4096u);
  EXPECT_EQ(parse_all(p, line).size(), 1u);
}

TEST(ReplyParser, TooManyLines) {
  ReplyParser::Limits lim;
  lim.max_lines = 3;
  ReplyParser p(lim);
  EXPECT_EQ(parse_all(p, "250-a\r\n250-b\r\n250 c\r\n").size(), 1u);
  EXPECT_TRUE(parse_all(p, "250-a\r\n250-b\r\n250-c\r\n250 d\r\n").empty());
  EXPECT_EQ(p.error(), Error::kTooManyLines);
}

TEST(ReplyParser, DefaultLimitIs64Lines) {
  std::string in;
  for (int i = 0; i < 63; ++i) in += "250-x\r\n";
  ReplyParser ok;
  EXPECT_EQ(parse_all(ok, in + "250 x\r\n").size(), 1u);
  ReplyParser bad;
  EXPECT_TRUE(parse_all(bad, in + "250-x\r\n250 x\r\n").empty());
  EXPECT_EQ(bad.error(), Error::kTooManyLines);
}

TEST(ReplyParser, EnhancedCodeRepeatedOnEveryLineIsStripped) {
  ReplyParser p;
  auto r = parse_all(p, "550-5.1.1 The email account\r\n550-5.1.1 does not\r\n550 5.1.1 exist\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].enhanced, "5.1.1");
  EXPECT_EQ(r[0].lines, (V{"The email account", "does not", "exist"}));
  EXPECT_EQ(r[0].wire(),
            "550-5.1.1 The email account\r\n550-5.1.1 does not\r\n550 5.1.1 exist\r\n");
  EXPECT_EQ(r[0].brief(), "550 5.1.1 exist");
}

TEST(ReplyParser, EnhancedCodeOnlyWhenWellFormedAndOfTheSameClass) {
  struct Case {
    const char* in;
    const char* esc;
    const char* text;
  };
  for (const Case& c : {
           Case{"250 2.0.0\r\n", "2.0.0", ""},
           Case{"250 2.0.0 \r\n", "2.0.0", ""},
           Case{"451 4.7.1 Try later\r\n", "4.7.1", "Try later"},
           Case{"550 5.123.456 x\r\n", "5.123.456", "x"},
           Case{"250 5.1.1 mismatched class\r\n", "", "5.1.1 mismatched class"},
           Case{"550 5.1234.1 x\r\n", "", "5.1234.1 x"},
           Case{"550 5.1.1x y\r\n", "", "5.1.1x y"},
           Case{"550 5..1 x\r\n", "", "5..1 x"},
           Case{"550 5.1 x\r\n", "", "5.1 x"},
           Case{"354 3.0.0 go ahead\r\n", "", "3.0.0 go ahead"},  // no class 3 (RFC 3463 2)
           Case{"334 VXNlcm5hbWU6\r\n", "", "VXNlcm5hbWU6"},
       }) {
    ReplyParser p;
    auto r = parse_all(p, c.in);
    ASSERT_EQ(r.size(), 1u) << c.in;
    EXPECT_EQ(r[0].enhanced, c.esc) << c.in;
    EXPECT_EQ(r[0].lines, V{c.text}) << c.in;
  }
}

TEST(ReplyParser, EnhancedCodeTakenFromTheFirstLineOnly) {
  ReplyParser p;
  auto r = parse_all(p, "550-5.7.1 first\r\n550-second\r\n550 5.7.2 third\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].enhanced, "5.7.1");
  EXPECT_EQ(r[0].lines, (V{"first", "second", "5.7.2 third"}));
}

TEST(ReplyParser, Utf8TextIsKept) {
  ReplyParser p;
  auto r = parse_all(p, "550 5.1.1 Benutzer \xc3\xbc unbekannt\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].lines, V{"Benutzer \xc3\xbc unbekannt"});
}

TEST(ReplyParser, DiscardDropsBufferedAndPartialReplies) {
  ReplyParser p;
  p.feed("220 2.0.0 go ahead\r\n250-injected\r\n250 in");
  auto r = p.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 220);
  EXPECT_FALSE(p.next());  // partial multi-line reply
  EXPECT_GT(p.buffered(), 0u);
  p.discard();
  EXPECT_EQ(p.buffered(), 0u);
  auto after = parse_all(p, "250 clean\r\n");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].lines, V{"clean"});
}

TEST(ReplyParser, WireRoundTrip) {
  for (std::string_view in : {"250 2.1.0 Ok\r\n", "250-a\r\n250 b\r\n", "221 2.0.0 Bye\r\n",
                              "535 5.7.8 Authentication credentials invalid\r\n"}) {
    ReplyParser p;
    auto r = parse_all(p, in);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].wire(), in);
  }
}

TEST(ReplyParser, TakeEnhancedCode) {
  std::string_view t = "2.1.5 Recipient ok";
  EXPECT_EQ(take_enhanced_code(&t, 2), "2.1.5");
  EXPECT_EQ(t, "Recipient ok");
  t = "4.2.2";
  EXPECT_EQ(take_enhanced_code(&t, 4), "4.2.2");
  EXPECT_EQ(t, "");
  t = "4.2.2 x";
  EXPECT_EQ(take_enhanced_code(&t, 5), "");
  EXPECT_EQ(t, "4.2.2 x");
  t = "";
  EXPECT_EQ(take_enhanced_code(&t, 2), "");
  t = "3.0.0 x";
  EXPECT_EQ(take_enhanced_code(&t, 3), "");
}

TEST(ReplyParser, ParseEhloReply) {
  Reply r(250, "",
          V{"mx.test greets you", "pipelining", "SIZE 35882577", "8BITMIME", "SMTPUTF8", "CHUNKING",
            "DSN", "STARTTLS", "ENHANCEDSTATUSCODES", "AUTH PLAIN login", "AUTH=LOGIN XOAUTH2",
            "X-UNKNOWN stuff", ""});
  Capabilities c = parse_ehlo_reply(r);
  EXPECT_TRUE(c.esmtp);
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.size);
  EXPECT_EQ(c.max_size, 35882577u);
  EXPECT_TRUE(c.eightbitmime);
  EXPECT_TRUE(c.smtputf8);
  EXPECT_TRUE(c.chunking);
  EXPECT_TRUE(c.dsn);
  EXPECT_TRUE(c.starttls);
  EXPECT_TRUE(c.enhanced_status_codes);
  EXPECT_EQ(c.auth, (V{"PLAIN", "LOGIN", "XOAUTH2"}));
  EXPECT_TRUE(c.offers_auth("xoauth2"));
  EXPECT_FALSE(c.offers_auth("CRAM-MD5"));
}

TEST(ReplyParser, ParseEhloReplySizeWithoutLimit) {
  EXPECT_EQ(parse_ehlo_reply(Reply(250, "", V{"h", "SIZE"})).max_size, 0u);
  EXPECT_TRUE(parse_ehlo_reply(Reply(250, "", V{"h", "SIZE"})).size);
  EXPECT_EQ(parse_ehlo_reply(Reply(250, "", V{"h", "SIZE 0"})).max_size, 0u);
  EXPECT_EQ(parse_ehlo_reply(Reply(250, "", V{"h", "SIZE lots"})).max_size, 0u);
  Capabilities c = parse_ehlo_reply(Reply(250, "", V{"just the greeting"}));
  EXPECT_FALSE(c.pipelining);
  EXPECT_FALSE(c.size);
}

}  // namespace
}  // namespace tern
