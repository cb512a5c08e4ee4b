#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>

#include "base/log_fields.h"
#include "base/log_journal.h"

namespace tern {

namespace {

bool plain(unsigned char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '\\'; }

std::atomic<LogFormat> g_format{LogFormat::kText};

const char* level_name(LogLevel level) {
  return level == LogLevel::kInfo ? "INFO" : level == LogLevel::kWarn ? "WARN" : "ERROR";
}

// Where lines go when stderr is the journal's stream. Decided once: the
// service manager's stream does not change under us.
enum class Journal { kNo, kEntries, kPrefixed };
Journal journal_mode() {
  static const Journal mode = [] {
    if (!journal_stream_matches(std::getenv("JOURNAL_STREAM"), STDERR_FILENO)) return Journal::kNo;
    // sd_journal_sendv drops entries silently when journald's socket is
    // missing (a container without journald): then the stream, prefixed.
    return journal_socket_present() ? Journal::kEntries : Journal::kPrefixed;
  }();
  return mode;
}

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  int ms = static_cast<int>(duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

// The JSON object of a line, without its newline. Keys: ts, level,
// session, event, the fields (first of a name wins; ts, level and msg are
// ours), msg (the whole text). Every value is a string.
std::string json_object(std::string_view ts, LogLevel level, std::string_view text,
                        const LogFields& f) {
  std::string lv = level_name(level);
  for (char& c : lv) c = static_cast<char>(c - 'A' + 'a');
  std::string out = fmt::format(R"({{"ts":"{}","level":"{}")", ts, lv);
  if (!f.session.empty()) out += fmt::format(R"(,"session":"{}")", json_escape(f.session));
  if (!f.event.empty()) out += fmt::format(R"(,"event":"{}")", json_escape(f.event));
  for (const auto& [key, value] : f.fields) {
    if (key == "ts" || key == "level" || key == "msg" || key == "session" || key == "event")
      continue;
    out += fmt::format(R"(,"{}":"{}")", key, json_escape(value));
  }
  out += fmt::format(R"(,"msg":"{}"}})", json_escape(text));
  return out;
}

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

void set_log_format(LogFormat format) { g_format.store(format, std::memory_order_relaxed); }

std::string format_log_line(LogFormat format, std::string_view ts, LogLevel level,
                            std::string_view text) {
  if (format == LogFormat::kJson)
    return json_object(ts, level, text, parse_log_fields(text)) + "\n";
  return fmt::format("{} {} {}\n", ts, level_name(level), text);
}

void log_line(LogLevel level, std::string_view text) {
  const LogFormat format = g_format.load(std::memory_order_relaxed);
  std::string line;
  if (const Journal mode = journal_mode(); mode != Journal::kNo) {
    // The journal stamps the entry and keeps the level as PRIORITY: the
    // message is the text (or its JSON object), the fields ride along.
    LogFields f = parse_log_fields(text);
    std::string message =
        format == LogFormat::kJson ? json_object(timestamp(), level, text, f) : std::string(text);
    if (mode == Journal::kEntries && journal_send(level, message, f)) return;
    // Not taken: the stream is still the journal's, which reads a "<N>"
    // prefix as the priority (sd-daemon(3)).
    line = fmt::format("<{}>{}\n", syslog_priority(level), message);
  } else {
    line = format_log_line(format, timestamp(), level, text);
  }
  // One write(2) per line keeps lines whole between threads.
  ssize_t r = ::write(STDERR_FILENO, line.data(), line.size());
  (void)r;
}

}  // namespace tern
