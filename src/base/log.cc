#include "base/log.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>

namespace tern {

namespace {

bool plain(unsigned char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '\\'; }

}  // namespace

std::string log_quoted(std::string_view s, size_t max) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (s.size() > max) out += "...";
  out += '"';
  return out;
}

std::string log_value(std::string_view s, size_t max) {
  bool bare = !s.empty() && s.size() <= max;
  for (unsigned char c : s) bare = bare && plain(c);
  return bare ? std::string(s) : log_quoted(s, max);
}

void log_line(LogLevel level, std::string_view text) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  int ms = static_cast<int>(duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000);
  const char* lv = level == LogLevel::kInfo ? "INFO" : level == LogLevel::kWarn ? "WARN" : "ERROR";
  std::string line =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} {}\n", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms, lv, text);
  // One write(2) per line keeps lines whole between threads.
  ssize_t r = ::write(STDERR_FILENO, line.data(), line.size());
  (void)r;
}

}  // namespace tern
