// Sending the daily DMARC aggregate reports (RFC 7489 7.2) from the log
// that AggregateLog writes (aggregate.h).
//
// send_due_reports() is meant to run every hour or so. For each day file
// strictly before today (UTC) that has no "<day>.sent" marker, it builds
// the day's reports, keeps the rua addresses that 7.1 allows (same
// organizational domain, or authorised by a _report._dmarc record),
// hands each report to `inject` once, and then writes the marker. Files of
// days more than keep_days before today are deleted, markers included.
//
// Files beside the day files (docs/dmarc.md):
//   <day>.sent     the day is done (its content is for people: when, how many)
//   <day>.partial  report ids of the day already injected or given up, one a
//                  line, so that a run that stops halfway (a DNS failure, an
//                  inject error, a crash) does not send them twice
// Neither is synced: after a crash a report may go out twice, with the same
// Report-ID, which receivers recognise.
//
// Retrying: a destination whose 7.1 check fails temporarily, or a report
// whose inject() fails transiently, leaves the day unfinished so the next
// run tries again, for up to retry_days after the day; after that the
// destination (or report) is given up. A permanent inject() failure gives
// the report up at once.
//
// Thread safety: runs on the thread of the DnsLookup; at most one run at a
// time per directory (nothing locks the directory).
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "dmarc/aggregate.h"
#include "dns/lookup.h"

namespace tern::dmarc {

struct ReporterOptions {
  std::string dir;  // the AggregateLog directory
  ReporterInfo info;
  int keep_days = 14;  // day files (and markers) older than this are deleted
  int retry_days = 2;  // temporary failures are retried this long after the day
  // Told what happened, one line per event ("sent report ... to ...",
  // "dropped rua ...: not authorised (7.1)"); may be empty.
  std::function<void(const std::string&)> log;
};

// The callback that queues one report message: the envelope recipients
// and the whole message (CRLF line ends). Transient failures are retried
// on a later run; permanent ones give the report up.
using InjectFn =
    std::function<Status(const std::vector<std::string>& rcpts, const std::string& message)>;

// Sends what is due as of `now` (unix seconds) and returns how many
// reports were injected successfully. Never throws for I/O or DNS trouble
// (it logs and retries later).
// REQUIRES: `options` and `dns` outlive the returned awaitable.
asio::awaitable<int> send_due_reports(const ReporterOptions& options, DnsLookup& dns,
                                      InjectFn inject, int64_t now);

}  // namespace tern::dmarc
