#include "tlsrpt/report.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "base/gzip.h"
#include "core/ascii.h"
#include "core/base64.h"
#include "core/domain.h"
#include "core/received.h"    // rfc5322_date
#include "dmarc/aggregate.h"  // utc_day

namespace tern::tlsrpt {
namespace {

using Json = nlohmann::ordered_json;  // fields in the RFC's order, for people

// RFC 3339 "date-time" in UTC, as 4.4's example: 2016-04-01T00:00:00Z.
std::string rfc3339(int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// 5.1's unique-id is 1*(ALPHA / DIGIT): 16 hex digits of SHA-256(report-id).
std::string unique_id(const std::string& report_id) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(report_id.data(), report_id.size(), md, &len, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned i = 0; i < 8 && i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

using PolicyKey = std::tuple<PolicyType, std::vector<std::string>, std::vector<std::string>>;
using FailureKey = std::tuple<ResultType, std::string, std::string, std::string, std::string,
                              std::string, std::string>;

struct Policy {
  int64_t successes = 0;
  int64_t failures = 0;
  std::map<FailureKey, int64_t> details;
};

Json policy_json(const std::string& domain, const PolicyKey& key, const Policy& p) {
  Json policy;
  policy["policy-type"] = policy_type_name(std::get<0>(key));
  if (!std::get<1>(key).empty()) policy["policy-string"] = std::get<1>(key);
  policy["policy-domain"] = domain;
  if (!std::get<2>(key).empty()) policy["mx-host"] = std::get<2>(key);
  Json entry;
  entry["policy"] = policy;
  entry["summary"] = {{"total-successful-session-count", p.successes},
                      {"total-failure-session-count", p.failures}};
  if (!p.details.empty()) {
    Json details = Json::array();
    for (const auto& [k, count] : p.details) {
      const auto& [result, sip, host, helo, rip, code, info] = k;
      Json d;
      d["result-type"] = result_type_name(result);
      if (!sip.empty()) d["sending-mta-ip"] = sip;
      if (!host.empty()) d["receiving-mx-hostname"] = host;
      if (!helo.empty()) d["receiving-mx-helo"] = helo;
      if (!rip.empty()) d["receiving-ip"] = rip;
      d["failed-session-count"] = count;
      if (!info.empty()) d["additional-information"] = info;
      if (!code.empty()) d["failure-reason-code"] = code;
      details.push_back(std::move(d));
    }
    entry["failure-details"] = std::move(details);
  }
  return entry;
}

std::string crlf_lines(std::string_view b64) {
  std::string out;
  for (size_t i = 0; i < b64.size(); i += 76) out += std::string(b64.substr(i, 76)) + "\r\n";
  return out;
}

}  // namespace

std::vector<DomainReport> build_reports(const std::vector<SessionResult>& results,
                                        int64_t day_begin, const ReporterInfo& info) {
  std::map<std::string, std::map<PolicyKey, Policy>> domains;
  for (const SessionResult& r : results) {
    // The domain goes into the Subject, header fields and the file name:
    // anything but a domain name (a hand-edited log) is left out.
    if (!is_valid_domain(r.policy_domain)) continue;
    Policy& p = domains[ascii_lower(r.policy_domain)]
                       [PolicyKey{r.policy_type, r.policy_strings, r.mx_host}];
    if (r.result == ResultType::kSuccess) {
      ++p.successes;
      continue;
    }
    ++p.failures;
    ++p.details[FailureKey{r.result, r.sending_mta_ip, ascii_lower(r.receiving_mx_hostname),
                           r.receiving_mx_helo, r.receiving_ip, r.failure_reason_code,
                           r.additional_information}];
  }
  std::vector<DomainReport> out;
  const std::string hostname = ascii_lower(info.hostname);
  for (const auto& [domain, policies] : domains) {
    DomainReport rep;
    rep.policy_domain = domain;
    rep.begin = day_begin;
    rep.end = day_begin + 86400 - 1;
    rep.report_id = fmt::format("{}.{}@{}", dmarc::utc_day(day_begin), domain, hostname);
    Json doc;
    doc["organization-name"] = info.organization;
    doc["date-range"] = {{"start-datetime", rfc3339(rep.begin)},
                         {"end-datetime", rfc3339(rep.end)}};
    doc["contact-info"] = info.contact;
    doc["report-id"] = rep.report_id;
    Json list = Json::array();
    for (const auto& [key, p] : policies) {
      rep.successes += p.successes;
      rep.failures += p.failures;
      list.push_back(policy_json(domain, key, p));
    }
    doc["policies"] = std::move(list);
    // Escaped, so that a remote server's bytes cannot make invalid UTF-8.
    rep.json = doc.dump(2, ' ', true, Json::error_handler_t::replace) + "\n";
    rep.gzip = gzip(rep.json);
    if (rep.gzip.empty()) continue;
    rep.filename = fmt::format("{}!{}!{}!{}!{}.json.gz", hostname, domain, rep.begin, rep.end,
                               unique_id(rep.report_id));
    out.push_back(std::move(rep));
  }
  return out;
}

std::string report_message(const DomainReport& report, const ReporterInfo& info,
                           const std::vector<std::string>& to, int64_t now) {
  const std::string submitter = ascii_lower(info.hostname);
  const std::string boundary = "=_tern_tlsrpt_" + unique_id(report.report_id);
  std::string rcpts;
  for (const std::string& a : to) rcpts += (rcpts.empty() ? "" : ",\r\n ") + a;
  std::string m;
  m += "From: " + info.contact + "\r\n";
  m += "To: " + rcpts + "\r\n";
  m += "Date: " + rfc5322_date(now) + "\r\n";
  // 5.3: the Subject, and the two fields that name the report.
  m += fmt::format("Subject: Report Domain: {}\r\n Submitter: {}\r\n Report-ID: <{}>\r\n",
                   report.policy_domain, submitter, report.report_id);
  m += "TLS-Report-Domain: " + report.policy_domain + "\r\n";
  m += "TLS-Report-Submitter: " + submitter + "\r\n";
  m += "Message-ID: <tlsrpt." + report.report_id + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n boundary=\"" + boundary +
       "\"\r\n\r\n";
  m += "This is a multipart message in MIME format.\r\n\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n";
  m += fmt::format(
      "This is an aggregate TLS report (RFC 8460) from {} for {},\r\n"
      "covering {} successful and {} failed sessions on {} (UTC).\r\n"
      "The report is the attached file\r\n{}\r\n\r\n",
      info.organization, report.policy_domain, report.successes, report.failures,
      dmarc::utc_day(report.begin), report.filename);
  m += "--" + boundary + "\r\n";
  m += "Content-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n";
  m += "Content-Disposition: attachment;\r\n filename=\"" + report.filename + "\"\r\n\r\n";
  m += crlf_lines(base64_encode(report.gzip));
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

}  // namespace tern::tlsrpt
