#include "tlsrpt/reporter.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "dmarc/aggregate.h"  // utc_day, day_start
#include "tlsrpt/log.h"
#include "tlsrpt/record.h"

namespace tern::tlsrpt {
namespace {

namespace fs = std::filesystem;

void say(const ReporterOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

std::set<std::string> read_lines(const std::string& path) {
  std::set<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.insert(line);
  return out;
}

bool append_line(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return false;
  const std::string data = line + "\n";
  const ssize_t n = ::write(fd, data.data(), data.size());
  ::close(fd);
  return n == static_cast<ssize_t>(data.size());
}

std::vector<std::string> joined(const TxtResult& r) {
  std::vector<std::string> out;
  for (const TxtRecord& t : r.records) {
    std::string s;
    for (const std::string& part : t) s += part;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

asio::awaitable<int> send_due_reports(const ReporterOptions& options, DnsLookup& dns,
                                      InjectFn inject, PostFn post, int64_t now) {
  int sent = 0;
  const std::string& dir = options.dir;
  const std::string today = dmarc::utc_day(now);
  const int64_t today_start = *dmarc::day_start(today);
  // Before report_hour nothing is sent (old files are still cleaned up).
  const bool due = (now - today_start) / 3600 >= options.report_hour;

  std::set<std::string> days, done_days, all;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string day = name.substr(0, 10);
    if (!dmarc::day_start(day)) continue;
    const std::string rest = name.substr(day.size());
    if (rest.empty()) {
      days.insert(day);
    } else if (rest == ".sent") {
      done_days.insert(day);
    } else if (rest != ".partial") {
      continue;
    }
    all.insert(day);
  }

  for (const std::string& day : days) {
    if (!due || day >= today || done_days.count(day)) continue;
    const int64_t begin = *dmarc::day_start(day);
    const bool may_retry = (today_start - begin) / 86400 <= options.retry_days;
    const std::string partial_path = dir + "/" + day + ".partial";
    const std::set<std::string> done = read_lines(partial_path);
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
      const std::optional<Record> record = select_record(joined(txt), &why);
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
        append_line(partial_path, key);
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
              append_line(partial_path, report.report_id + " " + d.uri);
        }
      }
      if (any) ++sent;
    }
    if (finished && append_line(dir + "/" + day + ".sent", fmt::format("done {}", now))) {
      fs::remove(partial_path, ec);
    }
  }

  for (const std::string& day : all) {
    if ((today_start - *dmarc::day_start(day)) / 86400 <= options.keep_days) continue;
    for (const char* suffix : {"", ".sent", ".partial"}) fs::remove(dir + "/" + day + suffix, ec);
  }
  co_return sent;
}

}  // namespace tern::tlsrpt
