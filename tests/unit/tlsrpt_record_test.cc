// The TLS-RPT policy record (RFC 8460 3) and the result log's lines.
#include <gtest/gtest.h>

#include <fstream>

#include "testlib.h"
#include "tlsrpt/log.h"
#include "tlsrpt/record.h"

namespace tern::tlsrpt {
namespace {

using Kind = ReportDestination::Kind;

Record Parse(std::string_view text) {
  std::string error;
  std::optional<Record> r = parse_record(text, &error);
  EXPECT_TRUE(r.has_value()) << text << ": " << error;
  return r.value_or(Record{});
}

std::string Error(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_record(text, &error).has_value()) << text;
  EXPECT_FALSE(error.empty());
  return error;
}

TEST(TlsRptRecord, TheRfcExamples) {
  // 3.1's examples.
  Record r = Parse("v=TLSRPTv1;rua=mailto:reports@example.com");
  ASSERT_EQ(r.rua.size(), 1u);
  EXPECT_EQ(r.rua[0].kind, Kind::kMailto);
  EXPECT_EQ(r.rua[0].address, "reports@example.com");
  EXPECT_EQ(r.rua[0].uri, "mailto:reports@example.com");
  r = Parse("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt");
  ASSERT_EQ(r.rua.size(), 1u);
  EXPECT_EQ(r.rua[0].kind, Kind::kHttps);
  EXPECT_EQ(r.rua[0].uri, "https://reporting.example.com/v1/tlsrpt");
}

TEST(TlsRptRecord, ListsSpacingExtensionsAndFinalSemicolon) {
  const Record r = Parse(
      "v=TLSRPTv1 ;  rua=mailto:a@example.com , https://r.example.net/x?k=1 ,"
      "mailto:tls%2Brpt@example.org?subject=tlsrpt ; ext_1.x=val ;");
  ASSERT_EQ(r.rua.size(), 3u);
  EXPECT_EQ(r.rua[0].address, "a@example.com");
  EXPECT_EQ(r.rua[1].kind, Kind::kHttps);
  EXPECT_EQ(r.rua[2].address, "tls+rpt@example.org") << "percent-decoded, query dropped";
  EXPECT_TRUE(r.ignored.empty());
}

TEST(TlsRptRecord, OtherSchemesAreIgnoredNotFatal) {
  const Record r = Parse("v=TLSRPTv1; rua=ftp://x.example.com/,mailto:a@example.com,http://x/");
  ASSERT_EQ(r.rua.size(), 1u);
  EXPECT_EQ(r.ignored, (std::vector<std::string>{"ftp://x.example.com/", "http://x/"}));
  EXPECT_NE(Error("v=TLSRPTv1; rua=http://x.example.com/").find("no mailto: or https:"),
            std::string::npos);
}

TEST(TlsRptRecord, Refused) {
  EXPECT_NE(Error("v=TLSRPTv2; rua=mailto:a@example.com").find("v=TLSRPTv1"), std::string::npos);
  Error("V=TLSRPTv1; rua=mailto:a@example.com");  // %s: case-sensitive
  Error("v=TLSRPTv1");
  Error("v=TLSRPTv1;");
  Error("v=TLSRPTv1; ext=1");                    // no rua
  Error("v=TLSRPTv1 rua=mailto:a@example.com");  // no ";"
  Error("v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com");
  Error("v=TLSRPTv1; rua=mailto:a@example.com;; x=1");
  Error("v=TLSRPTv1; rua=mailto:a@example.com, ");
  Error("v=TLSRPTv1; rua=mailto:a@example.com; -bad=1");
  Error("v=TLSRPTv1; rua=mailto:a@example.com; noequals");
  Error("v=TLSRPTv1; rua=mailto:not-an-address");
}

TEST(TlsRptRecord, SelectExactlyOne) {
  std::string why;
  EXPECT_EQ(record_name("Example.COM."), "_smtp._tls.Example.COM");
  EXPECT_TRUE(select_record({"spf-ish", "v=TLSRPTv1; rua=mailto:a@example.com"}, &why));
  EXPECT_FALSE(select_record({}, &why));
  EXPECT_EQ(why, "no TLSRPTv1 record");
  // 3: more than one record means the domain takes no reports.
  EXPECT_FALSE(select_record(
      {"v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com"}, &why));
  EXPECT_EQ(why, "more than one TLSRPTv1 record");
  EXPECT_FALSE(select_record({"v=TLSRPTv1; bad"}, &why));
}

SessionResult Sample() {
  SessionResult r;
  r.time = 1710028800 + 5;
  r.policy_domain = "example.com";
  r.policy_type = PolicyType::kSts;
  r.policy_strings = {"version: STSv1", "mode: enforce", "mx: *.example.com", "max_age: 86400"};
  r.mx_host = {"*.example.com"};
  r.result = ResultType::kCertificateExpired;
  r.sending_mta_ip = "192.0.2.1";
  r.receiving_mx_hostname = "mx1.example.com";
  r.receiving_mx_helo = "mx1 says = hi,\r\nsneaky";
  r.receiving_ip = "2001:db8::25";
  r.failure_reason_code = "X509_V_ERR_CERT_HAS_EXPIRED (certificate has expired)";
  return r;
}

TEST(TlsRptLog, LinesRoundTripAndHoldNoSeparators) {
  const SessionResult r = Sample();
  const std::string line = format_result(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_EQ(line.rfind("tlsrpt1 t=1710028805 pd=example.com pt=sts ps=version:+20STSv1,", 0), 0u)
      << line;
  const std::optional<SessionResult> back = parse_result(line);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, r);
  // Every result type and policy type has a name that parses back.
  for (int i = 0; i <= static_cast<int>(ResultType::kStsWebpkiInvalid); ++i) {
    const auto t = static_cast<ResultType>(i);
    EXPECT_EQ(parse_result_type(result_type_name(t)), t);
  }
  for (PolicyType t : {PolicyType::kSts, PolicyType::kTlsa, PolicyType::kNoPolicyFound})
    EXPECT_EQ(parse_policy_type(policy_type_name(t)), t);
}

TEST(TlsRptLog, BadLinesAreNotResults) {
  const std::string good = format_result(Sample());
  EXPECT_FALSE(parse_result(""));
  EXPECT_FALSE(parse_result("dmarc1 t=1"));
  EXPECT_FALSE(parse_result("tlsrpt1 t=1 pd=x pt=sts"));  // no res=
  std::string bad = good;
  bad.replace(bad.find("res=certificate-expired"), 23, "res=melted");
  EXPECT_FALSE(parse_result(bad));
  EXPECT_FALSE(parse_result(good + " junk"));
  EXPECT_TRUE(parse_result(good + " later=1"));  // a newer version's field
}

TEST(TlsRptLog, RecordsPerUtcDayAndSkipsTornLines) {
  testlib::TempDir tmp;
  const std::string dir = tmp.path() + "/tls-rpt";  // created on demand
  Log log(dir);
  SessionResult a = Sample();
  SessionResult b = Sample();
  b.result = ResultType::kSuccess;
  SessionResult c = Sample();
  c.time += 86400;  // the next day
  ASSERT_TRUE(log.record(a).ok());
  ASSERT_TRUE(log.record(b).ok());
  ASSERT_TRUE(log.record(c).ok());
  SessionResult none = Sample();
  none.policy_domain.clear();
  EXPECT_EQ(log.record(none).kind(), Status::Kind::kPermanent);
  {
    std::ofstream torn(dir + "/2024-03-10", std::ios::app);
    torn << "tlsrpt1 t=17100288";
  }
  size_t skipped = 0;
  const std::vector<SessionResult> day = read_results(dir, "2024-03-10", &skipped);
  ASSERT_EQ(day.size(), 2u);
  EXPECT_EQ(day[0], a);
  EXPECT_EQ(day[1], b);
  EXPECT_EQ(skipped, 1u);
  EXPECT_EQ(read_results(dir, "2024-03-11").size(), 1u);
  EXPECT_TRUE(read_results(dir, "2024-03-12").empty());
}

}  // namespace
}  // namespace tern::tlsrpt
