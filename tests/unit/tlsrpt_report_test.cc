// The daily TLS report (RFC 8460 4.4, 5.1, 5.3) and its sending
// (reporter.h) with a fake DNS, a fake queue and a fake HTTPS POST.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "core/base64.h"
#include "fake_dns.h"
#include "testlib.h"
#include "tlsrpt/log.h"
#include "tlsrpt/report.h"
#include "tlsrpt/reporter.h"

namespace tern::tlsrpt {
namespace {

using testlib::FakeTxtDns;
using testlib::gunzip;
using testlib::RunSync;
using testlib::Txt;

constexpr int64_t kDay = 1710028800;  // 2024-03-10 00:00:00 UTC

const ReporterInfo kInfo{"Example Org", "tlsrpt@sender.example", "Mail.Sender.Example"};

SessionResult Sts(int64_t t, ResultType result, std::string mx = "mx1.example.com") {
  SessionResult r;
  r.time = t;
  r.policy_domain = "example.com";
  r.policy_type = PolicyType::kSts;
  r.policy_strings = {"version: STSv1", "mode: enforce", "mx: *.example.com", "max_age: 86400"};
  r.mx_host = {"*.example.com"};
  r.result = result;
  r.sending_mta_ip = "192.0.2.1";
  r.receiving_mx_hostname = std::move(mx);
  r.receiving_ip = "198.51.100.7";
  if (result != ResultType::kSuccess) r.failure_reason_code = "reason";
  return r;
}

SessionResult Tlsa(int64_t t, ResultType result) {
  SessionResult r;
  r.time = t;
  r.policy_domain = "Example.NET";
  r.policy_type = PolicyType::kTlsa;
  r.policy_strings = {"3 1 1 0123456789abcdef"};
  r.result = result;
  r.receiving_mx_hostname = "mx.example.net";
  return r;
}

// RFC 8460 4.4, written out as checks: the schema there is informal, so
// every field it names is checked for presence, type and allowed values.
void CheckSchema(const nlohmann::json& j) {
  static const std::regex kDateTime(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  static const std::set<std::string> kResultTypes = {
      "starttls-not-supported", "certificate-host-mismatch",
      "certificate-expired",    "certificate-not-trusted",
      "validation-failure",     "tlsa-invalid",
      "dnssec-invalid",         "dane-required",
      "sts-policy-fetch-error", "sts-policy-invalid",
      "sts-webpki-invalid"};
  ASSERT_TRUE(j.is_object());
  for (const char* k : {"organization-name", "contact-info", "report-id"})
    ASSERT_TRUE(j.contains(k) && j[k].is_string() && !j[k].get<std::string>().empty()) << k;
  ASSERT_TRUE(j["date-range"].is_object());
  for (const char* k : {"start-datetime", "end-datetime"}) {
    ASSERT_TRUE(j["date-range"][k].is_string()) << k;
    EXPECT_TRUE(std::regex_match(j["date-range"][k].get<std::string>(), kDateTime)) << k;
  }
  ASSERT_TRUE(j["policies"].is_array());
  ASSERT_FALSE(j["policies"].empty());
  for (const auto& p : j["policies"]) {
    const auto& pol = p["policy"];
    ASSERT_TRUE(pol.is_object());
    const std::string type = pol["policy-type"].get<std::string>();
    EXPECT_TRUE(type == "sts" || type == "tlsa" || type == "no-policy-found") << type;
    ASSERT_TRUE(pol["policy-domain"].is_string());
    if (pol.contains("policy-string")) {
      ASSERT_TRUE(pol["policy-string"].is_array());
      for (const auto& s : pol["policy-string"]) EXPECT_TRUE(s.is_string());
    }
    if (pol.contains("mx-host")) {
      ASSERT_TRUE(pol["mx-host"].is_array());
      for (const auto& s : pol["mx-host"]) EXPECT_TRUE(s.is_string());
    }
    const auto& sum = p["summary"];
    ASSERT_TRUE(sum["total-successful-session-count"].is_number_unsigned());
    ASSERT_TRUE(sum["total-failure-session-count"].is_number_unsigned());
    int64_t failed = 0;
    if (p.contains("failure-details")) {
      ASSERT_TRUE(p["failure-details"].is_array());
      for (const auto& d : p["failure-details"]) {
        EXPECT_TRUE(kResultTypes.count(d["result-type"].get<std::string>()));
        ASSERT_TRUE(d["failed-session-count"].is_number_unsigned());
        failed += d["failed-session-count"].get<int64_t>();
        for (const char* k : {"sending-mta-ip", "receiving-mx-hostname", "receiving-mx-helo",
                              "receiving-ip", "additional-information", "failure-reason-code"}) {
          if (d.contains(k)) EXPECT_TRUE(d[k].is_string()) << k;
        }
      }
    }
    EXPECT_EQ(failed, sum["total-failure-session-count"].get<int64_t>());
  }
}

TEST(TlsRptReport, AggregatesPerDomainAndPolicy) {
  std::vector<SessionResult> rows;
  for (int i = 0; i < 5; ++i) rows.push_back(Sts(kDay + i, ResultType::kSuccess));
  rows.push_back(Sts(kDay + 10, ResultType::kCertificateExpired));
  rows.push_back(Sts(kDay + 11, ResultType::kCertificateExpired));
  rows.push_back(Sts(kDay + 12, ResultType::kStarttlsNotSupported, "MX2.example.com"));
  rows.push_back(Tlsa(kDay + 13, ResultType::kSuccess));
  rows.push_back(Tlsa(kDay + 14, ResultType::kDaneRequired));
  SessionResult testing = Sts(kDay + 15, ResultType::kSuccess);
  testing.policy_strings[1] = "mode: testing";  // another policy: its own entry
  rows.push_back(testing);

  const std::vector<DomainReport> reports = build_reports(rows, kDay, kInfo);
  ASSERT_EQ(reports.size(), 2u);
  const DomainReport& com = reports[0];
  EXPECT_EQ(com.policy_domain, "example.com");
  EXPECT_EQ(com.successes, 6);
  EXPECT_EQ(com.failures, 3);
  EXPECT_EQ(com.report_id, "2024-03-10.example.com@mail.sender.example");
  // 5.1: sender!policy-domain!begin!end!unique-id.json.gz
  EXPECT_TRUE(std::regex_match(
      com.filename,
      std::regex(
          R"(mail\.sender\.example!example\.com!1710028800!1710115199![0-9a-f]{16}\.json\.gz)")))
      << com.filename;
  EXPECT_EQ(gunzip(com.gzip), com.json);

  const nlohmann::json j = nlohmann::json::parse(com.json);
  CheckSchema(j);
  EXPECT_EQ(j["organization-name"], "Example Org");
  EXPECT_EQ(j["contact-info"], "tlsrpt@sender.example");
  EXPECT_EQ(j["date-range"]["start-datetime"], "2024-03-10T00:00:00Z");
  EXPECT_EQ(j["date-range"]["end-datetime"], "2024-03-10T23:59:59Z");
  ASSERT_EQ(j["policies"].size(), 2u);
  const auto& enforce = j["policies"][0];
  EXPECT_EQ(enforce["policy"]["policy-type"], "sts");
  EXPECT_EQ(enforce["policy"]["policy-domain"], "example.com");
  EXPECT_EQ(enforce["policy"]["mx-host"], nlohmann::json::array({"*.example.com"}));
  EXPECT_EQ(enforce["policy"]["policy-string"][1], "mode: enforce");
  EXPECT_EQ(enforce["summary"]["total-successful-session-count"], 5);
  EXPECT_EQ(enforce["summary"]["total-failure-session-count"], 3);
  ASSERT_EQ(enforce["failure-details"].size(), 2u);
  // In RFC 8460 4.3's order of result types.
  EXPECT_EQ(enforce["failure-details"][0]["result-type"], "starttls-not-supported");
  EXPECT_EQ(enforce["failure-details"][0]["receiving-mx-hostname"], "mx2.example.com");
  const auto& expired = enforce["failure-details"][1];
  EXPECT_EQ(expired["result-type"], "certificate-expired");
  EXPECT_EQ(expired["failed-session-count"], 2);
  EXPECT_EQ(expired["sending-mta-ip"], "192.0.2.1");
  EXPECT_EQ(expired["receiving-mx-hostname"], "mx1.example.com");
  EXPECT_EQ(expired["receiving-ip"], "198.51.100.7");
  EXPECT_EQ(expired["failure-reason-code"], "reason");
  EXPECT_FALSE(expired.contains("receiving-mx-helo"));  // unknown: left out
  EXPECT_EQ(j["policies"][1]["summary"]["total-failure-session-count"], 0);
  EXPECT_FALSE(j["policies"][1].contains("failure-details"));

  const nlohmann::json net = nlohmann::json::parse(reports[1].json);
  CheckSchema(net);
  EXPECT_EQ(reports[1].policy_domain, "example.net");
  EXPECT_EQ(net["policies"][0]["policy"]["policy-type"], "tlsa");
  EXPECT_FALSE(net["policies"][0]["policy"].contains("mx-host"));
  EXPECT_EQ(net["policies"][0]["failure-details"][0]["result-type"], "dane-required");
  // The same rows give the same bytes (a resend is recognisable).
  EXPECT_EQ(build_reports(rows, kDay, kInfo)[0].gzip, com.gzip);
}

TEST(TlsRptReport, HostileBytesStayValidJson) {
  SessionResult r = Sts(kDay, ResultType::kValidationFailure);
  r.receiving_mx_helo = std::string("mx\xff\xfe\"}\n\0x", 9);
  r.failure_reason_code = "\x80\x81 broken utf-8";
  SessionResult injected = Sts(kDay, ResultType::kSuccess);
  injected.policy_domain = "example.org\r\nBcc: x@evil.example";  // never a report
  const auto reports = build_reports({r, injected}, kDay, kInfo);
  ASSERT_EQ(reports.size(), 1u);
  const nlohmann::json j = nlohmann::json::parse(reports[0].json);  // throws if invalid
  CheckSchema(j);
}

TEST(TlsRptReport, MailOfSection53) {
  const auto reports = build_reports({Sts(kDay, ResultType::kCertificateExpired)}, kDay, kInfo);
  ASSERT_EQ(reports.size(), 1u);
  const std::string m =
      report_message(reports[0], kInfo, {"a@example.com", "b@example.com"}, kDay + 86400);
  EXPECT_NE(m.find("Subject: Report Domain: example.com\r\n Submitter: mail.sender.example\r\n"
                   " Report-ID: <2024-03-10.example.com@mail.sender.example>\r\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("TLS-Report-Domain: example.com\r\n"), std::string::npos);
  EXPECT_NE(m.find("TLS-Report-Submitter: mail.sender.example\r\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: multipart/report; report-type=\"tlsrpt\";"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: application/tlsrpt+gzip\r\n"), std::string::npos);
  EXPECT_NE(m.find("filename=\"" + reports[0].filename + "\""), std::string::npos);
  EXPECT_NE(m.find("From: tlsrpt@sender.example\r\nTo: a@example.com,\r\n b@example.com\r\n"),
            std::string::npos);
  // The attachment decodes to the report; every line is CRLF, within
  // RFC 5322 2.1.1's limit.
  const size_t start = m.find("\r\n\r\n", m.find("application/tlsrpt+gzip")) + 4;
  const size_t end = m.find("\r\n\r\n--", start);
  std::string b64;
  for (char c : m.substr(start, end - start))
    if (c != '\r' && c != '\n') b64 += c;
  EXPECT_EQ(gunzip(base64_decode(b64).value_or("")), reports[0].json);
  size_t pos = 0;
  while (pos < m.size()) {
    const size_t nl = m.find("\r\n", pos);
    ASSERT_NE(nl, std::string::npos);
    EXPECT_LE(nl - pos, 998u);
    pos = nl + 2;
  }
}

class TlsRptReporter : public ::testing::Test {
 protected:
  TlsRptReporter() : log_(tmp_.path()) {
    options_.dir = tmp_.path();
    options_.info = kInfo;
    options_.report_hour = 1;
    options_.log = [this](const std::string& l) { lines_.push_back(l); };
  }

  int Run(int64_t now) {
    return RunSync(send_due_reports(
        options_, dns_,
        [this](const std::vector<std::string>& rcpts, const std::string& message) {
          if (!inject_status_.ok()) return inject_status_;
          mails_.push_back({rcpts, message});
          return Status::Ok();
        },
        [this](std::string url, std::string body) -> asio::awaitable<Status> {
          posts_.push_back({url, body});
          co_return post_status_;
        },
        now));
  }

  bool Exists(const std::string& name) { return std::filesystem::exists(tmp_.path() + "/" + name); }

  testlib::TempDir tmp_;
  Log log_;
  ReporterOptions options_;
  FakeTxtDns dns_;
  std::vector<std::pair<std::vector<std::string>, std::string>> mails_;
  std::vector<std::pair<std::string, std::string>> posts_;
  std::vector<std::string> lines_;
  Status inject_status_;
  Status post_status_;
};

TEST_F(TlsRptReporter, SendsYesterdayByMailAndHttpsOnce) {
  ASSERT_TRUE(log_.record(Sts(kDay + 10, ResultType::kSuccess)).ok());
  ASSERT_TRUE(log_.record(Sts(kDay + 20, ResultType::kCertificateExpired)).ok());
  ASSERT_TRUE(log_.record(Tlsa(kDay + 30, ResultType::kSuccess)).ok());        // no record: none
  ASSERT_TRUE(log_.record(Sts(kDay + 86400 + 5, ResultType::kSuccess)).ok());  // today
  dns_.txt_answers["_smtp._tls.example.com"] =
      Txt({{"v=TLSRPTv1; rua=mailto:tls@example.com,",
            "https://r.example.com/v1,mailto:x@example.org"}});
  // Before report_hour nothing goes.
  EXPECT_EQ(Run(kDay + 86400 + 1800), 0);
  EXPECT_TRUE(mails_.empty());
  EXPECT_EQ(Run(kDay + 86400 + 3600), 1);
  ASSERT_EQ(mails_.size(), 1u);
  EXPECT_EQ(mails_[0].first, (std::vector<std::string>{"tls@example.com", "x@example.org"}));
  EXPECT_NE(mails_[0].second.find("Report Domain: example.com"), std::string::npos);
  ASSERT_EQ(posts_.size(), 1u);
  EXPECT_EQ(posts_[0].first, "https://r.example.com/v1");
  const nlohmann::json j = nlohmann::json::parse(gunzip(posts_[0].second).value_or(""));
  CheckSchema(j);
  EXPECT_EQ(j["policies"][0]["summary"]["total-failure-session-count"], 1);
  EXPECT_TRUE(Exists("2024-03-10.sent"));
  EXPECT_FALSE(Exists("2024-03-10.partial"));
  EXPECT_FALSE(Exists("2024-03-11.sent"));
  // Not twice.
  EXPECT_EQ(Run(kDay + 86400 + 7200), 0);
  EXPECT_EQ(mails_.size(), 1u);
  EXPECT_EQ(posts_.size(), 1u);
}

TEST_F(TlsRptReporter, RetriesFailuresWithoutResendingWhatWorked) {
  ASSERT_TRUE(log_.record(Sts(kDay + 10, ResultType::kSuccess)).ok());
  dns_.txt_answers["_smtp._tls.example.com"] =
      Txt({{"v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.com/v1"}});
  post_status_ = Status::Transient("HTTP status 503");
  EXPECT_EQ(Run(kDay + 86400 + 3600), 1);  // the mail went
  EXPECT_EQ(mails_.size(), 1u);
  EXPECT_EQ(posts_.size(), 1u);
  EXPECT_FALSE(Exists("2024-03-10.sent"));
  EXPECT_TRUE(Exists("2024-03-10.partial"));
  post_status_ = Status::Ok();
  EXPECT_EQ(Run(kDay + 86400 + 7200), 1);
  EXPECT_EQ(mails_.size(), 1u) << "the mail is not sent again";
  EXPECT_EQ(posts_.size(), 2u);
  EXPECT_TRUE(Exists("2024-03-10.sent"));
}

TEST_F(TlsRptReporter, DnsFailureRetriesThenGivesUpAndOldDaysAreDeleted) {
  ASSERT_TRUE(log_.record(Sts(kDay + 10, ResultType::kSuccess)).ok());
  dns_.txt_answers["_smtp._tls.example.com"] = testlib::Failed(DnsStatus::kTempFail, "timeout");
  EXPECT_EQ(Run(kDay + 86400 + 3600), 0);
  EXPECT_FALSE(Exists("2024-03-10.sent"));
  EXPECT_EQ(Run(kDay + 3 * 86400 + 3600), 0);  // past retry_days: given up
  EXPECT_TRUE(Exists("2024-03-10.sent"));
  EXPECT_EQ(Run(kDay + 20 * 86400), 0);  // past keep_days: gone
  EXPECT_FALSE(Exists("2024-03-10"));
  EXPECT_FALSE(Exists("2024-03-10.sent"));
}

}  // namespace
}  // namespace tern::tlsrpt
