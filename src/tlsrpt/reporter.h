// Sending the daily TLS reports (RFC 8460 5) from the log that Log writes
// (log.h), as the DMARC reporter does (dmarc/reporter.h), whose day-file
// markers it shares:
//
// send_due_reports() runs every hour or so. For each day file strictly
// before today (UTC) without a "<day>.sent" marker, and once the UTC hour
// is at least report_hour, it builds the day's reports (report.h), looks up
// "_smtp._tls.<policy domain>" (record.h), and sends each report to every
// rua destination: mailto: by handing the 5.3 message to `inject` (our own
// queue: DKIM-signed, retried, bounced like any mail), https: by `post`
// (5.4: POST of the gzip'd JSON as application/tlsrpt+gzip; 2xx is
// success). Then it writes the marker. Day files older than keep_days are
// deleted with their markers.
//
//   <day>.sent     the day is done
//   <day>.partial  "<report-id> <uri>" of destinations done or given up,
//                  so that a run that stops halfway sends nothing twice
//
// Retrying: a DNS failure looking up the record, a transient inject
// failure or a failed POST leaves the day unfinished for the next run, up
// to retry_days after the day; then the destination is given up. A
// domain without a (single, valid) record gets no report (3).
//
// Thread safety: runs on the thread of the DnsLookup; one run at a time
// per directory.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "dns/lookup.h"
#include "tlsrpt/report.h"

namespace tern::tlsrpt {

struct ReporterOptions {
  std::string dir;  // the Log directory
  ReporterInfo info;
  int report_hour = 0;  // UTC hour from which yesterday's reports go out
  int keep_days = 14;
  int retry_days = 2;
  std::function<void(const std::string&)> log;  // one line per event; may be empty
};

// Queues one report mail: envelope recipients and the whole message.
using InjectFn =
    std::function<Status(const std::vector<std::string>& rcpts, const std::string& message)>;
// POSTs `body` (the gzip'd report) to the https `url` with
// Content-Type application/tlsrpt+gzip; Ok for a 2xx answer, else
// Transient with what happened.
using PostFn = std::function<asio::awaitable<Status>(std::string url, std::string body)>;

// Sends what is due as of `now` (unix seconds); returns how many reports
// went out to at least one destination. Never throws for I/O or DNS trouble.
// REQUIRES: `options`, `dns` and the callbacks outlive the awaitable.
asio::awaitable<int> send_due_reports(const ReporterOptions& options, DnsLookup& dns,
                                      InjectFn inject, PostFn post, int64_t now);

}  // namespace tern::tlsrpt
