#include "tlsrpt/reporter.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "fs/day_log.h"
#include "tlsrpt/log.h"
#include "tlsrpt/record.h"

namespace tern::tlsrpt {
namespace {

void say(const ReporterOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

}  // namespace

asio::awaitable<int> send_due_reports(const ReporterOptions& options, DnsLookup& dns,
                                      InjectFn inject, PostFn post, int64_t now) {
  int sent = 0;
  const std::string& dir = options.dir;
  const std::string today = utc_day(now);
  const int64_t today_start = *day_start(today);
  // Before report_hour nothing is sent (old files are still cleaned up).
  const bool due = (now - today_start) / 3600 >= options.report_hour;

  const DayFiles listing = list_days(dir);

  for (const std::string& day : listing.days) {
    if (!due || day >= today || listing.sent.count(day)) continue;
    const int64_t begin = *day_start(day);
    const bool may_retry = (today_start - begin) / 86400 <= options.retry_days;
    const std::set<std::string> done = read_partial(dir, day);
    bool finished = true;
    size_t skipped = 0;
    const std::vector<SessionResult> results = read_results(dir, day, &skipped);
    if (skipped > 0)
      say(options, fmt::format("tls-rpt {}: {} unreadable lines skipped", day, skipped));

    for (const DomainReport& report : build_reports(results, begin, options.info)) {
      const TxtResult txt = co_await dns.txt(record_name(report.policy_domain));
      if (txt.status == DnsStatus::kTempFail && may_retry) {
        finished = false;
        say(options, fmt::format("tls-rpt report {}: DNS failure looking up {}: {}; retrying later",
                                 report.report_id, record_name(report.policy_domain), txt.error));
        continue;
      }
      std::string why;
      const std::optional<Record> record = select_record(txt_texts(txt), &why);
      if (!record) {
        say(options, fmt::format("tls-rpt report {}: not sent: {} ({})", report.report_id,
                                 record_name(report.policy_domain), why));
        continue;
      }
      bool any = false;
      std::vector<std::string> mail_to;
      for (const ReportDestination& d : record->rua) {
        const std::string key = report.report_id + " " + d.uri;
        if (done.count(key)) continue;
        if (d.kind == ReportDestination::Kind::kMailto) {
          mail_to.push_back(d.address);
          continue;
        }
        const Status s = co_await post(d.uri, report.gzip);
        if (s.ok()) {
          any = true;
          say(options, fmt::format("tls-rpt report {}: posted to {}", report.report_id, d.uri));
        } else if (may_retry) {
          finished = false;
          say(options, fmt::format("tls-rpt report {}: POST to {} failed: {}; retrying later",
                                   report.report_id, d.uri, s.message()));
          continue;
        } else {
          say(options, fmt::format("tls-rpt report {}: POST to {} failed: {}; given up",
                                   report.report_id, d.uri, s.message()));
        }
        add_partial(dir, day, key);
      }
      if (!mail_to.empty()) {
        const Status s = inject(mail_to, report_message(report, options.info, mail_to, now));
        const bool retry = !s.ok() && s.kind() == Status::Kind::kTransient && may_retry;
        if (s.ok()) {
          any = true;
          say(options, fmt::format("tls-rpt report {}: {} ok / {} failed sessions, queued to {}",
                                   report.report_id, report.successes, report.failures,
                                   fmt::join(mail_to, ", ")));
        } else {
          say(options, fmt::format("tls-rpt report {}: could not queue: {}; {}", report.report_id,
                                   s.message(), retry ? "retrying later" : "given up"));
        }
        if (retry) {
          finished = false;
        } else {
          for (const ReportDestination& d : record->rua)
            if (d.kind == ReportDestination::Kind::kMailto)
              add_partial(dir, day, report.report_id + " " + d.uri);
        }
      }
      if (any) ++sent;
    }
    if (finished) mark_sent(dir, day, now);
  }

  prune_days(dir, listing.all, now, options.keep_days);
  co_return sent;
}

}  // namespace tern::tlsrpt
