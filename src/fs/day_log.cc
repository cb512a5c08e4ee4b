#include "fs/day_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tern {
namespace {

namespace fs = std::filesystem;

constexpr int kFileMode = 0640;
constexpr auto kDirMode = fs::perms(0750);

// Appends one line with one write(2), without keeping the file open.
bool append_line(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, kFileMode);
  if (fd < 0) return false;
  const std::string data = line + "\n";
  const ssize_t n = ::write(fd, data.data(), data.size());
  ::close(fd);
  return n == static_cast<ssize_t>(data.size());
}

}  // namespace

std::string utc_day(int64_t time) {
  const time_t t = static_cast<time_t>(time);
  struct tm tm {};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

std::optional<int64_t> day_start(std::string_view day) {
  if (day.size() != 10 || day[4] != '-' || day[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (day[i] < '0' || day[i] > '9') return std::nullopt;
  }
  struct tm tm {};
  tm.tm_year = std::stoi(std::string(day.substr(0, 4))) - 1900;
  tm.tm_mon = std::stoi(std::string(day.substr(5, 2))) - 1;
  tm.tm_mday = std::stoi(std::string(day.substr(8, 2)));
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31) return std::nullopt;
  const int64_t t = timegm(&tm);
  // timegm normalises "02-31" to March: refuse days that do not exist.
  if (utc_day(t) != day) return std::nullopt;
  return t;
}

DayLog::DayLog(std::string dir) : dir_(std::move(dir)) {}

DayLog::~DayLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status DayLog::append(int64_t time, std::string_view line) {
  std::string data;
  data.reserve(line.size() + 1);
  data.append(line);
  data += '\n';
  const std::string day = utc_day(time);
  std::lock_guard<std::mutex> lock(mu_);
  if (day != open_day_) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    open_day_.clear();
    const std::string path = dir_ + "/" + day;
    const int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;
    int fd = ::open(path.c_str(), flags, kFileMode);
    if (fd < 0 && errno == ENOENT) {
      std::error_code ec;
      fs::create_directories(dir_, ec);
      fs::permissions(dir_, kDirMode, fs::perm_options::replace, ec);
      fd = ::open(path.c_str(), flags, kFileMode);
    }
    if (fd < 0) {
      return Status::Transient(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    }
    fd_ = fd;
    open_day_ = day;
  }
  // One write(2): with O_APPEND the line lands whole at the end of the file
  // (other writers to the same file append around it, not into it).
  ssize_t n;
  do {
    n = ::write(fd_, data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return Status::Transient(
        fmt::format("cannot write to {}/{}: {}", dir_, open_day_, std::strerror(errno)));
  }
  if (static_cast<size_t>(n) != data.size()) {
    // Disk full in the middle: the torn line is skipped when read.
    return Status::Transient(fmt::format("short write to {}/{}", dir_, open_day_));
  }
  return Status::Ok();
}

size_t read_day(const std::string& dir, const std::string& day,
                const std::function<bool(std::string_view line)>& take) {
  std::ifstream in(dir + "/" + day, std::ios::binary);
  if (!in) return 0;
  std::ostringstream s;
  s << in.rdbuf();
  const std::string all = s.str();
  size_t refused = 0;
  size_t pos = 0;
  while (pos < all.size()) {
    const size_t nl = all.find('\n', pos);
    if (nl == std::string::npos) {
      ++refused;  // a torn last line
      break;
    }
    if (!take(std::string_view(all).substr(pos, nl - pos))) ++refused;
    pos = nl + 1;
  }
  return refused;
}

DayFiles list_days(const std::string& dir) {
  DayFiles l;
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

std::set<std::string> read_partial(const std::string& dir, const std::string& day) {
  std::set<std::string> out;
  std::ifstream in(dir + "/" + day + ".partial");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.insert(line);
  }
  return out;
}

bool add_partial(const std::string& dir, const std::string& day, const std::string& key) {
  return append_line(dir + "/" + day + ".partial", key);
}

bool mark_sent(const std::string& dir, const std::string& day, int64_t now) {
  if (!append_line(dir + "/" + day + ".sent", fmt::format("done {}", now))) return false;
  std::error_code ec;
  fs::remove(dir + "/" + day + ".partial", ec);
  return true;
}

void prune_days(const std::string& dir, const std::set<std::string>& days, int64_t now,
                int keep_days) {
  const int64_t today_start = *day_start(utc_day(now));
  for (const std::string& day : days) {
    if ((today_start - *day_start(day)) / 86400 <= keep_days) continue;
    std::error_code ec;
    for (const char* suffix : {"", ".sent", ".partial"}) fs::remove(dir + "/" + day + suffix, ec);
  }
}

}  // namespace tern
