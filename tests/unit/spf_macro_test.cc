// SPF macro expansion (RFC 7208 7), with the examples of RFC 7208 7.4.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "spf/macro.h"

namespace tern::spf {
namespace {

MacroValues Rfc74(const char* ip = "192.0.2.3") {
  MacroValues v;
  v.sender = "strong-bad@email.example.com";
  v.domain = "email.example.com";
  v.ip = asio::ip::make_address(ip);
  v.helo = "mx.example.org";
  v.receiver = "mail.example.net";
  v.timestamp = 1700000000;
  return v;
}

std::string Expand(const std::string& s, const MacroValues& v,
                   MacroContext context = MacroContext::kDomainSpec) {
  const Expansion e = expand_macros(s, v, context);
  EXPECT_TRUE(e.ok) << s << ": " << e.error;
  return e.value;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

TEST(SpfMacro, Rfc7208Section74Examples) {
  const MacroValues v = Rfc74();
  const std::pair<const char*, const char*> examples[] = {
      {"%{s}", "strong-bad@email.example.com"},
      {"%{o}", "email.example.com"},
      {"%{d}", "email.example.com"},
      {"%{d4}", "email.example.com"},
      {"%{d3}", "email.example.com"},
      {"%{d2}", "example.com"},
      {"%{d1}", "com"},
      {"%{dr}", "com.example.email"},
      {"%{d2r}", "example.email"},
      {"%{l}", "strong-bad"},
      {"%{l-}", "strong.bad"},
      {"%{lr}", "strong-bad"},
      {"%{lr-}", "bad.strong"},
      {"%{l1r-}", "strong"},
      {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
      {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
      {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
      {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
      {"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
  };
  for (const auto& [macro, want] : examples) EXPECT_EQ(Expand(macro, v), want) << macro;
}

TEST(SpfMacro, Rfc7208Section74Ipv6Example) {
  // RFC 7208 7.4 prints the nibbles in lower case; we write them in upper
  // case like pyspf and the RFC 7208 test suite. DNS names ignore case.
  const MacroValues v = Rfc74("2001:db8::cb01");
  EXPECT_EQ(Lower(Expand("%{ir}.%{v}._spf.%{d2}", v)),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
  EXPECT_EQ(Expand("%{c}", v, MacroContext::kExplanation), "2001:db8::cb01");
}

TEST(SpfMacro, EscapesAndUppercaseUrlEncoding) {
  const MacroValues v = Rfc74();
  EXPECT_EQ(Expand("%%%_%-", v, MacroContext::kExplanation), "% %20");
  EXPECT_EQ(Expand("%{S}", v), "strong-bad%40email.example.com");
  EXPECT_EQ(Expand("%{L}", v), "strong-bad");
  MacroValues odd = v;
  odd.sender = "a b+c/d@example.com";
  EXPECT_EQ(Expand("%{L}", odd), "a%20b%2Bc%2Fd");
  EXPECT_EQ(Expand("%{l}", odd), "a b+c/d");  // lower-case: as is
}

TEST(SpfMacro, ExplanationOnlyMacros) {
  const MacroValues v = Rfc74();
  EXPECT_EQ(Expand("%{c} %{r} %{t}", v, MacroContext::kExplanation),
            "192.0.2.3 mail.example.net 1700000000");
  for (const char* s : {"%{c}", "%{r}.example.com", "%{t}"}) {
    EXPECT_FALSE(expand_macros(s, v, MacroContext::kDomainSpec).ok) << s;
    EXPECT_NE(check_macro_string(s, MacroContext::kDomainSpec), "") << s;
  }
  MacroValues no_receiver = v;
  no_receiver.receiver.clear();
  EXPECT_EQ(Expand("%{r}", no_receiver, MacroContext::kExplanation), "unknown");
}

TEST(SpfMacro, ValidatedNameDefaultsToUnknown) {
  MacroValues v = Rfc74();
  EXPECT_EQ(Expand("%{p}", v), "unknown");
  v.validated = "mx.example.com";
  EXPECT_EQ(Expand("%{p2}", v), "example.com");
  EXPECT_TRUE(validated_name_needed("x.%{p}.y"));
  EXPECT_TRUE(validated_name_needed("%{P1r}"));
  EXPECT_FALSE(validated_name_needed("%%{p}"));
  EXPECT_FALSE(validated_name_needed("%{d}"));
}

TEST(SpfMacro, SyntaxErrors) {
  const MacroValues v = Rfc74();
  for (const char* s : {"%", "%a", "%{", "%{d", "%{x}", "%{d0}", "%{dr:}", "a b"}) {
    EXPECT_FALSE(expand_macros(s, v, MacroContext::kDomainSpec).ok) << s;
    EXPECT_NE(check_macro_string(s, MacroContext::kDomainSpec), "") << s;
  }
  EXPECT_EQ(check_macro_string("a b %{d}", MacroContext::kExplanation), "");
  EXPECT_NE(check_macro_string("caf\xc3\xa9", MacroContext::kExplanation), "");
}

TEST(SpfMacro, DelimitersAndLargeDigitCounts) {
  MacroValues v = Rfc74();
  v.sender = "a.b-c+d,e/f_g=h@example.com";
  EXPECT_EQ(Expand("%{l.-+,/_=}", v), "a.b.c.d.e.f.g.h");
  EXPECT_EQ(Expand("%{l2r+}", v), "d,e/f_g=h.a.b-c");
  EXPECT_EQ(Expand("%{d128}", v), "email.example.com");
}

TEST(SpfMacro, IpText) {
  EXPECT_EQ(ip_macro_text(asio::ip::make_address("192.0.2.3")), "192.0.2.3");
  EXPECT_EQ(ip_macro_text(asio::ip::make_address("2001:db8::1")),
            "2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1");
}

}  // namespace
}  // namespace tern::spf
