// DMARC aggregate data (RFC 7489 7.2, Appendix C): one line per evaluated
// message in a day file, and the daily reports built from them.
//
// The log (docs/dmarc.md, "The aggregate log"): a day log (fs/day_log.h:
// <dir>/YYYY-MM-DD, the UTC day of each row's time, one line per message,
// appended with O_APPEND and one write(2) per row, no fsync: a row lost in
// a crash costs a line of a report, never mail). Every value is escaped
// (see format_row), so no header value can add a line or a field. Reading
// skips any line that does not parse (a torn last line after a crash, a
// line from a newer version).
//
// Reports: build_reports() groups a day's rows by policy domain and, within
// it, by what the report shows (source IP, disposition, aligned DKIM/SPF,
// From domain, authentication results), counts them, writes the feedback
// XML of Appendix C, gzips it and wraps it in a message (7.2.1.1).
//
// Thread safety: AggregateLog::record may be called from any thread. The
// free functions are thread-safe; build_reports reads files only.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "dmarc/evaluate.h"
#include "dmarc/record.h"
#include "dns/lookup.h"
#include "fs/day_log.h"

namespace tern::dmarc {

// One DKIM signature's result, uninterpreted (Appendix C DKIMAuthResultType).
struct DkimAuthResult {
  std::string domain;    // d=
  std::string selector;  // s=
  std::string result;    // none, pass, fail, policy, neutral, temperror, permerror

  friend bool operator==(const DkimAuthResult&, const DkimAuthResult&) = default;
};

// What the aggregate report needs to know of one message.
struct AggregateRow {
  int64_t time = 0;         // when it arrived (unix seconds); picks the day file
  std::string source_ip;    // the connecting client, e.g. "192.0.2.1"
  std::string header_from;  // the RFC5322.From domain
  // The published policy (7.2.1 "policy_published"), as discovered.
  std::string policy_domain;
  Policy p = Policy::kNone;
  std::optional<Policy> sp;
  int pct = 100;
  Alignment adkim = Alignment::kRelaxed;
  Alignment aspf = Alignment::kRelaxed;
  std::string fo = "0";
  std::vector<ReportUri> rua;
  // "policy_evaluated": what was done, and the aligned results.
  Policy disposition = Policy::kNone;
  Result result = Result::kNone;
  bool dkim_aligned = false;
  bool spf_aligned = false;
  // A PolicyOverrideType when the disposition is not the requested policy:
  // "sampled_out" (pct=), "local_policy" (our configuration), ... ; "" none.
  std::string override_reason;
  // "auth_results": every DKIM signature, and the SPF check.
  std::vector<DkimAuthResult> dkim;
  std::string spf_domain;           // the domain SPF checked
  std::string spf_scope = "mfrom";  // "mfrom", or "helo" for the null sender
  std::string spf_result = "none";  // none, neutral, pass, fail, softfail, temperror, permerror

  friend bool operator==(const AggregateRow&, const AggregateRow&) = default;
};

// At most this many DKIM results are kept per row (a message may carry any
// number of signatures; the report needs the few that matter).
inline constexpr size_t kMaxDkimResultsPerRow = 16;

// A row filled from a message's evaluation: time, source IP, From domain,
// the published policy (d.record, d.policy_domain), disposition =
// e.applied, result, aligned flags, override_reason "sampled_out" when pct=
// softened the policy, and the SPF domain with scope `spf_scope`. The
// caller adds `dkim` and `spf_result`, which Identifiers does not carry,
// and sets disposition/override_reason again if it did something else.
// REQUIRES: d.status == kFound (rows are only kept for domains with a
// usable record: there is nobody to report to otherwise).
AggregateRow make_row(int64_t time, std::string source_ip, const Identifiers& ids,
                      const Discovery& d, const Evaluation& e, std::string spf_scope = "mfrom");

// One row as its log line, without the final "\n" (format in docs/dmarc.md).
std::string format_row(const AggregateRow& row);
// Parses a line written by format_row (without its "\n"); nullopt when it
// is not one.
std::optional<AggregateRow> parse_row(std::string_view line);

// utc_day(time) "YYYY-MM-DD" and day_start(day), from fs/day_log.h, where
// callers of dmarc:: have always found them.
using ::tern::day_start;
using ::tern::utc_day;

// Appends rows to day files under `dir` (created, with parents, on the
// first row if missing; mode 0750, files 0640).
class AggregateLog {
 public:
  explicit AggregateLog(std::string dir);
  ~AggregateLog();
  AggregateLog(const AggregateLog&) = delete;
  AggregateLog& operator=(const AggregateLog&) = delete;

  // Appends `row` to <dir>/<utc_day(row.time)>. Transient on I/O errors
  // (the row is lost; mail goes on), Permanent for a row without a policy
  // domain.
  Status record(const AggregateRow& row);

  const std::string& dir() const { return log_.dir(); }

 private:
  DayLog log_;
};

// The rows of <dir>/<day>, in file order, skipping lines that do not
// parse; *skipped (if given) counts those. Missing file: no rows.
std::vector<AggregateRow> read_rows(const std::string& dir, const std::string& day,
                                    size_t* skipped = nullptr);

struct ReporterInfo {
  std::string org_name;  // report_metadata/org_name
  std::string email;     // report_metadata/email, and the From of the message
  std::string hostname;  // the receiver in file names, Report-IDs, Submitter
};

struct Report {
  std::string policy_domain;
  std::vector<ReportUri> rua;  // where it goes (those whose size limit it fits)
  std::string report_id;       // "<begin>.<policy_domain>@<hostname>": the same on a resend
  std::string xml;             // the feedback document
  std::string gzip;            // xml, gzip'd: the attachment
  // receiver "!" policy-domain "!" begin "!" end ".xml.gz" (7.2.1.1).
  std::string filename;
  // The whole RFC 5322 message (CRLF line ends): From the reporter, To
  // every address of `rua`, Subject "Report Domain: D Submitter: S
  // Report-ID: <id>", multipart/mixed with a short text part and the
  // gzip'd XML as an application/gzip attachment.
  std::string message;
  int64_t begin = 0;  // date_range
  int64_t end = 0;
  int64_t messages = 0;  // rows counted
};

// The reports for `day` (YYYY-MM-DD) of the log in `dir`: one per policy
// domain with at least one rua= mailto: address, in policy-domain order.
// The published policy shown is that of the day's last row for the
// domain. A rua address whose "!size" limit is below the gzip'd report's
// size is left out (6.2; the attachment is the "report payload"); a report
// with no address left is not built. `now` dates the message.
std::vector<Report> build_reports(const std::string& dir, const std::string& day,
                                  const ReporterInfo& info, int64_t now);

// The message of `report` addressed to `to` (addresses, not URIs): what
// build_reports puts in report.message with every rua address. For
// sending to a subset.
std::string report_message(const Report& report, const ReporterInfo& info,
                           const std::vector<std::string>& to, int64_t now);

// RFC 7489 7.1: may reports about `policy_domain` go to an address at
// `rua_domain`? Yes when both have the same organizational domain;
// otherwise only when <policy_domain>._report._dmarc.<rua_domain> has a TXT
// record starting with v=DMARC1. A DNS failure gives false (see
// check_external_destination for a caller that wants to retry).
// REQUIRES: `dns` outlives the returned awaitable.
asio::awaitable<bool> external_destination_allowed(DnsLookup& dns, std::string policy_domain,
                                                   std::string rua_domain);

// The same check, saying whether a "no" may change later.
enum class Destination { kAllowed, kRefused, kTempError };
asio::awaitable<Destination> check_external_destination(DnsLookup& dns, std::string policy_domain,
                                                        std::string rua_domain);

}  // namespace tern::dmarc
