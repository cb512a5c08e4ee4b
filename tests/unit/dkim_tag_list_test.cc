// Tag=value lists, RFC 6376 3.2.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dkim/tag_list.h"

namespace tern::dkim {
namespace {

TagList Parse(std::string_view text) {
  TagList tags;
  const Status s = parse_tag_list(text, &tags);
  EXPECT_TRUE(s.ok()) << s.message() << " for: " << text;
  return tags;
}

std::string Error(std::string_view text) {
  TagList tags;
  const Status s = parse_tag_list(text, &tags);
  EXPECT_FALSE(s.ok()) << "accepted: " << text;
  return s.message();
}

TEST(DkimTagList, KeyRecord) {
  const TagList t = Parse("v=DKIM1; k=rsa; p=MIGfMA0G");
  ASSERT_EQ(t.tags.size(), 3u);
  EXPECT_EQ(t.tags[0].name, "v");
  EXPECT_EQ(t.tags[0].value, "DKIM1");
  EXPECT_EQ(t.find("k")->value, "rsa");
  EXPECT_EQ(t.find("p")->value, "MIGfMA0G");
  EXPECT_EQ(t.find("x"), nullptr);
}

TEST(DkimTagList, WhitespaceAndFoldingAroundEverything) {
  // FWS may surround names, "=" and values (3.2); inside a value it stays.
  const TagList t = Parse(" a = 1 ;\r\n\tb=x  y ;c\t=\r\n z;");
  ASSERT_EQ(t.tags.size(), 3u);
  EXPECT_EQ(t.find("a")->value, "1");
  EXPECT_EQ(t.find("b")->value, "x  y");
  EXPECT_EQ(t.find("c")->value, "z");
}

TEST(DkimTagList, TrailingSemicolonAndWhitespaceAllowed) {
  EXPECT_EQ(Parse("a=1;").tags.size(), 1u);
  EXPECT_EQ(Parse("a=1; \r\n ").tags.size(), 1u);
  EXPECT_TRUE(Parse("").tags.empty());
  EXPECT_TRUE(Parse("  ").tags.empty());
}

TEST(DkimTagList, EmptyValueIsAValue) {
  const TagList t = Parse("p=; a=1");
  ASSERT_NE(t.find("p"), nullptr);
  EXPECT_EQ(t.find("p")->value, "");
}

TEST(DkimTagList, ValueSpanCoversSurroundingWhitespace) {
  // The verifier blanks exactly this span for b= (3.7).
  const std::string text = "a=1; b= xyz\r\n abc ; c=2";
  const TagList t = Parse(text);
  const Tag* b = t.find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->value, "xyz\r\n abc");
  EXPECT_EQ(text.substr(b->value_begin, b->value_end - b->value_begin), " xyz\r\n abc ");
  const Tag* c = t.find("c");
  EXPECT_EQ(text.substr(c->value_begin, c->value_end - c->value_begin), "2");
}

TEST(DkimTagList, NamesAreCaseSensitive) {
  const TagList t = Parse("V=1; v=2");
  EXPECT_EQ(t.find("v")->value, "2");
  EXPECT_EQ(t.find("V")->value, "1");
}

TEST(DkimTagList, ValuesMayHoldEqualsAndColons) {
  // dkimpy's badversion.txt: the missing ";" makes one odd v= value, which
  // the key record parser then rejects as an unknown version.
  const TagList t = Parse("v=DKIM1: g=*; k=rsa");
  EXPECT_EQ(t.find("v")->value, "DKIM1: g=*");
  EXPECT_EQ(Parse("b=abc==").find("b")->value, "abc==");
}

TEST(DkimTagList, DuplicateTagInvalidatesTheList) {
  EXPECT_NE(Error("a=1; b=2; a=3").find("\"a\" appears twice"), std::string::npos);
}

TEST(DkimTagList, ManyTags) {
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "t" + std::to_string(i) + "=v;";
  EXPECT_EQ(Parse(text).tags.size(), 100000u);
  EXPECT_NE(Error(text + "t5=again").find("\"t5\" appears twice"), std::string::npos);
}

TEST(DkimTagList, MalformedSpecs) {
  EXPECT_NE(Error("a=1; junk; b=2").find("without '='"), std::string::npos);
  EXPECT_NE(Error("a=1;; b=2").find("empty tag-spec"), std::string::npos);
  EXPECT_NE(Error("=1").find("invalid tag name"), std::string::npos);
  EXPECT_NE(Error("1a=1").find("invalid tag name"), std::string::npos);
  EXPECT_NE(Error("a b=1").find("invalid tag name"), std::string::npos);
  EXPECT_NE(Error("a-b=1").find("invalid tag name"), std::string::npos);
  EXPECT_EQ(Parse("a_b9=1").tags[0].name, "a_b9");
}

TEST(DkimTagList, ControlOctetsRefused) {
  EXPECT_NE(Error(std::string("a=x\x01y")).find("0x01"), std::string::npos);
  EXPECT_NE(Error(std::string("a=x\x7fy")).find("0x7f"), std::string::npos);
  EXPECT_NE(Error(std::string("a=x\0y", 5)).find("0x00"), std::string::npos);
  // UTF-8 is tolerated (RFC 8616).
  EXPECT_EQ(Parse("n=caf\xc3\xa9").find("n")->value, "caf\xc3\xa9");
}

TEST(DkimTagList, StripFws) {
  EXPECT_EQ(strip_fws(" ab\r\n\tcd = "), "abcd=");
  EXPECT_EQ(strip_fws(""), "");
}

TEST(DkimTagList, SplitColonList) {
  EXPECT_EQ(split_colon_list("from : to:\r\n subject"),
            (std::vector<std::string>{"from", "to", "subject"}));
  EXPECT_EQ(split_colon_list("email"), (std::vector<std::string>{"email"}));
  EXPECT_EQ(split_colon_list("a::b"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split_colon_list(""), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace tern::dkim
