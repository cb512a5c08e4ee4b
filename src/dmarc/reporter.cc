#include "dmarc/reporter.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace tern::dmarc {
namespace {

namespace fs = std::filesystem;

void say(const ReporterOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

std::set<std::string> read_lines(const std::string& path) {
  std::set<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.insert(line);
  }
  return out;
}

// Appends one line with one write(2) (see AggregateLog::record).
bool append_line(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return false;
  const std::string data = line + "\n";
  const ssize_t n = ::write(fd, data.data(), data.size());
  ::close(fd);
  return n == static_cast<ssize_t>(data.size());
}

// The days that have a day file, and those that are marked sent, in
// `dir`; names that are neither are left alone.
struct Listing {
  std::set<std::string> days;
  std::set<std::string> sent;
  std::set<std::string> all;  // every day that has any of our files
};

Listing list(const std::string& dir) {
  Listing l;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string day = name.substr(0, 10);
    if (!day_start(day)) continue;
    const std::string rest = name.substr(day.size());
    if (rest.empty()) {
      l.days.insert(day);
    } else if (rest == ".sent") {
      l.sent.insert(day);
    } else if (rest != ".partial") {
      continue;
    }
    l.all.insert(day);
  }
  return l;
}

}  // namespace

asio::awaitable<int> send_due_reports(const ReporterOptions& options, DnsLookup& dns,
                                      InjectFn inject, int64_t now) {
  int injected = 0;
  const std::string& dir = options.dir;
  const std::string today = utc_day(now);
  const int64_t today_start = *day_start(today);
  const Listing listing = list(dir);

  for (const std::string& day : listing.days) {
    if (day >= today || listing.sent.count(day)) continue;  // ISO dates sort as strings
    const int64_t age_days = (today_start - *day_start(day)) / 86400;
    const bool may_retry = age_days <= options.retry_days;
    const std::string partial_path = dir + "/" + day + ".partial";
    const std::set<std::string> done = read_lines(partial_path);
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
        append_line(partial_path, report.report_id);
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
      append_line(partial_path, report.report_id);
    }
    if (finished) {
      if (append_line(dir + "/" + day + ".sent", fmt::format("done {}", now))) {
        std::error_code ec;
        fs::remove(partial_path, ec);
      }
    }
  }

  // Cleanup: everything of days more than keep_days before today.
  for (const std::string& day : listing.all) {
    if ((today_start - *day_start(day)) / 86400 <= options.keep_days) continue;
    std::error_code ec;
    for (const char* suffix : {"", ".sent", ".partial"}) fs::remove(dir + "/" + day + suffix, ec);
  }
  co_return injected;
}

}  // namespace tern::dmarc
