// Address: RFC 5321 4.1.2 / 4.1.3 syntax, RFC 5321 4.5.3.1 limits,
// RFC 6531 UTF-8, RFC 3629 well-formedness.
#include "tern/address.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace tern {
namespace {

bool mailbox_ok(std::string_view s, bool utf8 = false) {
  return parse_mailbox(s, utf8).has_value();
}

// A valid domain name of exactly n octets (labels of at most 63).
std::string domain_of(size_t n) {
  std::string d;
  while (true) {
    const size_t left = n - d.size();
    if (left <= 63) {
      d += std::string(left, 'a');
      return d;
    }
    const size_t take = left - 63 - 1 < 1 ? left - 2 : 63;
    d += std::string(take, 'b') + ".";
  }
}

// ---------------------------------------------------------------------------
// parse_mailbox: accepted forms.

TEST(ParseMailboxTest, SplitsLocalAndDomain) {
  const auto a = parse_mailbox("john.doe@Example.COM", false);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local, "john.doe");
  EXPECT_EQ(a->domain, "Example.COM");
}

TEST(ParseMailboxTest, AcceptsEveryAtextSpecial) {
  const std::string local = "!#$%&'*+-/=?^_`{|}~";
  const auto a = parse_mailbox(local + "@x.org", false);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local, local);
}

TEST(ParseMailboxTest, AcceptsSingleLabelAndNumericLabels) {
  EXPECT_TRUE(mailbox_ok("root@localhost"));
  EXPECT_TRUE(mailbox_ok("a@123.example"));
  EXPECT_TRUE(mailbox_ok("a@1.2.3.4"));  // a domain name of digits, not a literal
  EXPECT_TRUE(mailbox_ok("a@x-y--z.example"));
}

TEST(ParseMailboxTest, QuotedLocalPartIsKeptVerbatim) {
  const auto a = parse_mailbox(R"("john \"j\" doe"@example.com)", false);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local, R"("john \"j\" doe")");
  EXPECT_EQ(a->domain, "example.com");
}

TEST(ParseMailboxTest, QuotesThatAreNotNeededAreDropped) {
  // RFC 5321 4.1.2: all quoted forms are equivalent; the one with the least
  // quoting is the one to use. "\"me\"" is the mailbox "me".
  const auto local = [](std::string_view s, bool utf8 = false) {
    const auto a = parse_mailbox(s, utf8);
    return a ? a->local : std::string("(refused)");
  };
  EXPECT_EQ(local(R"("me"@x.org)"), "me");
  EXPECT_EQ(local(R"("\m\e"@x.org)"), "me");
  EXPECT_EQ(local(R"("First.Last+tag"@x.org)"), "First.Last+tag");
  EXPECT_EQ(local(R"("postmaster"@x.org)"), "postmaster");
  EXPECT_EQ(local("\"j\xC3\xB6rg\"@x.org", true), "j\xC3\xB6rg");
  // Content that is no Dot-string keeps its quotes and escapes as written.
  EXPECT_EQ(local(R"("a b"@x.org)"), R"("a b")");
  EXPECT_EQ(local(R"("a\ b"@x.org)"), R"("a\ b")");
  EXPECT_EQ(local(R"("a..b"@x.org)"), R"("a..b")");
  EXPECT_EQ(local(R"(".a"@x.org)"), R"(".a")");
  EXPECT_EQ(local(R"("a@b"@x.org)"), R"("a@b")");
  EXPECT_EQ(local(R"(""@x.org)"), R"("")");
  // MAIL and RCPT paths get the same treatment.
  const auto path = parse_path(R"(<@a.org:"me"@x.org>)", false, false, false);
  ASSERT_TRUE(path);
  EXPECT_EQ(path->str(), "me@x.org");
}

TEST(AddressTest, UnquoteLocal) {
  EXPECT_EQ(unquote_local(R"("a\"b")"), "a\"b");
  EXPECT_EQ(unquote_local(R"("a\\b")"), "a\\b");
  EXPECT_EQ(unquote_local(R"("a b")"), "a b");
  EXPECT_EQ(unquote_local("plain"), "plain");
  EXPECT_EQ(unquote_local("\"\""), "");
}

TEST(ParseMailboxTest, QuotedLocalPartMayHoldSpecials) {
  EXPECT_TRUE(mailbox_ok(R"("a@b"@c.org)"));
  EXPECT_TRUE(mailbox_ok(R"("a>b,c:d"@c.org)"));
  EXPECT_TRUE(mailbox_ok(R"("back\\slash"@c.org)"));
  EXPECT_TRUE(mailbox_ok(R"(""@c.org)"));  // *QcontentSMTP may be empty
  EXPECT_TRUE(mailbox_ok(R"("a..b."@c.org)"));
}

TEST(ParseMailboxTest, LocalPartLimitIs64Octets) {
  EXPECT_TRUE(mailbox_ok(std::string(64, 'a') + "@x.org"));
  EXPECT_FALSE(mailbox_ok(std::string(65, 'a') + "@x.org"));
  // The quotes count: they are part of the local part as sent.
  EXPECT_TRUE(mailbox_ok("\"" + std::string(62, 'a') + "\"@x.org"));
  EXPECT_FALSE(mailbox_ok("\"" + std::string(63, 'a') + "\"@x.org"));
}

TEST(ParseMailboxTest, DomainLimitIs255Octets) {
  ASSERT_EQ(domain_of(255).size(), 255u);
  EXPECT_TRUE(mailbox_ok("a@" + domain_of(255)));
  EXPECT_FALSE(mailbox_ok("a@" + domain_of(256)));
}

TEST(ParseMailboxTest, AsciiLabelLimitIs63Octets) {
  EXPECT_TRUE(mailbox_ok("a@" + std::string(63, 'x') + ".org"));
  EXPECT_FALSE(mailbox_ok("a@" + std::string(64, 'x') + ".org"));
}

// ---------------------------------------------------------------------------
// parse_mailbox: refused forms.

TEST(ParseMailboxTest, RefusesMissingParts) {
  EXPECT_FALSE(mailbox_ok(""));
  EXPECT_FALSE(mailbox_ok("@"));
  EXPECT_FALSE(mailbox_ok("user"));
  EXPECT_FALSE(mailbox_ok("@example.com"));
  EXPECT_FALSE(mailbox_ok("user@"));
  EXPECT_FALSE(mailbox_ok("a@b@c.org"));
}

TEST(ParseMailboxTest, RefusesBadDotsInLocalPart) {
  EXPECT_FALSE(mailbox_ok(".a@x.org"));
  EXPECT_FALSE(mailbox_ok("a.@x.org"));
  EXPECT_FALSE(mailbox_ok("a..b@x.org"));
  EXPECT_FALSE(mailbox_ok(".@x.org"));
}

TEST(ParseMailboxTest, RefusesNonAtextInLocalPart) {
  for (char c : std::string(" ()<>[]:;@\\,\"")) {
    EXPECT_FALSE(mailbox_ok(std::string("a") + c + "b@x.org")) << "octet " << int(c);
  }
  EXPECT_FALSE(mailbox_ok(std::string("a\0b@x.org", 9)));
  EXPECT_FALSE(mailbox_ok("a\tb@x.org"));
  EXPECT_FALSE(
      mailbox_ok("a\x7f"
                 "b@x.org"));
}

TEST(ParseMailboxTest, RefusesBadQuotedStrings) {
  EXPECT_FALSE(mailbox_ok(R"("abc@x.org)"));     // unterminated
  EXPECT_FALSE(mailbox_ok(R"("abc\"@x.org)"));   // escaped closing quote
  EXPECT_FALSE(mailbox_ok(R"("a"b@x.org)"));     // text after the quote
  EXPECT_FALSE(mailbox_ok(R"(a"b"@x.org)"));     // quote inside a dot-string
  EXPECT_FALSE(mailbox_ok(R"("a"."b"@x.org)"));  // RFC 5322 obs form, not SMTP
  EXPECT_FALSE(mailbox_ok("\"a\tb\"@x.org"));    // control octet
  EXPECT_FALSE(mailbox_ok("\"a\\\tb\"@x.org"));  // quoted-pair of a control octet
  EXPECT_FALSE(mailbox_ok("\"a\x7f\"@x.org"));   // DEL
  EXPECT_FALSE(mailbox_ok("\"a\r\nb\"@x.org"));  // CRLF
  EXPECT_FALSE(mailbox_ok("\"a\\"));             // backslash at end of input
}

TEST(ParseMailboxTest, RefusesBadDomains) {
  EXPECT_FALSE(mailbox_ok("a@-x.org"));
  EXPECT_FALSE(mailbox_ok("a@x-.org"));
  EXPECT_FALSE(mailbox_ok("a@x.org-"));
  EXPECT_FALSE(mailbox_ok("a@x..org"));
  EXPECT_FALSE(mailbox_ok("a@.x.org"));
  EXPECT_FALSE(mailbox_ok("a@x.org."));           // no trailing root dot in SMTP
  EXPECT_FALSE(mailbox_ok("a@under_score.org"));  // RFC 5321 4.1.2
  EXPECT_FALSE(mailbox_ok("a@sp ace.org"));
  EXPECT_FALSE(mailbox_ok("a@x.org>"));
  EXPECT_FALSE(mailbox_ok("a@-"));
}

// ---------------------------------------------------------------------------
// Address literals (RFC 5321 4.1.3).

TEST(AddressLiteralTest, AcceptsIPv4) {
  const auto a = parse_mailbox("a@[192.0.2.1]", false);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->domain, "[192.0.2.1]");
  EXPECT_TRUE(mailbox_ok("a@[0.0.0.0]"));
  EXPECT_TRUE(mailbox_ok("a@[255.255.255.255]"));
  EXPECT_TRUE(mailbox_ok("a@[010.001.000.1]"));  // Snum = 1*3DIGIT
}

TEST(AddressLiteralTest, RefusesBadIPv4) {
  for (const char* lit : {"[256.0.0.1]", "[1.2.3]", "[1.2.3.4.5]", "[1.2.3.0004]", "[1..3.4]",
                          "[1.2.3.4.]", "[.1.2.3]", "[1.2.3.a]", "[]", "[ 1.2.3.4]", "[1.2.3.4",
                          "1.2.3.4]", "[1.2.3.4]x", "[-1.2.3.4]", "[999.1.1.1]"}) {
    EXPECT_FALSE(mailbox_ok(std::string("a@") + lit)) << lit;
  }
}

TEST(AddressLiteralTest, AcceptsIPv6Forms) {
  for (const char* lit : {
           "[IPv6:2001:db8:0:0:0:0:0:1]",  // IPv6-full
           "[IPv6:2001:DB8::1]",           // IPv6-comp
           "[IPv6:::]",                    // all zero
           "[IPv6:::1]",                   //
           "[IPv6:fe80::]",                //
           "[IPv6:1:2:3::6:7:8]",          // 6 groups + "::"
           "[IPv6:1:2:3:4:5:6:1.2.3.4]",   // IPv6v4-full
           "[IPv6:::ffff:192.0.2.1]",      // IPv6v4-comp
           "[IPv6:::192.0.2.1]",           //
           "[IPv6:1:2::3:4:192.0.2.1]",    // 4 groups + "::" + IPv4
           "[ipv6:abcd::1]",               // ABNF strings are case-insensitive
       }) {
    EXPECT_TRUE(mailbox_ok(std::string("a@") + lit)) << lit;
  }
}

TEST(AddressLiteralTest, RefusesBadIPv6) {
  for (const char* lit : {
           "[IPv6:1:2:3:4:5:6:7]",       // 7 groups, no "::"
           "[IPv6:1:2:3:4:5:6:7:8:9]",   // 9 groups
           "[IPv6:1:2:3:4:5:6:7::]",     // "::" must stand for >= 2 groups
           "[IPv6:1::2::3]",             // two "::"
           "[IPv6:12345::1]",            // 5 hex digits
           "[IPv6:g::1]",                //
           "[IPv6::1]",                  // single leading colon
           "[IPv6:1:]",                  //
           "[IPv6:1:::2]",               //
           "[IPv6:]",                    //
           "[IPv6]",                     //
           "[IPv6:1:2:3:4:5:1.2.3.4]",   // v4-full needs 6 groups
           "[IPv6:1:2:3:4:5::1.2.3.4]",  // v4-comp allows only 4 groups
           "[IPv6:::1.2.3]",             // bad IPv4 tail
           "[IPv6:::1.2.3.256]",         //
           "[IPv6:1.2.3.4]",             // IPv4 alone under the IPv6 tag
           "[2001:db8::1]",              // IPv6 without its tag
           "[x-tag:whatever]",           // General-address-literal: none registered
       }) {
    EXPECT_FALSE(mailbox_ok(std::string("a@") + lit)) << lit;
  }
}

TEST(AddressLiteralTest, UTF8IsNeverPartOfALiteral) {
  EXPECT_FALSE(mailbox_ok("a@[1.2.3.\xD9\xA1]", /*utf8=*/true));  // ARABIC-INDIC DIGIT ONE
}

// ---------------------------------------------------------------------------
// UTF-8 (RFC 6531 3.3; RFC 3629 4).

TEST(Utf8Test, AcceptedOnlyWhenAllowed) {
  const std::string addr =
      "\xE7\x94\xA8\xE6\x88\xB7@\xE4\xBE\x8B\xE5\xAD\x90.\xE5\xB9\xBF\xE5\x91\x8A";
  EXPECT_FALSE(mailbox_ok(addr, false));
  const auto a = parse_mailbox(addr, true);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local, "\xE7\x94\xA8\xE6\x88\xB7");
  EXPECT_TRUE(a->needs_utf8());
}

TEST(Utf8Test, InQuotedLocalPart) {
  EXPECT_TRUE(mailbox_ok("\"J\xC3\xB6rg M\"@x.org", true));
  EXPECT_FALSE(mailbox_ok("\"J\xC3\xB6rg M\"@x.org", false));
}

TEST(Utf8Test, NonAsciiLabelMayExceed63Octets) {
  // 22 three-octet characters: 66 octets of UTF-8, but a short A-label.
  std::string label;
  for (int i = 0; i < 22; ++i) label += "\xE4\xBE\x8B";
  EXPECT_TRUE(mailbox_ok("a@" + label + ".cn", true));
}

TEST(Utf8Test, NonAsciiLabelMustNotStartOrEndWithHyphen) {
  EXPECT_FALSE(mailbox_ok("a@-\xC3\xA9.org", true));
  EXPECT_FALSE(mailbox_ok("a@\xC3\xA9-.org", true));
  EXPECT_TRUE(mailbox_ok("a@\xC3\xA9-x.org", true));
}

TEST(Utf8Test, BoundaryCodePointsAreAccepted) {
  for (const char* cp : {"\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80",
                         "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(mailbox_ok(std::string("a") + cp + "b@x.org", true)) << testing::PrintToString(cp);
    EXPECT_TRUE(mailbox_ok(std::string("a@x") + cp + ".org", true)) << testing::PrintToString(cp);
  }
}

TEST(Utf8Test, IllFormedSequencesAreRefusedEverywhere) {
  for (const char* bad : {
           "\x80",              // lone continuation
           "\xBF",              //
           "\xC0\xAF",          // overlong "/"
           "\xC1\xBF",          // overlong
           "\xE0\x80\xAF",      // overlong 3-octet
           "\xE0\x9F\xBF",      // overlong 3-octet (U+07FF)
           "\xF0\x80\x80\xAF",  // overlong 4-octet
           "\xF0\x8F\xBF\xBF",  // overlong 4-octet (U+FFFF)
           "\xED\xA0\x80",      // surrogate U+D800
           "\xED\xBF\xBF",      // surrogate U+DFFF
           "\xF4\x90\x80\x80",  // U+110000
           "\xF5\x80\x80\x80",  //
           "\xFE",              //
           "\xFF",              //
           "\xC3",              // truncated
           "\xE4\xB8",          // truncated
           "\xF0\x9F\x98",      // truncated
           "\xC3\x28",          // continuation missing
       }) {
    const std::string b = bad;
    EXPECT_FALSE(mailbox_ok("a" + b + "@x.org", true)) << testing::PrintToString(b);
    EXPECT_FALSE(mailbox_ok("\"a" + b + "\"@x.org", true)) << testing::PrintToString(b);
    EXPECT_FALSE(mailbox_ok("a@x" + b + ".org", true)) << testing::PrintToString(b);
    EXPECT_FALSE(mailbox_ok("a@x" + b, true)) << testing::PrintToString(b);  // at the very end
  }
}

// ---------------------------------------------------------------------------
// parse_path.

std::optional<Address> path(std::string_view s, bool null = false, bool pm = false,
                            bool utf8 = false) {
  return parse_path(s, null, pm, utf8);
}

TEST(ParsePathTest, PlainPath) {
  const auto a = path("<user@example.org>");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local, "user");
  EXPECT_EQ(a->domain, "example.org");
}

TEST(ParsePathTest, NullPathOnlyWhenAllowed) {
  EXPECT_FALSE(path("<>", /*null=*/false));
  const auto a = path("<>", /*null=*/true);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_null());
}

TEST(ParsePathTest, PostmasterOnlyWhenAllowed) {
  EXPECT_FALSE(path("<Postmaster>", false, /*pm=*/false));
  for (const char* p : {"<Postmaster>", "<postmaster>", "<POSTMASTER>", "<pOsTmAsTeR>"}) {
    const auto a = path(p, false, /*pm=*/true);
    ASSERT_TRUE(a) << p;
    EXPECT_EQ(a->local, "Postmaster");
    EXPECT_EQ(a->domain, "");
    EXPECT_FALSE(a->is_null());
  }
  EXPECT_FALSE(path("<Postmasters>", false, true));
  const auto full = path("<postmaster@example.org>", false, true);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->local, "postmaster");
  EXPECT_EQ(full->domain, "example.org");
}

TEST(ParsePathTest, SourceRouteIsAcceptedAndDropped) {
  const auto a = path("<@relay1.example,@relay2.example:user@final.example>");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local, "user");
  EXPECT_EQ(a->domain, "final.example");
  const auto one = path("<@r.example:u@d.example>");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->str(), "u@d.example");
}

TEST(ParsePathTest, BadSourceRoutesAreRefused) {
  for (const char* p :
       {"<@:u@d.org>", "<@r.org u@d.org>", "<@r.org,u@d.org>", "<@r.org,,@s.org:u@d.org>",
        "<@r.org,@:u@d.org>", "<@r.org:>", "<@bad_host:u@d.org>", "<@-r.org:u@d.org>",
        "<r.org:u@d.org>", "<@r.org:@s.org:u@d.org>", "<@[1.2.3.4]:u@d.org>"}) {
    EXPECT_FALSE(path(p)) << p;
  }
}

TEST(ParsePathTest, BracketsAreRequiredAndExact) {
  for (const char* p : {"user@example.org", "<user@example.org", "user@example.org>",
                        "< user@example.org>", "<user@example.org >", "<<user@example.org>>",
                        "<user@example.org>>", "<", ">", "", "<user@example.org> ", " <a@b.org>"}) {
    EXPECT_FALSE(path(p, true, true)) << p;
  }
}

TEST(ParsePathTest, QuotedLocalPartMayHoldAngleBracket) {
  const auto a = path(R"(<"a>b"@example.org>)");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local, R"("a>b")");
}

TEST(ParsePathTest, PathLimitIs256OctetsIncludingBrackets) {
  // "<" + 64 + "@" + domain + ">" = 256 when the domain has 189 octets.
  const std::string local(64, 'l');
  EXPECT_TRUE(path("<" + local + "@" + domain_of(189) + ">"));
  EXPECT_FALSE(path("<" + local + "@" + domain_of(190) + ">"));
  // The route counts too, though it is dropped.
  const std::string route = "@" + domain_of(60) + ":";
  EXPECT_TRUE(path("<" + route + local + "@" + domain_of(189 - route.size()) + ">"));
  EXPECT_FALSE(path("<" + route + local + "@" + domain_of(190 - route.size()) + ">"));
}

TEST(ParsePathTest, Utf8FollowsTheFlag) {
  EXPECT_FALSE(path("<\xC3\xA9@x.org>", false, false, /*utf8=*/false));
  EXPECT_TRUE(path("<\xC3\xA9@x.org>", false, false, /*utf8=*/true));
  EXPECT_TRUE(path("<@r\xC3\xA9.org:a@x.org>", false, false, /*utf8=*/true));
  EXPECT_FALSE(path("<@r\xC3\xA9.org:a@x.org>", false, false, /*utf8=*/false));
}

// ---------------------------------------------------------------------------
// Address methods.

TEST(AddressTest, Str) {
  EXPECT_EQ((Address{"u", "d.org"}).str(), "u@d.org");
  EXPECT_EQ((Address{"\"a b\"", "d.org"}).str(), "\"a b\"@d.org");
  EXPECT_EQ(Address{}.str(), "");
  EXPECT_EQ((Address{"Postmaster", ""}).str(), "Postmaster");
}

TEST(AddressTest, IsNull) {
  EXPECT_TRUE(Address{}.is_null());
  EXPECT_FALSE((Address{"Postmaster", ""}).is_null());
  EXPECT_FALSE((Address{"", "x"}).is_null());
}

TEST(AddressTest, NeedsUtf8) {
  EXPECT_FALSE((Address{"user", "example.org"}).needs_utf8());
  EXPECT_TRUE((Address{"j\xC3\xB6rg", "example.org"}).needs_utf8());
  EXPECT_TRUE((Address{"user", "\xE4\xBE\x8B.cn"}).needs_utf8());
  EXPECT_FALSE(Address{}.needs_utf8());
}

TEST(AddressTest, DomainLowerIsAsciiOnly) {
  EXPECT_EQ((Address{"U", "Mail.EXAMPLE.Org"}).domain_lower(), "mail.example.org");
  // "\xC3\x89" is E-acute; its octets must come back unchanged.
  EXPECT_EQ((Address{"u", "CAF\xC3\x89.Org"}).domain_lower(), "caf\xC3\x89.org");
  EXPECT_EQ((Address{"u", "[IPv6:ABCD::1]"}).domain_lower(), "[ipv6:abcd::1]");
}

TEST(AddressTest, LocalBase) {
  EXPECT_EQ((Address{"User", "x"}).local_base(), "user");
  EXPECT_EQ((Address{"User+Tag", "x"}).local_base(), "user");
  EXPECT_EQ((Address{"a+b+c", "x"}).local_base(), "a");
  EXPECT_EQ((Address{"a+", "x"}).local_base(), "a");
  EXPECT_EQ((Address{"+tag", "x"}).local_base(), "+tag");  // no base: not a tag
  EXPECT_EQ((Address{"J\xC3\x96RG+x", "x"}).local_base(), "j\xC3\x96rg");
  EXPECT_EQ((Address{"Postmaster", ""}).local_base(), "postmaster");
}

TEST(AddressTest, LocalBaseUnquotes) {
  // RFC 5321 4.1.2: all quoted forms are equivalent.
  EXPECT_EQ((Address{"\"User+x\"", "x"}).local_base(), "user");
  EXPECT_EQ((Address{R"("\J\o\e")", "x"}).local_base(), "joe");
  EXPECT_EQ((Address{R"("a\"b")", "x"}).local_base(), "a\"b");
  EXPECT_EQ((Address{R"("a\\b")", "x"}).local_base(), "a\\b");
  EXPECT_EQ((Address{R"("a b")", "x"}).local_base(), "a b");
  EXPECT_EQ((Address{"\"\"", "x"}).local_base(), "");
}

TEST(AddressTest, ParsedQuotedAndPlainFormsShareLocalBase) {
  const auto quoted = parse_mailbox(R"("Us\er+1"@x.org)", false);
  const auto plain = parse_mailbox("user+2@x.org", false);
  ASSERT_TRUE(quoted && plain);
  EXPECT_NE(quoted->local, plain->local);
  EXPECT_EQ(quoted->local_base(), plain->local_base());
}

}  // namespace
}  // namespace tern
