#include "dns/rdata.h"

#include <gtest/gtest.h>

#include <string>

namespace tern {
namespace {

using namespace std::string_literals;

// A name in wire form: "\3mx1\7example\3org\0".
std::string Wire(std::initializer_list<std::string> labels) {
  std::string out;
  for (const auto& l : labels) out += static_cast<char>(l.size()) + l;
  return out + '\0';
}

TEST(RdataTest, ReadsNames) {
  size_t pos = 0;
  const std::string w = Wire({"MX1", "Example", "ORG"});
  EXPECT_EQ(read_name(w, &pos), "mx1.example.org");
  EXPECT_EQ(pos, w.size());
  pos = 0;
  EXPECT_EQ(read_name("\0"s, &pos), ".");
  EXPECT_EQ(pos, 1u);
  pos = 0;
  EXPECT_EQ(read_name(Wire({"_dmarc", "a-b"}), &pos), "_dmarc.a-b");
}

TEST(RdataTest, EscapesOddOctetsInNames) {
  size_t pos = 0;
  EXPECT_EQ(read_name(Wire({"a.b", "c d", "\xC3\xA9"}), &pos), "a\\.b.c\\032d.\\195\\169");
}

TEST(RdataTest, RefusesMalformedNames) {
  for (const std::string& bad : {""s, "\3ab"s, "\3abc"s, "\xC0\x0C"s, "\x40"s, "\3abc\xC0\x00"s}) {
    size_t pos = 0;
    EXPECT_EQ(read_name(bad, &pos), std::nullopt) << bad;
    EXPECT_EQ(pos, 0u);
  }
  // 255 octets at most in wire form (RFC 1035 3.1): 3 * 64 + 62 + 1.
  const std::string l63(63, 'a');
  size_t pos = 0;
  EXPECT_TRUE(read_name(Wire({l63, l63, l63, std::string(61, 'a')}), &pos));
  pos = 0;
  EXPECT_EQ(read_name(Wire({l63, l63, l63, std::string(62, 'a')}), &pos), std::nullopt);
}

TEST(RdataTest, Mx) {
  EXPECT_EQ(parse_mx("\0\x0a"s + Wire({"mx", "example", "org"})), (MxRecord{10, "mx.example.org"}));
  EXPECT_EQ(parse_mx("\x01\x00"s + Wire({"mx"})), (MxRecord{256, "mx"}));
  EXPECT_EQ(parse_mx("\0\0\0"s), (MxRecord{0, "."}));  // RFC 7505 null MX
  EXPECT_EQ(parse_mx("\0\x0a"s), std::nullopt);
  EXPECT_EQ(parse_mx("\0\x0a"s + Wire({"mx"}) + "x"), std::nullopt);  // trailing octets
  EXPECT_EQ(parse_mx("\0\x0a\x05mx"s), std::nullopt);
}

TEST(RdataTest, TxtKeepsEachString) {
  EXPECT_EQ(parse_txt("\x06v=spf1\x05 -all"s), (TxtRecord{"v=spf1", " -all"}));
  EXPECT_EQ(parse_txt("\0"s), (TxtRecord{""}));
  EXPECT_EQ(parse_txt(std::string(1, '\xff') + std::string(255, 'x')),
            (TxtRecord{std::string(255, 'x')}));
  EXPECT_EQ(parse_txt(""), std::nullopt);
  EXPECT_EQ(parse_txt("\x05"
                      "abc"),
            std::nullopt);
}

TEST(RdataTest, Addresses) {
  EXPECT_EQ(parse_a("\xc0\x00\x02\x01"s), asio::ip::make_address("192.0.2.1"));
  EXPECT_EQ(parse_a("\xc0\x00\x02"s), std::nullopt);
  EXPECT_EQ(parse_a("\xc0\x00\x02\x01\x00"s), std::nullopt);
  EXPECT_EQ(parse_aaaa("\x20\x01\x0d\xb8"s + std::string(11, '\0') + "\x01"),
            asio::ip::make_address("2001:db8::1"));
  EXPECT_EQ(parse_aaaa("\xc0\x00\x02\x01"s), std::nullopt);
}

TEST(RdataTest, Ptr) {
  EXPECT_EQ(parse_ptr(Wire({"host", "example", "org"})), "host.example.org");
  EXPECT_EQ(parse_ptr(Wire({"host"}) + "x"), std::nullopt);
}

TEST(RdataTest, ReverseNames) {
  EXPECT_EQ(reverse_name(asio::ip::make_address("192.0.2.10")), "10.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name(asio::ip::make_address("::ffff:192.0.2.10")), "10.2.0.192.in-addr.arpa");
  // RFC 3596 2.5's example.
  EXPECT_EQ(reverse_name(asio::ip::make_address("4321:0:1:2:3:4:567:89ab")),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa");
}

TEST(RdataTest, Tlsa) {
  // RFC 6698 2.3's example shape: 3 1 1 and a SHA-256 digest.
  const std::string digest(32, '\xab');
  auto t = parse_tlsa("\x03\x01\x01"s + digest);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->usage, 3);
  EXPECT_EQ(t->selector, 1);
  EXPECT_EQ(t->matching, 1);
  EXPECT_EQ(t->data, digest);
  // Odd values are kept: usability is DANE's decision, not the parser's.
  t = parse_tlsa("\xff\x00\x02x"s);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->usage, 255);
  EXPECT_EQ(t->matching, 2);
  EXPECT_EQ(t->data, "x");
}

TEST(RdataTest, RefusesShortTlsa) {
  EXPECT_EQ(parse_tlsa(""), std::nullopt);
  EXPECT_EQ(parse_tlsa("\x03\x01\x01"s), std::nullopt);  // no association data
  EXPECT_EQ(parse_tlsa("\x03"s), std::nullopt);
}

TEST(RdataTest, NormalizesNames) {
  EXPECT_EQ(normalize_name("Example.ORG."), "example.org");
  EXPECT_EQ(normalize_name("example.org"), "example.org");
  EXPECT_EQ(normalize_name("."), ".");
  EXPECT_EQ(normalize_name(""), "");
}

}  // namespace
}  // namespace tern
