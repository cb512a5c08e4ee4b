// Logging: one line per event on stderr (docs/logging.md), as
//   text  "2026-11-23T09:00:00.123Z LEVEL text" (the default), or
//   json  {"ts":"2026-11-23T09:00:00.123Z","level":"info",FIELDS...,"msg":"text"}
//         with the fields read back from the text (log_fields.h);
// and, when standard error is systemd's journal stream (JOURNAL_STREAM),
// as journal entries with those fields (log_journal.h) instead.
// Thread-safe (one write per line).
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace tern {

enum class LogLevel { kInfo, kWarn, kError };
void log_line(LogLevel level, std::string_view text);

// The config's log_format. Takes effect from the next line, for every thread.
enum class LogFormat { kText, kJson };
void set_log_format(LogFormat format);

// The line log_line writes for `text` in `format` at `level`, stamped `ts`
// ("2026-11-23T09:00:00.123Z"), with its newline. For tests.
std::string format_log_line(LogFormat format, std::string_view ts, LogLevel level,
                            std::string_view text);

// A value for a "key=value" field: as is when it is printable ASCII
// without spaces, quotes or backslashes; else in double quotes, with
// backslash escapes for quote, backslash and \xNN for the rest, so that
// nothing a client sends can forge a field or a line. Longer than `max` octets: cut, with "..."
// appended.
std::string log_value(std::string_view s, size_t max = 200);
// The same, always in double quotes (command="...", reply="...").
std::string log_quoted(std::string_view s, size_t max = 200);

template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  log_line(LogLevel::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... args) {
  log_line(LogLevel::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_error(fmt::format_string<Args...> f, Args&&... args) {
  log_line(LogLevel::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace tern
