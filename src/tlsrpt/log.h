// Recording TLS session outcomes for SMTP TLS Reporting (RFC 8460): the
// relay calls Log::record() once per delivery attempt to a domain with a
// policy (or with none, when asked to report those too); the reporter
// (reporter.h) turns each UTC day into one report per policy domain.
//
// Storage is a day log, as the DMARC aggregate log's (fs/day_log.h,
// docs/tls.md "TLS-RPT"): <dir>/YYYY-MM-DD, the UTC day of each result's
// time, one line per result, appended with O_APPEND and one write(2). No
// fsync: a result lost in a crash costs one count in a report, never mail.
// Every value is
// escaped, so nothing a remote server says (its HELO, an error text) can
// add a line or a field. Reading skips lines that do not parse.
//
// A line:
//   tlsrpt1 t=1700000000 pd=example.com pt=sts ps=version:+20STSv1,mode:+20enforce
//   mx=mx.example.com res=certificate-expired sip=192.0.2.1 host=mx.example.com
//   helo= rip=198.51.100.7 code=... info=
// (one line). Values are xtext (RFC 3461 4) with "," also escaped; ps= and
// mx= are comma-separated lists. Unknown names are ignored.
//
// Thread safety: Log::record may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "fs/day_log.h"
#include "tlsrpt/result.h"

namespace tern::tlsrpt {

// The line of `r`, without "\n".
std::string format_result(const SessionResult& r);
// Parses a line of format_result (without "\n"); nullopt if it is not one.
std::optional<SessionResult> parse_result(std::string_view line);

class Log {
 public:
  // Day files go to `dir` (created, with parents, at the first record;
  // mode 0750, files 0640).
  explicit Log(std::string dir);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Appends `r` to <dir>/<UTC day of r.time>. Permanent for a result
  // without a policy domain; Transient on I/O errors (the result is lost,
  // mail goes on: the caller logs and carries on).
  Status record(const SessionResult& r);

  const std::string& dir() const { return log_.dir(); }

 private:
  DayLog log_;
};

// The results of <dir>/<day> in file order, skipping lines that do not
// parse (*skipped counts them when given). A missing file has none.
std::vector<SessionResult> read_results(const std::string& dir, const std::string& day,
                                        size_t* skipped = nullptr);

}  // namespace tern::tlsrpt
