// DMARC aggregate data (RFC 7489 7.2, Appendix C): the log's rows, the
// reports built from a day of them (XML read back through zlib), external
// destinations (7.1), and the reporter's marks and retries.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/base64.h"
#include "dmarc/aggregate.h"
#include "dmarc/reporter.h"
#include "fake_dns.h"
#include "testlib.h"

namespace tern::dmarc {
namespace {

using testlib::Failed;
using testlib::FakeTxtDns;
using testlib::gunzip;
using testlib::RunSync;
using testlib::Txt;

using testlib::slurp;
using testlib::TempDir;

// 2024-03-10 00:00:00 UTC.
constexpr int64_t kDay = 1710028800;

size_t Count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = hay.find(needle); pos != std::string::npos;
       pos = hay.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// The <record> elements of a feedback document, in order.
std::vector<std::string> Records(const std::string& xml) {
  std::vector<std::string> out;
  for (size_t pos = xml.find("<record>"); pos != std::string::npos;
       pos = xml.find("<record>", pos + 1)) {
    out.push_back(xml.substr(pos, xml.find("</record>", pos) - pos));
  }
  return out;
}

// Header fields with their folds undone (RFC 5322 2.2.3).
std::string Unfolded(std::string s) {
  for (size_t pos; (pos = s.find("\r\n ")) != std::string::npos;) s.replace(pos, 3, " ");
  return s;
}

ReportUri Uri(const std::string& text) {
  ReportUri u;
  bool mailto = false;
  EXPECT_TRUE(parse_report_uri(text, &u, &mailto)) << text;
  return u;
}

AggregateRow Row(int64_t time, std::string ip, std::string from, std::string pd) {
  AggregateRow r;
  r.time = time;
  r.source_ip = std::move(ip);
  r.header_from = from;
  r.policy_domain = std::move(pd);
  r.p = Policy::kReject;
  r.rua = {Uri("mailto:dmarc@" + r.policy_domain)};
  r.spf_domain = from;
  r.spf_result = "pass";
  return r;
}

ReporterInfo Info() {
  ReporterInfo info;
  info.org_name = "Receiver Inc.";
  info.email = "dmarc-noreply@receiver.example";
  info.hostname = "mx.receiver.example";
  return info;
}

TEST(DmarcAggregate, Days) {
  EXPECT_EQ(utc_day(kDay), "2024-03-10");
  EXPECT_EQ(utc_day(kDay + 86399), "2024-03-10");
  EXPECT_EQ(utc_day(kDay + 86400), "2024-03-11");
  EXPECT_EQ(day_start("2024-03-10"), kDay);
  EXPECT_EQ(day_start("1970-01-01"), 0);
  EXPECT_FALSE(day_start("2024-02-30"));
  EXPECT_FALSE(day_start("2024-3-10"));
  EXPECT_FALSE(day_start("2024-03-10.sent"));
  EXPECT_FALSE(day_start("yyyy-mm-dd"));
}

TEST(DmarcAggregate, RowsRoundTrip) {
  AggregateRow r = Row(kDay + 5, "2001:db8::1", "example.com", "example.com");
  r.sp = Policy::kQuarantine;
  r.pct = 40;
  r.adkim = Alignment::kStrict;
  r.fo = "1:d";
  r.rua.push_back(Uri("mailto:x%2By@example.net!10m"));
  r.disposition = Policy::kQuarantine;
  r.result = Result::kFail;
  r.spf_aligned = true;
  r.override_reason = "sampled_out";
  r.dkim = {{"example.com", "sel1", "pass"}, {"other.net", "", "fail"}};
  r.spf_scope = "helo";
  const std::string line = format_row(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const std::optional<AggregateRow> back = parse_row(line);
  ASSERT_TRUE(back.has_value()) << line;
  EXPECT_EQ(*back, r) << line;
}

TEST(DmarcAggregate, HostileValuesCannotForgeLinesOrFields) {
  AggregateRow r = Row(kDay, "192.0.2.1", "x\n", "example.com");
  // A From domain trying to end the line and start another, then to add
  // fields: all of it stays inside its own value.
  r.header_from = "evil.example\ndmarc1 t=1 ip=6.6.6.6 from=a pd=victim.example p=none";
  r.spf_domain = "a b=c,d/e+f";
  r.dkim = {{"d/x", "s=1", "pass pass"}};
  const std::string line = format_row(r);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(Count(line, " pd="), 1u) << line;
  const std::optional<AggregateRow> back = parse_row(line);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->header_from, r.header_from);
  EXPECT_EQ(back->spf_domain, r.spf_domain);
  EXPECT_EQ(back->dkim, r.dkim);
  EXPECT_EQ(back->policy_domain, "example.com");
}

TEST(DmarcAggregate, ParseRowRejectsWhatIsNotOurs) {
  const std::string good = format_row(Row(kDay, "192.0.2.1", "example.com", "example.com"));
  ASSERT_TRUE(parse_row(good));
  EXPECT_FALSE(parse_row(""));
  EXPECT_FALSE(parse_row("hello world"));
  EXPECT_FALSE(parse_row("dmarc1"));  // required fields missing
  EXPECT_FALSE(parse_row("dmarc2" + good.substr(6)));
  EXPECT_FALSE(parse_row(good.substr(0, good.find(" res="))));  // torn before res=
  std::string bad = good;
  bad.replace(bad.find("p=reject"), 8, "p=strict");
  EXPECT_FALSE(parse_row(bad));
  bad = good;
  bad.replace(bad.find("pct=100"), 7, "pct=101");
  EXPECT_FALSE(parse_row(bad));
  // Fields of a later version are ignored.
  EXPECT_TRUE(parse_row(good + " newfield=1"));
}

TEST(DmarcAggregate, MakeRow) {
  Discovery d;
  d.status = Discovery::Status::kFound;
  d.policy_domain = "example.com";
  ASSERT_TRUE(parse_record("v=DMARC1; p=reject; sp=none; pct=50; aspf=s; rua=mailto:a@example.com",
                           nullptr));
  d.record = *parse_record("v=DMARC1; p=reject; sp=none; pct=50; aspf=s; rua=mailto:a@example.com",
                           nullptr);
  Identifiers ids;
  ids.from_domain = "example.com";
  ids.spf_domain = "bounce.example.com";
  ids.spf_pass = true;
  const Evaluation e = evaluate(d, ids, 0.7);  // relaxed would pass; aspf=s fails, sampled out
  ASSERT_EQ(e.result, Result::kFail);
  const AggregateRow row = make_row(kDay + 1, "192.0.2.1", ids, d, e);
  EXPECT_EQ(row.time, kDay + 1);
  EXPECT_EQ(row.source_ip, "192.0.2.1");
  EXPECT_EQ(row.header_from, "example.com");
  EXPECT_EQ(row.policy_domain, "example.com");
  EXPECT_EQ(row.p, Policy::kReject);
  EXPECT_EQ(row.sp, Policy::kNone);
  EXPECT_EQ(row.pct, 50);
  EXPECT_EQ(row.aspf, Alignment::kStrict);
  ASSERT_EQ(row.rua.size(), 1u);
  EXPECT_EQ(row.disposition, Policy::kQuarantine);
  EXPECT_EQ(row.result, Result::kFail);
  EXPECT_FALSE(row.spf_aligned);
  EXPECT_EQ(row.override_reason, "sampled_out");
  EXPECT_EQ(row.spf_domain, "bounce.example.com");
  EXPECT_EQ(row.spf_scope, "mfrom");
}

TEST(DmarcAggregate, LogAppendsToTheDayFile) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/not/yet/there";
  AggregateLog log(dir);
  ASSERT_TRUE(log.record(Row(kDay + 10, "192.0.2.1", "example.com", "example.com")).ok());
  ASSERT_TRUE(log.record(Row(kDay + 86400 + 1, "192.0.2.2", "example.com", "example.com")).ok());
  ASSERT_TRUE(log.record(Row(kDay + 20, "192.0.2.3", "example.com", "example.com")).ok());
  const std::vector<AggregateRow> first = read_rows(dir, "2024-03-10");
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].source_ip, "192.0.2.1");
  EXPECT_EQ(first[1].source_ip, "192.0.2.3");
  const std::vector<AggregateRow> second = read_rows(dir, "2024-03-11");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].source_ip, "192.0.2.2");
  EXPECT_EQ(Count(slurp(dir + "/2024-03-10"), "\n"), 2u);
  EXPECT_TRUE(read_rows(dir, "2024-03-12").empty());

  AggregateRow nobody = Row(kDay, "192.0.2.1", "example.com", "example.com");
  nobody.policy_domain.clear();
  EXPECT_EQ(log.record(nobody).kind(), Status::Kind::kPermanent);
}

TEST(DmarcAggregate, LogIsThreadSafe) {
  TempDir tmp;
  AggregateLog log(tmp.path());
  constexpr int kThreads = 4, kRows = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < kRows; ++i) {
        AggregateRow r =
            Row(kDay + i, "192.0.2." + std::to_string(t), "example.com", "example.com");
        r.dkim = {{"example.com", "s" + std::to_string(i), "pass"}};
        ASSERT_TRUE(log.record(r).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  size_t skipped = 99;
  EXPECT_EQ(read_rows(tmp.path(), "2024-03-10", &skipped).size(),
            static_cast<size_t>(kThreads * kRows));
  EXPECT_EQ(skipped, 0u);
}

TEST(DmarcAggregate, UnreadableLinesAreSkipped) {
  TempDir tmp;
  const std::string good = format_row(Row(kDay, "192.0.2.1", "example.com", "example.com"));
  {
    std::ofstream f(tmp.path() + "/2024-03-10", std::ios::binary);
    f << "garbage line\n"
      << good << "\n\n"
      << "dmarc1 t=x\n"
      << good << "\n"
      << good.substr(0, 30);
  }
  size_t skipped = 0;
  EXPECT_EQ(read_rows(tmp.path(), "2024-03-10", &skipped).size(), 2u);
  EXPECT_EQ(skipped, 4u);  // garbage, the empty line, t=x, the torn last line
}

TEST(DmarcAggregate, ReportsGroupAndCount) {
  TempDir tmp;
  AggregateLog log(tmp.path());
  // example.com: three alike from 192.0.2.1, one sampled-out failure from
  // 2001:db8::7 with two signatures, one from a subdomain.
  for (int i = 0; i < 3; ++i) {
    AggregateRow r = Row(kDay + 100 + i, "192.0.2.1", "example.com", "example.com");
    r.result = Result::kPass;
    r.dkim_aligned = true;
    r.dkim = {{"example.com", "s1", "pass"}};
    ASSERT_TRUE(log.record(r).ok());
  }
  AggregateRow fail = Row(kDay + 200, "2001:db8::7", "example.com", "example.com");
  fail.result = Result::kFail;
  fail.disposition = Policy::kQuarantine;
  fail.override_reason = "sampled_out";
  fail.pct = 50;
  fail.dkim = {{"attacker.example", "x", "pass"}, {"example.com", "s1", "fail"}};
  fail.spf_domain = "attacker.example";
  fail.spf_result = "softfail";
  ASSERT_TRUE(log.record(fail).ok());
  AggregateRow sub = Row(kDay + 300, "192.0.2.1", "news.example.com", "example.com");
  sub.result = Result::kPass;
  sub.spf_aligned = true;
  sub.pct = 50;  // the last row's published policy is shown
  ASSERT_TRUE(log.record(sub).ok());
  // example.org: one row. example.net: no rua, so no report.
  ASSERT_TRUE(log.record(Row(kDay + 400, "198.51.100.9", "example.org", "example.org")).ok());
  AggregateRow silent = Row(kDay + 500, "198.51.100.9", "example.net", "example.net");
  silent.rua.clear();
  ASSERT_TRUE(log.record(silent).ok());

  const std::vector<Report> reports = build_reports(tmp.path(), "2024-03-10", Info(), kDay + 86400);
  ASSERT_EQ(reports.size(), 2u);
  const Report& r = reports[0];
  EXPECT_EQ(r.policy_domain, "example.com");
  EXPECT_EQ(reports[1].policy_domain, "example.org");
  EXPECT_EQ(r.messages, 5);
  EXPECT_EQ(r.begin, kDay);
  EXPECT_EQ(r.end, kDay + 86399);
  EXPECT_EQ(r.report_id, "1710028800.example.com@mx.receiver.example");
  // 7.2.1.1: receiver "!" policy-domain "!" begin "!" end "." extension
  EXPECT_EQ(r.filename, "mx.receiver.example!example.com!1710028800!1710115199.xml.gz");
  ASSERT_EQ(r.rua.size(), 1u);
  EXPECT_EQ(r.rua[0].address, "dmarc@example.com");

  // The gzip attachment is the XML.
  EXPECT_EQ(gunzip(r.gzip), r.xml);
  const std::string& x = r.xml;
  EXPECT_EQ(x.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n", 0), 0u);
  EXPECT_NE(x.find("<version>1.0</version>"), std::string::npos);
  EXPECT_NE(x.find("<org_name>Receiver Inc.</org_name>"), std::string::npos);
  EXPECT_NE(x.find("<email>dmarc-noreply@receiver.example</email>"), std::string::npos);
  EXPECT_NE(x.find("<report_id>1710028800.example.com@mx.receiver.example</report_id>"),
            std::string::npos);
  EXPECT_NE(x.find("<begin>1710028800</begin>"), std::string::npos);
  EXPECT_NE(x.find("<end>1710115199</end>"), std::string::npos);
  EXPECT_NE(x.find("<policy_published>\n    <domain>example.com</domain>\n    <adkim>r</adkim>\n"
                   "    <aspf>r</aspf>\n    <p>reject</p>\n    <sp>reject</sp>\n    <pct>50</pct>\n"
                   "    <fo>0</fo>\n  </policy_published>"),
            std::string::npos)
      << x;

  const std::vector<std::string> records = Records(x);
  ASSERT_EQ(records.size(), 3u) << x;
  // First: the three alike, in first-seen order.
  EXPECT_NE(records[0].find("<source_ip>192.0.2.1</source_ip>"), std::string::npos);
  EXPECT_NE(records[0].find("<count>3</count>"), std::string::npos);
  EXPECT_NE(records[0].find("<disposition>none</disposition>\n        <dkim>pass</dkim>\n"
                            "        <spf>fail</spf>"),
            std::string::npos)
      << records[0];
  EXPECT_NE(records[0].find("<envelope_from>example.com</envelope_from>"), std::string::npos);
  EXPECT_NE(records[0].find("<header_from>example.com</header_from>"), std::string::npos);
  EXPECT_NE(records[0].find("<dkim>\n        <domain>example.com</domain>\n"
                            "        <selector>s1</selector>\n        <result>pass</result>"),
            std::string::npos)
      << records[0];
  EXPECT_NE(records[0].find("<spf>\n        <domain>example.com</domain>\n"
                            "        <scope>mfrom</scope>\n        <result>pass</result>"),
            std::string::npos);
  // Second: IPv6 in the eight groups Appendix C's IPAddress pattern wants.
  EXPECT_NE(records[1].find("<source_ip>2001:db8:0:0:0:0:0:7</source_ip>"), std::string::npos);
  EXPECT_NE(records[1].find("<count>1</count>"), std::string::npos);
  EXPECT_NE(records[1].find("<disposition>quarantine</disposition>"), std::string::npos);
  EXPECT_NE(records[1].find("<reason>\n          <type>sampled_out</type>"), std::string::npos);
  EXPECT_EQ(Count(records[1], "<dkim>\n"), 2u);
  EXPECT_NE(records[1].find("<result>softfail</result>"), std::string::npos);
  // Third: same IP, other From domain: its own record.
  EXPECT_NE(records[2].find("<header_from>news.example.com</header_from>"), std::string::npos);
  EXPECT_NE(records[2].find("<spf>pass</spf>"), std::string::npos);
  EXPECT_EQ(Count(records[2], "<dkim>\n"), 0u);
  EXPECT_EQ(Count(x, "<count>"), 3u);
}

TEST(DmarcAggregate, ReportMessage) {
  TempDir tmp;
  AggregateLog log(tmp.path());
  ASSERT_TRUE(log.record(Row(kDay + 1, "192.0.2.1", "example.com", "example.com")).ok());
  const std::vector<Report> reports = build_reports(tmp.path(), "2024-03-10", Info(), kDay + 90000);
  ASSERT_EQ(reports.size(), 1u);
  const std::string& m = reports[0].message;
  const std::string headers = Unfolded(m.substr(0, m.find("\r\n\r\n")));
  EXPECT_NE(headers.find("From: \"Receiver Inc.\" <dmarc-noreply@receiver.example>"),
            std::string::npos)
      << headers;
  EXPECT_NE(headers.find("To: dmarc@example.com"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Subject: Report Domain: example.com Submitter: mx.receiver.example "
                         "Report-ID: <1710028800.example.com@mx.receiver.example>\r\n"),
            std::string::npos)
      << headers;
  EXPECT_NE(headers.find("Message-ID: <dmarc.1710028800.example.com@mx.receiver.example>"),
            std::string::npos);
  EXPECT_NE(headers.find("Content-Type: multipart/mixed"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: text/plain"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: application/gzip"), std::string::npos);
  EXPECT_NE(m.find("Content-Transfer-Encoding: base64"), std::string::npos);
  EXPECT_NE(m.find(reports[0].filename), std::string::npos);
  // The attachment decodes to the gzip'd XML.
  const size_t part = m.find("Content-Type: application/gzip");
  const size_t body = m.find("\r\n\r\n", part) + 4;
  const size_t end = m.find("\r\n--", body);
  std::string b64 = m.substr(body, end - body);
  std::erase(b64, '\r');
  std::erase(b64, '\n');
  const std::optional<std::string> bytes = base64_decode(b64);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(*bytes, reports[0].gzip);
  EXPECT_EQ(gunzip(*bytes), reports[0].xml);
  // The same day gives the same bytes (a resend carries the same Report-ID).
  EXPECT_EQ(build_reports(tmp.path(), "2024-03-10", Info(), kDay + 90000)[0].message, m);
  // To a subset.
  const std::string two =
      report_message(reports[0], Info(), {"a@example.com", "b@example.net"}, kDay + 90000);
  EXPECT_NE(Unfolded(two).find("To: a@example.com, b@example.net\r\n"), std::string::npos);
}

TEST(DmarcAggregate, XmlEscapesHostileNames) {
  TempDir tmp;
  AggregateLog log(tmp.path());
  AggregateRow r = Row(kDay, "192.0.2.1", "example.com", "example.com");
  r.header_from = "a<b>&\"c'\x01\xff\xc3\xa9.example";
  r.dkim = {{"example.com", "</selector><x>", "pass"}};
  ASSERT_TRUE(log.record(r).ok());
  const std::vector<Report> reports = build_reports(tmp.path(), "2024-03-10", Info(), kDay);
  ASSERT_EQ(reports.size(), 1u);
  const std::string& x = reports[0].xml;
  EXPECT_NE(x.find("<header_from>a&lt;b&gt;&amp;&quot;c&apos;??\xc3\xa9.example</header_from>"),
            std::string::npos)
      << x;
  EXPECT_NE(x.find("<selector>&lt;/selector&gt;&lt;x&gt;</selector>"), std::string::npos);
  EXPECT_EQ(x.find("<x>"), std::string::npos);
}

TEST(DmarcAggregate, SizeLimitedAddressesAreLeftOut) {
  TempDir tmp;
  AggregateLog log(tmp.path());
  AggregateRow r = Row(kDay, "192.0.2.1", "example.com", "example.com");
  r.rua = {Uri("mailto:tiny@example.com!10"), Uri("mailto:big@example.com!1m")};
  ASSERT_TRUE(log.record(r).ok());
  std::vector<Report> reports = build_reports(tmp.path(), "2024-03-10", Info(), kDay);
  ASSERT_EQ(reports.size(), 1u);
  ASSERT_EQ(reports[0].rua.size(), 1u);
  EXPECT_EQ(reports[0].rua[0].address, "big@example.com");
  EXPECT_EQ(reports[0].message.find("tiny@"), std::string::npos);

  TempDir tmp2;
  AggregateLog log2(tmp2.path());
  r.rua = {Uri("mailto:tiny@example.com!10")};
  ASSERT_TRUE(log2.record(r).ok());
  EXPECT_TRUE(build_reports(tmp2.path(), "2024-03-10", Info(), kDay).empty());
}

TEST(DmarcAggregate, NoFileNoReports) {
  TempDir tmp;
  EXPECT_TRUE(build_reports(tmp.path(), "2024-03-10", Info(), kDay).empty());
  EXPECT_TRUE(build_reports(tmp.path(), "not-a-day", Info(), kDay).empty());
}

TEST(DmarcAggregate, ExternalDestinations) {
  FakeTxtDns dns;
  // Same organizational domain: no query.
  EXPECT_TRUE(RunSync(external_destination_allowed(dns, "example.com", "reports.example.com")));
  EXPECT_TRUE(RunSync(external_destination_allowed(dns, "mail.example.com", "Example.COM")));
  EXPECT_TRUE(dns.queries.empty());
  // Elsewhere: <policy-domain>._report._dmarc.<rua-domain> must say v=DMARC1.
  dns.txt_answers["example.com._report._dmarc.thirdparty.example.net"] = Txt({{"v=DMARC1"}});
  dns.txt_answers["example.com._report._dmarc.other.example"] = Txt({{"v=spf1 -all"}});
  dns.txt_answers["example.com._report._dmarc.broken.example"] = Failed(DnsStatus::kTempFail);
  EXPECT_TRUE(RunSync(external_destination_allowed(dns, "example.com", "thirdparty.example.net")));
  EXPECT_EQ(dns.queries.back(), "example.com._report._dmarc.thirdparty.example.net");
  EXPECT_FALSE(RunSync(external_destination_allowed(dns, "example.com", "other.example")));
  EXPECT_FALSE(RunSync(external_destination_allowed(dns, "example.com", "nothing.example")));
  EXPECT_FALSE(RunSync(external_destination_allowed(dns, "example.com", "broken.example")));
  EXPECT_EQ(RunSync(check_external_destination(dns, "example.com", "broken.example")),
            Destination::kTempError);
  EXPECT_EQ(RunSync(check_external_destination(dns, "example.com", "nothing.example")),
            Destination::kRefused);
}

// ---- The reporter.

struct Sent {
  std::vector<std::string> rcpts;
  std::string message;
};

class DmarcReporter : public ::testing::Test {
 protected:
  DmarcReporter() : log_(tmp_.path()) {
    options_.dir = tmp_.path();
    options_.info = Info();
    options_.log = [this](const std::string& line) { lines_.push_back(line); };
  }

  void Record(int64_t time, std::string pd, std::vector<std::string> rua) {
    AggregateRow r = Row(time, "192.0.2.1", pd, pd);
    r.rua.clear();
    for (const std::string& u : rua) r.rua.push_back(Uri(u));
    ASSERT_TRUE(log_.record(r).ok());
  }

  int Run(int64_t now) {
    return RunSync(send_due_reports(
        options_, dns_,
        [this](const std::vector<std::string>& rcpts, const std::string& message) {
          if (!inject_status_.ok()) return inject_status_;
          sent_.push_back(Sent{rcpts, message});
          return Status::Ok();
        },
        now));
  }

  bool Exists(const std::string& name) { return std::filesystem::exists(tmp_.path() + "/" + name); }

  TempDir tmp_;
  AggregateLog log_;
  ReporterOptions options_;
  FakeTxtDns dns_;
  std::vector<Sent> sent_;
  std::vector<std::string> lines_;
  Status inject_status_;
};

TEST_F(DmarcReporter, SendsPastDaysOnceAndMarksThem) {
  Record(kDay + 10, "example.com", {"mailto:dmarc@example.com"});
  Record(kDay + 20, "example.org", {"mailto:dmarc@example.org"});
  Record(kDay + 86400 + 5, "example.com", {"mailto:dmarc@example.com"});  // "today"
  const int64_t now = kDay + 86400 + 3600;                                // 2024-03-11 01:00 UTC
  EXPECT_EQ(Run(now), 2);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0].rcpts, (std::vector<std::string>{"dmarc@example.com"}));
  EXPECT_NE(sent_[0].message.find("Report Domain: example.com"), std::string::npos);
  EXPECT_EQ(sent_[1].rcpts, (std::vector<std::string>{"dmarc@example.org"}));
  EXPECT_TRUE(Exists("2024-03-10.sent"));
  EXPECT_FALSE(Exists("2024-03-10.partial"));
  EXPECT_FALSE(Exists("2024-03-11.sent"));  // today is not done yet
  // Next hour: nothing new.
  EXPECT_EQ(Run(now + 3600), 0);
  EXPECT_EQ(sent_.size(), 2u);
  // The day after, 2024-03-11 is due.
  EXPECT_EQ(Run(now + 86400), 1);
  EXPECT_TRUE(Exists("2024-03-11.sent"));
  EXPECT_TRUE(dns_.queries.empty());  // every rua at its own domain
}

TEST_F(DmarcReporter, DayWithoutReportsIsMarked) {
  Record(kDay + 10, "example.com", {});
  EXPECT_EQ(Run(kDay + 86400), 0);
  EXPECT_TRUE(Exists("2024-03-10.sent"));
}

TEST_F(DmarcReporter, ExternalDestinationsNeedAuthorisation) {
  Record(kDay + 10, "example.com",
         {"mailto:dmarc@example.com", "mailto:agg@vendor.example", "mailto:x@stranger.example"});
  dns_.txt_answers["example.com._report._dmarc.vendor.example"] = Txt({{"v=DMARC1;"}});
  EXPECT_EQ(Run(kDay + 86400), 1);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].rcpts, (std::vector<std::string>{"dmarc@example.com", "agg@vendor.example"}));
  // The message is addressed to the allowed ones only.
  const std::string headers =
      Unfolded(sent_[0].message.substr(0, sent_[0].message.find("\r\n\r\n")));
  EXPECT_EQ(headers.find("stranger"), std::string::npos) << headers;
  EXPECT_NE(headers.find("agg@vendor.example"), std::string::npos);
  bool logged = false;
  for (const std::string& l : lines_) logged = logged || l.find("x@stranger.example") != l.npos;
  EXPECT_TRUE(logged);
}

TEST_F(DmarcReporter, NoAllowedDestinationMeansNoMessage) {
  Record(kDay + 10, "example.com", {"mailto:x@stranger.example"});
  EXPECT_EQ(Run(kDay + 86400), 0);
  EXPECT_TRUE(sent_.empty());
  EXPECT_TRUE(Exists("2024-03-10.sent"));
}

TEST_F(DmarcReporter, DnsFailureDefersOnlyThatReport) {
  Record(kDay + 10, "example.com", {"mailto:agg@vendor.example"});
  Record(kDay + 20, "example.org", {"mailto:dmarc@example.org"});
  dns_.txt_answers["example.com._report._dmarc.vendor.example"] = Failed(DnsStatus::kTempFail);
  EXPECT_EQ(Run(kDay + 86400), 1);  // example.org goes; example.com waits
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].rcpts, (std::vector<std::string>{"dmarc@example.org"}));
  EXPECT_FALSE(Exists("2024-03-10.sent"));
  EXPECT_TRUE(Exists("2024-03-10.partial"));
  // DNS recovers: only the deferred report goes, then the day is done.
  dns_.txt_answers["example.com._report._dmarc.vendor.example"] = Txt({{"v=DMARC1"}});
  EXPECT_EQ(Run(kDay + 86400 + 3600), 1);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].rcpts, (std::vector<std::string>{"agg@vendor.example"}));
  EXPECT_TRUE(Exists("2024-03-10.sent"));
  EXPECT_FALSE(Exists("2024-03-10.partial"));
}

TEST_F(DmarcReporter, TemporaryFailuresAreGivenUpAfterRetryDays) {
  Record(kDay + 10, "example.com", {"mailto:agg@vendor.example"});
  dns_.txt_answers["example.com._report._dmarc.vendor.example"] = Failed(DnsStatus::kTempFail);
  EXPECT_EQ(Run(kDay + 2 * 86400), 0);  // 2 days after: still retried
  EXPECT_FALSE(Exists("2024-03-10.sent"));
  EXPECT_EQ(Run(kDay + 3 * 86400), 0);  // 3 days after: given up
  EXPECT_TRUE(Exists("2024-03-10.sent"));
  EXPECT_TRUE(sent_.empty());
}

TEST_F(DmarcReporter, TransientInjectFailureIsRetried) {
  Record(kDay + 10, "example.com", {"mailto:dmarc@example.com"});
  inject_status_ = Status::Transient("queue full");
  EXPECT_EQ(Run(kDay + 86400), 0);
  EXPECT_FALSE(Exists("2024-03-10.sent"));
  inject_status_ = Status::Ok();
  EXPECT_EQ(Run(kDay + 86400 + 3600), 1);
  EXPECT_TRUE(Exists("2024-03-10.sent"));
}

TEST_F(DmarcReporter, PermanentInjectFailureGivesUp) {
  Record(kDay + 10, "example.com", {"mailto:dmarc@example.com"});
  inject_status_ = Status::Permanent("no");
  EXPECT_EQ(Run(kDay + 86400), 0);
  EXPECT_TRUE(Exists("2024-03-10.sent"));
}

TEST_F(DmarcReporter, OldFilesAreDeleted) {
  Record(kDay + 10, "example.com", {"mailto:dmarc@example.com"});     // 2024-03-10
  Record(kDay + 86400, "example.com", {"mailto:dmarc@example.com"});  // 2024-03-11
  { std::ofstream(tmp_.path() + "/notes.txt") << "keep me"; }
  EXPECT_EQ(Run(kDay + 2 * 86400), 2);
  EXPECT_TRUE(Exists("2024-03-10.sent"));
  // 2024-03-25 is 15 days after 03-10 (deleted) and 14 after 03-11 (kept).
  EXPECT_EQ(Run(kDay + 15 * 86400), 0);
  EXPECT_FALSE(Exists("2024-03-10"));
  EXPECT_FALSE(Exists("2024-03-10.sent"));
  EXPECT_TRUE(Exists("2024-03-11"));
  EXPECT_TRUE(Exists("2024-03-11.sent"));
  EXPECT_TRUE(Exists("notes.txt"));
}

TEST_F(DmarcReporter, MissingDirectoryIsNothingToDo) {
  options_.dir = tmp_.path() + "/nope";
  EXPECT_EQ(Run(kDay), 0);
}

}  // namespace
}  // namespace tern::dmarc
