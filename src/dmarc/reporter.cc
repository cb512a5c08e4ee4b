#include "dmarc/reporter.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "fs/day_log.h"

namespace tern::dmarc {
namespace {

void say(const ReporterOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

}  // namespace

asio::awaitable<int> send_due_reports(const ReporterOptions& options, DnsLookup& dns,
                                      InjectFn inject, int64_t now) {
  int injected = 0;
  const std::string& dir = options.dir;
  const std::string today = utc_day(now);
  const int64_t today_start = *day_start(today);
  const DayFiles listing = list_days(dir);

  for (const std::string& day : listing.days) {
    if (day >= today || listing.sent.count(day)) continue;  // ISO dates sort as strings
    const int64_t age_days = (today_start - *day_start(day)) / 86400;
    const bool may_retry = age_days <= options.retry_days;
    const std::set<std::string> done = read_partial(dir, day);
    bool finished = true;

    const std::vector<Report> reports = build_reports(dir, day, options.info, now);
    for (const Report& report : reports) {
      if (done.count(report.report_id)) continue;
      std::vector<std::string> rcpts;
      bool deferred = false;
      for (const ReportUri& uri : report.rua) {
        const Destination d =
            co_await check_external_destination(dns, report.policy_domain, uri.domain());
        if (d == Destination::kAllowed) {
          rcpts.push_back(uri.address);
        } else if (d == Destination::kTempError && may_retry) {
          deferred = true;
          say(options, fmt::format("dmarc report {}: DNS failure checking {} (7.1); retrying later",
                                   report.report_id, uri.address));
        } else {
          say(options, fmt::format("dmarc report {}: {} is not authorised to receive reports "
                                   "for {} (7.1); dropped",
                                   report.report_id, uri.address, report.policy_domain));
        }
      }
      if (deferred) {
        finished = false;
        continue;
      }
      if (rcpts.empty()) {
        add_partial(dir, day, report.report_id);
        continue;
      }
      const std::string message = rcpts.size() == report.rua.size()
                                      ? report.message
                                      : report_message(report, options.info, rcpts, now);
      const Status s = inject(rcpts, message);
      if (s.ok()) {
        ++injected;
        say(options, fmt::format("dmarc report {}: {} rows for {} queued to {}", report.report_id,
                                 report.messages, report.policy_domain, fmt::join(rcpts, ", ")));
      } else if (s.kind() == Status::Kind::kTransient && may_retry) {
        finished = false;
        say(options, fmt::format("dmarc report {}: could not queue: {}; retrying later",
                                 report.report_id, s.message()));
        continue;
      } else {
        say(options, fmt::format("dmarc report {}: could not queue: {}; given up", report.report_id,
                                 s.message()));
      }
      add_partial(dir, day, report.report_id);
    }
    if (finished) mark_sent(dir, day, now);
  }

  // Cleanup: everything of days more than keep_days before today.
  prune_days(dir, listing.all, now, options.keep_days);
  co_return injected;
}

}  // namespace tern::dmarc
