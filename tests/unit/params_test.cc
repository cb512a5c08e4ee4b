// MAIL FROM / RCPT TO arguments: every reply path of parse_mail_args and
// parse_rcpt_args, and xtext (RFC 3461 4).
#include "core/params.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tern {
namespace {

// Unwraps a successful parse, or fails the test showing the reply.
MailArgs mail_ok(std::string_view text) {
  auto r = parse_mail_args(text);
  if (auto* reply = std::get_if<Reply>(&r)) {
    ADD_FAILURE() << "MAIL " << text << " -> " << reply->brief();
    return {};
  }
  return std::get<MailArgs>(r);
}

RcptArgs rcpt_ok(std::string_view text, bool smtputf8 = false) {
  auto r = parse_rcpt_args(text, smtputf8);
  if (auto* reply = std::get_if<Reply>(&r)) {
    ADD_FAILURE() << "RCPT " << text << " -> " << reply->brief();
    return {};
  }
  return std::get<RcptArgs>(r);
}

// The reply for a refused MAIL, as "code enhanced text".
std::string mail_err(std::string_view text) {
  auto r = parse_mail_args(text);
  if (!std::holds_alternative<Reply>(r)) return "accepted";
  return std::get<Reply>(r).brief();
}

std::string rcpt_err(std::string_view text, bool smtputf8 = false) {
  auto r = parse_rcpt_args(text, smtputf8);
  if (!std::holds_alternative<Reply>(r)) return "accepted";
  return std::get<Reply>(r).brief();
}

const std::string kBadSender = "501 5.1.7 Bad sender address syntax";
const std::string kBadRcpt = "501 5.1.3 Bad recipient address syntax";
const std::string kBadSyntax = "501 5.5.4 Bad parameter syntax";

// UTF-8 mailbox "用户@例子.广告".
const std::string kUtf8Addr =
    "\xE7\x94\xA8\xE6\x88\xB7@\xE4\xBE\x8B\xE5\xAD\x90.\xE5\xB9\xBF\xE5\x91\x8A";

// ---------------------------------------------------------------------------
// MAIL: the path.

TEST(MailArgsTest, PlainPathNoParameters) {
  const MailArgs m = mail_ok("<alice@example.org>");
  EXPECT_EQ(m.from.str(), "alice@example.org");
  EXPECT_FALSE(m.size);
  EXPECT_EQ(m.body, BodyType::kUnspecified);
  EXPECT_FALSE(m.smtputf8);
  EXPECT_EQ(m.ret, DsnRet::kUnspecified);
  EXPECT_EQ(m.envid, "");
  EXPECT_EQ(m.auth, "");
}

TEST(MailArgsTest, NullReversePath) { EXPECT_TRUE(mail_ok("<>").from.is_null()); }

TEST(MailArgsTest, SpacesBeforePathAreAccepted) {
  EXPECT_EQ(mail_ok(" <a@b.org>").from.str(), "a@b.org");
  EXPECT_EQ(mail_ok("   <a@b.org> SIZE=5").size, 5u);
}

TEST(MailArgsTest, SourceRouteIsDropped) {
  EXPECT_EQ(mail_ok("<@relay.example:a@b.org>").from.str(), "a@b.org");
}

TEST(MailArgsTest, QuotedLocalPartWithAngleBracketAndParameters) {
  const MailArgs m = mail_ok(R"(<"a> b"@b.org> SIZE=9)");
  EXPECT_EQ(m.from.local, R"("a> b")");
  EXPECT_EQ(m.size, 9u);
}

TEST(MailArgsTest, EscapedQuoteDoesNotEndTheQuotedLocalPart) {
  const MailArgs m = mail_ok(R"(<"a\"> b"@b.org> SIZE=9)");
  EXPECT_EQ(m.from.local, R"("a\"> b")");
  EXPECT_EQ(m.size, 9u);
}

TEST(MailArgsTest, BadPathsGive501_5_1_7) {
  for (const char* t :
       {"", "   ", "a@b.org", "<a@b.org", "a@b.org>", "<a@@b.org>", "<a@b.org>x",
        "<a@b.org>\tSIZE=1", "<Postmaster>", "<a b@c.org>", "< a@b.org>", "<\"a@b.org>",
        "<a@b_c.org>", "<a@b.org>>", "\t<a@b.org>", "<\xC3\x28@b.org> SMTPUTF8"}) {
    EXPECT_EQ(mail_err(t), kBadSender) << testing::PrintToString(t);
  }
}

TEST(MailArgsTest, BadPathIsReportedBeforeBadParameters) {
  EXPECT_EQ(mail_err("<a@@b.org> FOO=1 SIZE=x"), kBadSender);
}

// ---------------------------------------------------------------------------
// MAIL: parameter syntax, unknown, duplicate.

TEST(MailArgsTest, SeveralSpacesAndTrailingSpacesBetweenParameters) {
  const MailArgs m = mail_ok("<a@b.org>   SIZE=10    BODY=8BITMIME  ");
  EXPECT_EQ(m.size, 10u);
  EXPECT_EQ(m.body, BodyType::k8BitMime);
}

TEST(MailArgsTest, KeywordsAndFixedValuesAreCaseInsensitive) {
  const MailArgs m = mail_ok("<a@b.org> size=10 Body=8bitmime smtputf8 ret=hdrs");
  EXPECT_EQ(m.size, 10u);
  EXPECT_EQ(m.body, BodyType::k8BitMime);
  EXPECT_TRUE(m.smtputf8);
  EXPECT_EQ(m.ret, DsnRet::kHdrs);
}

TEST(MailArgsTest, MalformedParametersGive501_5_5_4) {
  for (const char* t :
       {"<a@b.org> =1", "<a@b.org> -SIZE=1", "<a@b.org> SI_ZE=1", "<a@b.org> SIZE=1=2",
        "<a@b.org> SIZE=", "<a@b.org> ENVID=a\tb", "<a@b.org> ENVID=\xC3\xA9",
        "<a@b.org> SIZE=1\tBODY=7BIT", "<a@b.org> ENVID=a\x7f"}) {
    EXPECT_EQ(mail_err(t), kBadSyntax) << testing::PrintToString(t);
  }
}

TEST(MailArgsTest, UnknownParametersGive555_5_5_4) {
  EXPECT_EQ(mail_err("<a@b.org> FOO=bar"), "555 5.5.4 Unsupported parameter FOO");
  EXPECT_EQ(mail_err("<a@b.org> x-y"), "555 5.5.4 Unsupported parameter X-Y");
  // RCPT parameters are unknown to MAIL.
  EXPECT_EQ(mail_err("<a@b.org> NOTIFY=NEVER"), "555 5.5.4 Unsupported parameter NOTIFY");
  // Parameters are checked left to right.
  EXPECT_EQ(mail_err("<a@b.org> FOO=1 SIZE=x"), "555 5.5.4 Unsupported parameter FOO");
  EXPECT_EQ(mail_err("<a@b.org> SIZE=x FOO=1"), "501 5.5.4 Bad SIZE= value");
}

TEST(MailArgsTest, DuplicatesGive501_5_5_4) {
  EXPECT_EQ(mail_err("<a@b.org> SIZE=1 SIZE=1"), "501 5.5.4 Duplicate parameter SIZE");
  EXPECT_EQ(mail_err("<a@b.org> size=1 SIZE=2"), "501 5.5.4 Duplicate parameter SIZE");
  EXPECT_EQ(mail_err("<a@b.org> SMTPUTF8 smtputf8"), "501 5.5.4 Duplicate parameter SMTPUTF8");
  EXPECT_EQ(mail_err("<a@b.org> BODY=7BIT BODY=8BITMIME"), "501 5.5.4 Duplicate parameter BODY");
  EXPECT_EQ(mail_err("<a@b.org> RET=FULL RET=FULL"), "501 5.5.4 Duplicate parameter RET");
  EXPECT_EQ(mail_err("<a@b.org> ENVID=x ENVID=y"), "501 5.5.4 Duplicate parameter ENVID");
  EXPECT_EQ(mail_err("<a@b.org> AUTH=<> AUTH=<>"), "501 5.5.4 Duplicate parameter AUTH");
  // A duplicate is found even when its value is also bad.
  EXPECT_EQ(mail_err("<a@b.org> SIZE=1 SIZE=x"), "501 5.5.4 Duplicate parameter SIZE");
}

// ---------------------------------------------------------------------------
// MAIL: each parameter's values.

TEST(MailArgsTest, Size) {
  EXPECT_EQ(mail_ok("<a@b.org> SIZE=0").size, 0u);
  EXPECT_EQ(mail_ok("<a@b.org> SIZE=1048576").size, 1048576u);
  EXPECT_EQ(mail_ok("<a@b.org> SIZE=007").size, 7u);
  EXPECT_EQ(mail_ok("<a@b.org> SIZE=18446744073709551615").size, 18446744073709551615u);
}

TEST(MailArgsTest, BadSizeValues) {
  for (const char* t : {"<a@b.org> SIZE", "<a@b.org> SIZE=12a", "<a@b.org> SIZE=-1",
                        "<a@b.org> SIZE=+1", "<a@b.org> SIZE=1.5",
                        "<a@b.org> SIZE=18446744073709551616",  // 2^64: overflow
                        "<a@b.org> SIZE=99999999999999999999",
                        "<a@b.org> SIZE=000000000000000000001"}) {  // 21 digits
    EXPECT_EQ(mail_err(t), "501 5.5.4 Bad SIZE= value") << t;
  }
}

TEST(MailArgsTest, Body) {
  EXPECT_EQ(mail_ok("<a@b.org> BODY=7BIT").body, BodyType::k7Bit);
  EXPECT_EQ(mail_ok("<a@b.org> BODY=8BITMIME").body, BodyType::k8BitMime);
  EXPECT_EQ(mail_ok("<a@b.org> BODY=BINARYMIME").body, BodyType::kBinaryMime);
  for (const char* t :
       {"<a@b.org> BODY", "<a@b.org> BODY=8BIT", "<a@b.org> BODY=BINARY", "<a@b.org> BODY=7BITX"}) {
    EXPECT_EQ(mail_err(t), "501 5.5.4 Bad BODY= value") << t;
  }
}

TEST(MailArgsTest, Smtputf8TakesNoValue) {
  EXPECT_TRUE(mail_ok("<a@b.org> SMTPUTF8").smtputf8);
  EXPECT_EQ(mail_err("<a@b.org> SMTPUTF8=YES"), "501 5.5.4 SMTPUTF8 takes no value");
}

TEST(MailArgsTest, Ret) {
  EXPECT_EQ(mail_ok("<a@b.org> RET=FULL").ret, DsnRet::kFull);
  EXPECT_EQ(mail_ok("<a@b.org> RET=HDRS").ret, DsnRet::kHdrs);
  EXPECT_EQ(mail_err("<a@b.org> RET=ALL"), "501 5.5.4 Bad RET= value");
  EXPECT_EQ(mail_err("<a@b.org> RET"), "501 5.5.4 Bad RET= value");
}

TEST(MailArgsTest, EnvidIsXtextDecoded) {
  EXPECT_EQ(mail_ok("<a@b.org> ENVID=QQ314159").envid, "QQ314159");
  EXPECT_EQ(mail_ok("<a@b.org> ENVID=a+2Bb+3Dc+20d").envid, "a+b=c d");
}

TEST(MailArgsTest, EnvidLimitIs100Characters) {
  EXPECT_EQ(mail_ok("<a@b.org> ENVID=" + std::string(100, 'x')).envid, std::string(100, 'x'));
  EXPECT_EQ(mail_err("<a@b.org> ENVID=" + std::string(101, 'x')), "501 5.5.4 Bad ENVID= value");
}

TEST(MailArgsTest, BadEnvidValues) {
  for (const char* t : {"<a@b.org> ENVID", "<a@b.org> ENVID=a+ZZ", "<a@b.org> ENVID=a+2",
                        "<a@b.org> ENVID=a+0D+0Ab",   // decodes to CR LF: not printable
                        "<a@b.org> ENVID=+C3+A9"}) {  // decodes to non-ASCII
    EXPECT_EQ(mail_err(t), "501 5.5.4 Bad ENVID= value") << t;
  }
}

TEST(MailArgsTest, Auth) {
  EXPECT_EQ(mail_ok("<a@b.org> AUTH=<>").auth, "<>");
  // RFC 4954 5 example.
  EXPECT_EQ(mail_ok("<e=mc2@example.com> AUTH=e+3Dmc2@example.com").auth, "e=mc2@example.com");
  EXPECT_EQ(mail_ok("<a@b.org> AUTH=+22a+20b+22@b.org").auth, "\"a b\"@b.org");
}

TEST(MailArgsTest, BadAuthValues) {
  for (const char* t : {"<a@b.org> AUTH", "<a@b.org> AUTH=nobody", "<a@b.org> AUTH=+ZZ@b.org",
                        "<a@b.org> AUTH=<a@b.org>", "<a@b.org> AUTH=a@b+00.org",
                        "<a@b.org> AUTH=+C3+A9@b.org"}) {  // UTF-8 without SMTPUTF8
    EXPECT_EQ(mail_err(t), "501 5.5.4 Bad AUTH= value") << t;
  }
}

TEST(MailArgsTest, Utf8AuthNeedsSmtputf8EvenWhenItComesLater) {
  EXPECT_EQ(mail_ok("<a@b.org> AUTH=+C3+A9@b.org SMTPUTF8").auth, "\xC3\xA9@b.org");
}

TEST(MailArgsTest, AllParametersTogether) {
  const MailArgs m =
      mail_ok("<a@b.org> SIZE=123 BODY=BINARYMIME SMTPUTF8 RET=FULL ENVID=id+2B1 AUTH=c@d.org");
  EXPECT_EQ(m.size, 123u);
  EXPECT_EQ(m.body, BodyType::kBinaryMime);
  EXPECT_TRUE(m.smtputf8);
  EXPECT_EQ(m.ret, DsnRet::kFull);
  EXPECT_EQ(m.envid, "id+1");
  EXPECT_EQ(m.auth, "c@d.org");
}

// ---------------------------------------------------------------------------
// MAIL: UTF-8 sender (RFC 6531 3.5).

TEST(MailArgsTest, NonAsciiSenderNeedsSmtputf8) {
  EXPECT_EQ(mail_err("<" + kUtf8Addr + ">"), "553 5.6.7 Non-ASCII sender address needs SMTPUTF8");
  EXPECT_EQ(mail_err("<" + kUtf8Addr + "> SIZE=1"),
            "553 5.6.7 Non-ASCII sender address needs SMTPUTF8");
  const MailArgs m = mail_ok("<" + kUtf8Addr + "> SMTPUTF8");
  EXPECT_EQ(m.from.str(), kUtf8Addr);
  EXPECT_TRUE(m.smtputf8);
}

TEST(MailArgsTest, ParameterErrorsComeBefore553) {
  EXPECT_EQ(mail_err("<" + kUtf8Addr + "> FOO"), "555 5.5.4 Unsupported parameter FOO");
}

// ---------------------------------------------------------------------------
// RCPT.

TEST(RcptArgsTest, PlainPath) {
  const RcptArgs r = rcpt_ok("<bob@example.org>");
  EXPECT_EQ(r.to.str(), "bob@example.org");
  EXPECT_EQ(r.notify, kNotifyNone);
  EXPECT_EQ(r.orcpt, "");
}

TEST(RcptArgsTest, SpaceBeforePath) { EXPECT_EQ(rcpt_ok(" <b@c.org>").to.str(), "b@c.org"); }

TEST(RcptArgsTest, Postmaster) {
  const RcptArgs r = rcpt_ok("<postMaster>");
  EXPECT_EQ(r.to.local, "Postmaster");
  EXPECT_EQ(r.to.domain, "");
}

TEST(RcptArgsTest, BadPathsGive501_5_1_3) {
  for (const char* t : {"", "<>", "b@c.org", "<b@c.org", "<b@c.org>junk", "<b..c@d.org>",
                        "<@:b@c.org>", "<\xFF@c.org>"}) {
    EXPECT_EQ(rcpt_err(t, true), kBadRcpt) << testing::PrintToString(t);
  }
}

TEST(RcptArgsTest, MalformedUnknownAndDuplicateParameters) {
  EXPECT_EQ(rcpt_err("<b@c.org> NOTIFY=NEVER=1"), kBadSyntax);
  EXPECT_EQ(rcpt_err("<b@c.org> =x"), kBadSyntax);
  EXPECT_EQ(rcpt_err("<b@c.org> \t"), kBadSyntax);
  EXPECT_EQ(rcpt_err("<b@c.org> SIZE=1"), "555 5.5.4 Unsupported parameter SIZE");
  EXPECT_EQ(rcpt_err("<b@c.org> FOO"), "555 5.5.4 Unsupported parameter FOO");
  EXPECT_EQ(rcpt_err("<b@c.org> NOTIFY=NEVER notify=NEVER"),
            "501 5.5.4 Duplicate parameter NOTIFY");
  EXPECT_EQ(rcpt_err("<b@c.org> ORCPT=rfc822;a@b ORCPT=rfc822;a@b"),
            "501 5.5.4 Duplicate parameter ORCPT");
}

TEST(RcptArgsTest, Notify) {
  EXPECT_EQ(rcpt_ok("<b@c.org> NOTIFY=NEVER").notify, kNotifyNever);
  EXPECT_EQ(rcpt_ok("<b@c.org> NOTIFY=SUCCESS").notify, kNotifySuccess);
  EXPECT_EQ(rcpt_ok("<b@c.org> NOTIFY=failure,delay").notify, kNotifyFailure | kNotifyDelay);
  EXPECT_EQ(rcpt_ok("<b@c.org> NOTIFY=DELAY,SUCCESS,FAILURE").notify,
            kNotifySuccess | kNotifyFailure | kNotifyDelay);
  EXPECT_EQ(rcpt_ok("<b@c.org> NOTIFY=SUCCESS,SUCCESS").notify, kNotifySuccess);
}

TEST(RcptArgsTest, BadNotifyValues) {
  for (const char* t :
       {"<b@c.org> NOTIFY", "<b@c.org> NOTIFY=NEVER,SUCCESS", "<b@c.org> NOTIFY=FAILURE,NEVER",
        "<b@c.org> NOTIFY=NEVER,NEVER", "<b@c.org> NOTIFY=SUCCESS,,DELAY",
        "<b@c.org> NOTIFY=SUCCESS,", "<b@c.org> NOTIFY=,SUCCESS", "<b@c.org> NOTIFY=ALWAYS",
        "<b@c.org> NOTIFY=SUCCES"}) {
    EXPECT_EQ(rcpt_err(t), "501 5.5.4 Bad NOTIFY= value") << t;
  }
}

TEST(RcptArgsTest, Orcpt) {
  EXPECT_EQ(rcpt_ok("<b@c.org> ORCPT=rfc822;b@c.org").orcpt, "rfc822;b@c.org");
  EXPECT_EQ(rcpt_ok("<b@c.org> ORCPT=rfc822;a+2Bb+3Dc@c.org").orcpt, "rfc822;a+b=c@c.org");
  // RFC 6533: utf-8 addr-type with embedded \x{...}; ";" may appear in the xtext.
  EXPECT_EQ(rcpt_ok("<b@c.org> ORCPT=utf-8;a\\x{E9}@c.org").orcpt, "utf-8;a\\x{E9}@c.org");
  EXPECT_EQ(rcpt_ok("<b@c.org> ORCPT=RFC822;a;b").orcpt, "RFC822;a;b");
}

TEST(RcptArgsTest, BadOrcptValues) {
  for (const char* t :
       {"<b@c.org> ORCPT", "<b@c.org> ORCPT=rfc822", "<b@c.org> ORCPT=;b@c.org",
        "<b@c.org> ORCPT=rfc822;", "<b@c.org> ORCPT=rf(c;b@c.org", "<b@c.org> ORCPT=rfc822;b+ZZ",
        "<b@c.org> ORCPT=rfc822;b+0A@c.org", "<b@c.org> ORCPT=rfc822;+C3+A9@c.org"}) {
    EXPECT_EQ(rcpt_err(t), "501 5.5.4 Bad ORCPT= value") << t;
  }
}

TEST(RcptArgsTest, NotifyAndOrcptTogether) {
  const RcptArgs r = rcpt_ok("<b@c.org>  NOTIFY=SUCCESS,FAILURE  ORCPT=rfc822;x@y.org ");
  EXPECT_EQ(r.notify, kNotifySuccess | kNotifyFailure);
  EXPECT_EQ(r.orcpt, "rfc822;x@y.org");
}

TEST(RcptArgsTest, NonAsciiRecipientNeedsSmtputf8FromMail) {
  EXPECT_EQ(rcpt_err("<" + kUtf8Addr + ">", /*smtputf8=*/false),
            "553 5.6.7 Non-ASCII recipient address needs SMTPUTF8");
  EXPECT_EQ(rcpt_ok("<" + kUtf8Addr + ">", /*smtputf8=*/true).to.str(), kUtf8Addr);
}

// ---------------------------------------------------------------------------
// xtext (RFC 3461 4).

TEST(XtextTest, DecodesHexEscapes) {
  EXPECT_EQ(xtext_decode("plain"), "plain");
  EXPECT_EQ(xtext_decode(""), "");
  EXPECT_EQ(xtext_decode("a+2Bb"), "a+b");
  EXPECT_EQ(xtext_decode("+3D+20+00+FF"), std::string("= \0\xFF", 4));
  EXPECT_EQ(xtext_decode("+2b+ff"), std::string("+\xFF"));  // lower case accepted
  EXPECT_EQ(xtext_decode("!~<>"), "!~<>");
}

TEST(XtextTest, RefusesBadSyntax) {
  for (const std::string& s :
       std::vector<std::string>{"+", "a+", "a+2", "+G0", "+0G", "+ 2B", "a b", "a=b", "a\x7f",
                                "\xC3\xA9", std::string("a\0b", 3), "a\tb", "a\r\n"}) {
    EXPECT_FALSE(xtext_decode(s)) << testing::PrintToString(s);
  }
}

TEST(XtextTest, EncodesWhatIsNotAnXchar) {
  EXPECT_EQ(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(xtext_encode(std::string("\0\r\n\x7f\xC3\xA9", 6)), "+00+0D+0A+7F+C3+A9");
  EXPECT_EQ(xtext_encode("user@example.org"), "user@example.org");
  EXPECT_EQ(xtext_encode(""), "");
}

TEST(XtextTest, RoundTripsEveryOctet) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string enc = xtext_encode(all);
  for (char c : enc) {
    EXPECT_TRUE(c >= 33 && c <= 126 && c != '=') << "unsafe octet in " << enc;
  }
  EXPECT_EQ(xtext_decode(enc), all);
}

// Percent-decoding (RFC 3986 2.1), for rua= mailto: URIs.
TEST(PercentDecodeTest, DecodesEscapesOfEitherCase) {
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("dmarc@example.org"), "dmarc@example.org");
  EXPECT_EQ(percent_decode("a%40b%2c%2Cc"), "a@b,,c");
  EXPECT_EQ(percent_decode("%00%ff"), std::string("\0\xFF", 2));
  EXPECT_EQ(percent_decode("100%25"), "100%");
  EXPECT_EQ(percent_decode("+=!"), "+=!");  // not xtext: "+" is itself
}

TEST(PercentDecodeTest, RefusesAPercentWithoutTwoHexDigits) {
  for (const std::string& s : std::vector<std::string>{"%", "a%", "a%4", "%4g", "%g4", "%%41"}) {
    EXPECT_FALSE(percent_decode(s)) << s;
  }
}

// RFC 8689 2: REQUIRETLS, no value.
TEST(MailArgsTest, RequireTls) {
  EXPECT_FALSE(mail_ok("<a@b.org>").requiretls);
  EXPECT_TRUE(mail_ok("<a@b.org> REQUIRETLS").requiretls);
  EXPECT_TRUE(mail_ok("<a@b.org> requiretls SIZE=5").requiretls);
  EXPECT_EQ(mail_err("<a@b.org> REQUIRETLS=YES"), "501 5.5.4 REQUIRETLS takes no value");
  EXPECT_EQ(mail_err("<a@b.org> REQUIRETLS requiretls"),
            "501 5.5.4 Duplicate parameter REQUIRETLS");  // named as SMTPUTF8 is
}

}  // namespace
}  // namespace tern
