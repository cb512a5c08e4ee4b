// The daily SMTP TLS report (RFC 8460 4.4) of one policy domain: the
// recorded results (log.h) of a UTC day grouped by policy, counted, as the
// RFC's JSON, gzip'd and named (5.1), and the mail that carries it (5.3).
//
// Pure: rows in, bytes out (no files, DNS or clock). Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tlsrpt/result.h"

namespace tern::tlsrpt {

struct ReporterInfo {
  std::string organization;  // "organization-name"
  std::string contact;       // "contact-info", and the From of report mail
  std::string hostname;      // the submitter: file names, report ids, Subject
};

struct DomainReport {
  std::string policy_domain;
  std::string report_id;  // "<day>.<policy_domain>@<hostname>": the same on a resend
  std::string json;       // the report (4.4)
  std::string gzip;       // json, gzip'd: what is sent
  // <hostname>!<policy-domain>!<begin>!<end>!<unique-id>.json.gz (5.1).
  std::string filename;
  int64_t begin = 0;  // the UTC day, first and last second
  int64_t end = 0;
  int64_t successes = 0;
  int64_t failures = 0;
};

// One report per policy domain found in `results` (all of the UTC day
// starting at `day_begin`), in policy-domain order (lower-cased). Within a
// report, one "policies" entry per distinct policy (type, strings, mx
// hosts) with its summary and its failure details grouped by result type,
// IPs, MX host name and HELO, reason code and additional information.
std::vector<DomainReport> build_reports(const std::vector<SessionResult>& results,
                                        int64_t day_begin, const ReporterInfo& info);

// The report mail of 5.3 to `to` (addresses): multipart/report with
// report-type="tlsrpt", Subject "Report Domain: D Submitter: S Report-ID:
// <id>", the TLS-Report-Domain and TLS-Report-Submitter fields, a short
// text part and the gzip'd JSON as application/tlsrpt+gzip. `now` dates
// it. CRLF line ends.
std::string report_message(const DomainReport& report, const ReporterInfo& info,
                           const std::vector<std::string>& to, int64_t now);

}  // namespace tern::tlsrpt
