// DMARC records (RFC 7489 6.3, 6.4, 6.6.3 step 6): what is a record, the
// tags, their defaults and what invalid values fall back to.
#include <gtest/gtest.h>

#include <string>

#include "dmarc/record.h"

namespace tern::dmarc {
namespace {

Record Parse(std::string_view txt) {
  std::string error;
  std::optional<Record> r = parse_record(txt, &error);
  EXPECT_TRUE(r.has_value()) << txt << ": " << error;
  return r.value_or(Record{});
}

std::string Error(std::string_view txt) {
  std::string error;
  EXPECT_FALSE(parse_record(txt, &error).has_value()) << txt;
  return error;
}

bool HasWarning(const Record& r, std::string_view part) {
  for (const std::string& w : r.warnings) {
    if (w.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST(DmarcRecord, IsDmarcRecord) {
  EXPECT_TRUE(is_dmarc_record("v=DMARC1; p=none"));
  EXPECT_TRUE(is_dmarc_record("v=DMARC1"));
  EXPECT_TRUE(is_dmarc_record("v=DMARC1;"));
  EXPECT_TRUE(is_dmarc_record("v = DMARC1 ;p=none"));  // *WSP around "=" (6.4)
  EXPECT_TRUE(is_dmarc_record("V=DMARC1; p=none"));    // "v" is an ABNF string: any case
  EXPECT_TRUE(is_dmarc_record("v=DMARC1\tp=none"));
  EXPECT_FALSE(is_dmarc_record("v=dmarc1; p=none"));  // %x44.4d.41.52.43.31: exact
  EXPECT_FALSE(is_dmarc_record("v=DMARC2; p=none"));
  EXPECT_FALSE(is_dmarc_record("v=DMARC10; p=none"));
  EXPECT_FALSE(is_dmarc_record("p=none; v=DMARC1"));  // v must come first
  EXPECT_FALSE(is_dmarc_record(" v=DMARC1; p=none"));
  EXPECT_FALSE(is_dmarc_record("v=spf1 -all"));
  EXPECT_FALSE(is_dmarc_record(""));
}

TEST(DmarcRecord, Defaults) {
  const Record r = Parse("v=DMARC1; p=quarantine");
  EXPECT_EQ(r.p, Policy::kQuarantine);
  EXPECT_FALSE(r.sp.has_value());
  EXPECT_EQ(r.adkim, Alignment::kRelaxed);
  EXPECT_EQ(r.aspf, Alignment::kRelaxed);
  EXPECT_EQ(r.pct, 100);
  EXPECT_TRUE(r.rua.empty());
  EXPECT_TRUE(r.ruf.empty());
  EXPECT_EQ(r.fo, "0");
  EXPECT_EQ(r.ri, 86400u);
  EXPECT_FALSE(r.p_defaulted);
  EXPECT_TRUE(r.warnings.empty());
}

TEST(DmarcRecord, EveryTag) {
  const Record r = Parse(
      "v=DMARC1; p=reject; sp=none; adkim=s; aspf=s; pct=25; fo=1:d; ri=3600; rf=afrf; "
      "rua=mailto:agg@example.com,mailto:third@example.net!10m; ruf=mailto:f@example.com");
  EXPECT_EQ(r.p, Policy::kReject);
  ASSERT_TRUE(r.sp.has_value());
  EXPECT_EQ(*r.sp, Policy::kNone);
  EXPECT_EQ(r.adkim, Alignment::kStrict);
  EXPECT_EQ(r.aspf, Alignment::kStrict);
  EXPECT_EQ(r.pct, 25);
  EXPECT_EQ(r.fo, "1:d");
  EXPECT_EQ(r.ri, 3600u);
  ASSERT_EQ(r.rua.size(), 2u);
  EXPECT_EQ(r.rua[0].uri, "mailto:agg@example.com");
  EXPECT_EQ(r.rua[0].address, "agg@example.com");
  EXPECT_EQ(r.rua[0].max_size, 0u);
  EXPECT_EQ(r.rua[1].address, "third@example.net");
  EXPECT_EQ(r.rua[1].max_size, 10u << 20);  // units are powers of two (6.4)
  EXPECT_EQ(r.rua[1].domain(), "example.net");
  ASSERT_EQ(r.ruf.size(), 1u);
  EXPECT_EQ(r.ruf[0].address, "f@example.com");
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
}

TEST(DmarcRecord, CaseAndWhitespace) {
  // Tag names and keyword values are ABNF strings, case-insensitive; WSP
  // may surround "=" and ";" (dmarc-sep = *WSP ";" *WSP).
  const Record r = Parse("v=DMARC1 ;\tP = REJECT ; SP=Quarantine;ADKIM=S;  aspf = s ;");
  EXPECT_EQ(r.p, Policy::kReject);
  EXPECT_EQ(r.sp, Policy::kQuarantine);
  EXPECT_EQ(r.adkim, Alignment::kStrict);
  EXPECT_EQ(r.aspf, Alignment::kStrict);
  EXPECT_TRUE(r.warnings.empty());
}

TEST(DmarcRecord, UnknownTagsIgnored) {
  const Record r = Parse("v=DMARC1; p=none; np=reject; t=y; psd=n; x-custom=1");
  EXPECT_EQ(r.p, Policy::kNone);
  EXPECT_TRUE(HasWarning(r, "unknown tag 'np'"));
  EXPECT_TRUE(HasWarning(r, "unknown tag 'x-custom'"));
}

TEST(DmarcRecord, PNeedNotBeSecond) {
  const Record r = Parse("v=DMARC1; rua=mailto:a@example.com; p=reject");
  EXPECT_EQ(r.p, Policy::kReject);
  EXPECT_FALSE(r.p_defaulted);
  EXPECT_TRUE(HasWarning(r, "not the tag right after v="));
}

TEST(DmarcRecord, InvalidPWithoutRuaIsNoRecord) {
  EXPECT_NE(Error("v=DMARC1").find("no p= tag"), std::string::npos);
  EXPECT_NE(Error("v=DMARC1; p=bounce").find("p=bounce"), std::string::npos);
  EXPECT_NE(Error("v=DMARC1; p=reject; sp=maybe").find("sp=maybe"), std::string::npos);
  // A rua= without a usable URI does not save it.
  Error("v=DMARC1; rua=not a uri");
  Error("v=DMARC1; p=; rua=");
}

TEST(DmarcRecord, InvalidPWithValidRuaIsPNone) {
  // 6.6.3 step 6.1: act as if p=none, keeping rua= so reports still flow.
  Record r = Parse("v=DMARC1; rua=mailto:agg@example.com");
  EXPECT_EQ(r.p, Policy::kNone);
  EXPECT_TRUE(r.p_defaulted);
  ASSERT_EQ(r.rua.size(), 1u);
  EXPECT_EQ(r.rua[0].address, "agg@example.com");

  r = Parse("v=DMARC1; p=rejekt; adkim=s; rua=mailto:agg@example.com");
  EXPECT_EQ(r.p, Policy::kNone);
  EXPECT_TRUE(r.p_defaulted);
  EXPECT_EQ(r.adkim, Alignment::kStrict);

  // An invalid sp= has the same effect, and sp= is dropped.
  r = Parse("v=DMARC1; p=reject; sp=bogus; rua=mailto:agg@example.com");
  EXPECT_EQ(r.p, Policy::kNone);
  EXPECT_FALSE(r.sp.has_value());
  EXPECT_TRUE(r.p_defaulted);

  // "at least one syntactically valid reporting URI": not only mailto:.
  r = Parse("v=DMARC1; rua=https://example.com/dmarc");
  EXPECT_TRUE(r.p_defaulted);
  EXPECT_TRUE(r.rua.empty());
}

TEST(DmarcRecord, DuplicateTagInvalidatesRecord) {
  EXPECT_NE(Error("v=DMARC1; p=none; p=reject").find("'p' appears more than once"),
            std::string::npos);
  Error("v=DMARC1; p=none; pct=10; PCT=20");
  Error("v=DMARC1; v=DMARC1; p=none");
}

TEST(DmarcRecord, Pct) {
  EXPECT_EQ(Parse("v=DMARC1; p=reject; pct=0").pct, 0);
  EXPECT_EQ(Parse("v=DMARC1; p=reject; pct=100").pct, 100);
  EXPECT_EQ(Parse("v=DMARC1; p=reject; pct=050").pct, 50);
  Record r = Parse("v=DMARC1; p=reject; pct=150");
  EXPECT_EQ(r.pct, 100);
  EXPECT_TRUE(HasWarning(r, "above 100"));
  r = Parse("v=DMARC1; p=reject; pct=-5");
  EXPECT_EQ(r.pct, 100);
  EXPECT_TRUE(HasWarning(r, "not a number"));
  EXPECT_EQ(Parse("v=DMARC1; p=reject; pct=ten").pct, 100);
  EXPECT_EQ(Parse("v=DMARC1; p=reject; pct=").pct, 100);
  EXPECT_EQ(Parse("v=DMARC1; p=reject; pct=99999999999999999999999").pct, 100);
}

TEST(DmarcRecord, InvalidOptionalTagsFallBackToDefaults) {
  const Record r = Parse("v=DMARC1; p=reject; adkim=x; aspf=relaxed; fo=2; ri=-1");
  EXPECT_EQ(r.p, Policy::kReject);
  EXPECT_EQ(r.adkim, Alignment::kRelaxed);
  EXPECT_EQ(r.aspf, Alignment::kRelaxed);
  EXPECT_EQ(r.fo, "0");
  EXPECT_EQ(r.ri, 86400u);
  EXPECT_EQ(r.warnings.size(), 4u);
  EXPECT_EQ(Parse("v=DMARC1; p=none; ri=4294967296").ri, 86400u);  // not 32-bit
  EXPECT_EQ(Parse("v=DMARC1; p=none; ri=4294967295").ri, 4294967295u);
  EXPECT_EQ(Parse("v=DMARC1; p=none; fo=0 : 1 : s").fo, "0 : 1 : s");
}

TEST(DmarcRecord, BrokenTagSpecsAreIgnored) {
  const Record r = Parse("v=DMARC1; p=quarantine; garbage; ;; pct=5");
  EXPECT_EQ(r.p, Policy::kQuarantine);
  EXPECT_EQ(r.pct, 5);
  EXPECT_TRUE(HasWarning(r, "'garbage' is not a tag=value"));
  // Text after the version without a ";" is not a tag.
  EXPECT_TRUE(HasWarning(Parse("v=DMARC1 x; p=none"), "not separated by ';'"));
}

TEST(DmarcRecord, NonMailtoRuaIgnored) {
  const Record r = Parse("v=DMARC1; p=none; rua=https://report.example.com/x,mailto:a@example.com");
  ASSERT_EQ(r.rua.size(), 1u);
  EXPECT_EQ(r.rua[0].address, "a@example.com");
  EXPECT_TRUE(HasWarning(r, "not a mailto: URI"));
}

TEST(DmarcRecord, ReportUris) {
  ReportUri u;
  bool mailto = false;
  ASSERT_TRUE(parse_report_uri("mailto:a@example.com", &u, &mailto));
  EXPECT_TRUE(mailto);
  EXPECT_EQ(u.text(), "mailto:a@example.com");
  ASSERT_TRUE(parse_report_uri("MAILTO:Agg@Example.COM?subject=x!2k", &u, &mailto));
  EXPECT_TRUE(mailto);
  EXPECT_EQ(u.address, "Agg@Example.COM");  // "?hfields" dropped
  EXPECT_EQ(u.domain(), "example.com");
  EXPECT_EQ(u.max_size, 2048u);
  EXPECT_FALSE(parse_report_uri("mailto:a%40b@example.com", &u, &mailto));  // two "@"
  ASSERT_TRUE(parse_report_uri("mailto:dmarc%2Breports@example.com!2K", &u, &mailto));
  EXPECT_EQ(u.address, "dmarc+reports@example.com");
  EXPECT_EQ(u.max_size, 2048u);
  EXPECT_EQ(u.domain(), "example.com");
  EXPECT_EQ(u.text(), "mailto:dmarc%2Breports@example.com!2048");
  ASSERT_TRUE(parse_report_uri("mailto:a@example.com!1t", &u, &mailto));
  EXPECT_EQ(u.max_size, uint64_t{1} << 40);
  ASSERT_TRUE(parse_report_uri("mailto:a@example.com!18446744073709551615", &u, &mailto));
  EXPECT_EQ(u.max_size, UINT64_MAX);
  ASSERT_TRUE(parse_report_uri("https://example.com/r", &u, &mailto));
  EXPECT_FALSE(mailto);
  EXPECT_TRUE(u.address.empty());

  EXPECT_FALSE(parse_report_uri("mailto:a@example.com!18446744073709551616", &u, &mailto));
  EXPECT_FALSE(parse_report_uri("mailto:a@example.com!17179869184g", &u, &mailto));
  EXPECT_FALSE(parse_report_uri("mailto:a@example.com!10x", &u, &mailto));
  EXPECT_FALSE(parse_report_uri("mailto:a@example.com!", &u, &mailto));
  EXPECT_FALSE(parse_report_uri("a@example.com", &u, &mailto));  // no scheme
  EXPECT_FALSE(parse_report_uri("mailto:", &u, &mailto));        // nothing after ":"
  EXPECT_FALSE(parse_report_uri("mailto:not-an-address", &u, &mailto));
  EXPECT_FALSE(parse_report_uri("mailto:a@[192.0.2.1]", &u, &mailto));  // no domain to check
  EXPECT_FALSE(parse_report_uri("mailto:a b@example.com", &u, &mailto));
  EXPECT_FALSE(parse_report_uri("mailto:a%4@example.com", &u, &mailto));
  EXPECT_FALSE(parse_report_uri("1x:foo", &u, &mailto));
  // Found by tests/fuzz/dmarc_record_fuzz.cc: a raw "!" before the size
  // suffix must be percent-encoded (6.4), or text() does not parse back.
  EXPECT_FALSE(parse_report_uri("mailto:dmarc!10m@example.com!0k", &u, &mailto));
  EXPECT_FALSE(parse_report_uri("mailto:a!1@example.com!2", &u, &mailto));
}

TEST(DmarcRecord, PolicyNames) {
  EXPECT_STREQ(policy_name(Policy::kNone), "none");
  EXPECT_STREQ(policy_name(Policy::kQuarantine), "quarantine");
  EXPECT_STREQ(policy_name(Policy::kReject), "reject");
  EXPECT_STREQ(alignment_name(Alignment::kRelaxed), "r");
  EXPECT_STREQ(alignment_name(Alignment::kStrict), "s");
}

TEST(DmarcRecord, ErrorPointerMayBeNull) {
  EXPECT_FALSE(parse_record("v=spf1 -all", nullptr).has_value());
  EXPECT_TRUE(parse_record("v=DMARC1; p=none", nullptr).has_value());
}

}  // namespace
}  // namespace tern::dmarc
