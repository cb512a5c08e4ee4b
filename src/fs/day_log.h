// Day logs: append-only text files, one per UTC day, and the marker files
// of a daily reporter beside them. The storage under the DMARC aggregate
// log (dmarc/aggregate.h) and the TLS-RPT log (tlsrpt/log.h); each of
// those keeps its own line format (encoding, decoding, the magic word) and
// uses this for the files.
//
// The contract (docs/dmarc.md "The aggregate log", docs/tls.md "TLS-RPT"
// describe the same files; existing directories stay readable):
//
// - Naming: <dir>/YYYY-MM-DD (utc_day) holds the lines whose time falls in
//   that UTC day. Beside a day file, a reporter keeps
//     <day>.sent     the day is done ("done <unix time>")
//     <day>.partial  keys of the things of the day already done or given up,
//                    one a line, so that a run that stops halfway does not
//                    repeat them
//   Any other name in <dir> is left alone.
// - Writing: DayLog::append writes the line and its "\n" with one write(2)
//   to a file opened O_APPEND (mode 0640; <dir> is created with its parents,
//   mode 0750, when missing), so a line lands whole at the end of the file
//   even when other processes append to it too (`tern tls-rpt record`,
//   `tern dmarc evaluate --log`). The file stays open until a line of
//   another day comes.
// - Durability: nothing is fsync'd, neither lines nor markers. A crash may
//   lose the last lines or leave a torn last line (no "\n"), which reading
//   skips; a marker lost may make a report go out twice, with the same id.
//   What these logs hold is report statistics, never mail: syncing each
//   message would cost more than a lost line does.
// - Reading: read_day hands over every complete line; the caller decides
//   which it understands. A missing file has no lines.
// - Pruning: prune_days deletes a day file with its markers once the day is
//   more than keep_days before today.
// - Thread safety: DayLog::append may be called from any thread (a mutex
//   guards the open file). The free functions are thread-safe, but nothing
//   locks a directory: one reporter run at a time per directory.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/status.h"

namespace tern {

// "YYYY-MM-DD" of the UTC day holding `time` (unix seconds).
std::string utc_day(int64_t time);
// The unix time of 00:00:00 UTC of `day` ("YYYY-MM-DD"); nullopt if `day`
// is not such a date (one that exists: "2024-02-30" is not).
std::optional<int64_t> day_start(std::string_view day);

// Appends lines to the day files under one directory.
class DayLog {
 public:
  explicit DayLog(std::string dir);
  ~DayLog();
  DayLog(const DayLog&) = delete;
  DayLog& operator=(const DayLog&) = delete;

  // Appends `line` + "\n" to <dir>/<utc_day(time)>. Transient on I/O errors
  // ("cannot open <path>: ...", "cannot write to <path>: ...", "short write
  // to <path>" for a disk full in the middle: that torn line is skipped
  // when read).
  // REQUIRES: `line` holds no "\n".
  Status append(int64_t time, std::string_view line);

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::mutex mu_;
  std::string open_day_;  // the day file fd_ is open on; guarded by mu_
  int fd_ = -1;
};

// Calls `take` with every line of <dir>/<day> ending in "\n" (without it),
// in file order, empty ones included; `take` says whether it could use
// it. Returns how many lines were refused, plus one for a torn last line
// (no "\n"), which `take` does not see. A missing file: 0, no call.
size_t read_day(const std::string& dir, const std::string& day,
                const std::function<bool(std::string_view line)>& take);

// The records `parse` (a line -> std::optional<Record>) reads from
// <dir>/<day>, in file order; *skipped, when given, is read_day's count of
// the lines it could not use.
template <typename Parse>
auto read_day_records(const std::string& dir, const std::string& day, Parse parse,
                      size_t* skipped) {
  using Record = typename std::invoke_result_t<Parse&, std::string_view>::value_type;
  std::vector<Record> out;
  const size_t refused = read_day(dir, day, [&](std::string_view line) {
    std::optional<Record> r = parse(line);
    if (!r) return false;
    out.push_back(std::move(*r));
    return true;
  });
  if (skipped) *skipped = refused;
  return out;
}

// What a directory holds, by day; names that are not ours are left out.
struct DayFiles {
  std::set<std::string> days;  // with a day file
  std::set<std::string> sent;  // with a .sent marker
  std::set<std::string> all;   // with any of the three
};
DayFiles list_days(const std::string& dir);

// The keys in <dir>/<day>.partial (empty lines left out); none if missing.
std::set<std::string> read_partial(const std::string& dir, const std::string& day);
// Appends `key` to <dir>/<day>.partial with one write(2); false on error.
bool add_partial(const std::string& dir, const std::string& day, const std::string& key);
// Writes the marker "done <now>" to <dir>/<day>.sent, then (only if that
// worked) removes <day>.partial. False when the marker could not be written.
bool mark_sent(const std::string& dir, const std::string& day, int64_t now);

// Deletes the day file and markers of each of `days` that lies more than
// `keep_days` whole days before the UTC day of `now`. Errors are ignored
// (a file that stays is tried again on the next run).
// REQUIRES: every one of `days` is a valid day (as list_days gives).
void prune_days(const std::string& dir, const std::set<std::string>& days, int64_t now,
                int keep_days);

}  // namespace tern
