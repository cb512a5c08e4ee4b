// What `tern send --batch/--mbox` shows while it sends: one redrawn bar on
// a terminal, or one plain line per message otherwise (logs, pipes, cron),
// and a summary. Formatting only; the caller writes to stderr.
//
// Pure; thread-compatible.
#pragma once

#include <cstddef>
#include <string>

namespace tern::sendcli {

struct Progress {
  size_t total = 0;
  size_t sent = 0;
  size_t failed = 0;
  size_t done() const { return sent + failed; }
};

// "[#####...............] 5/20 sent, 1 failed": the bar (`width` cells)
// fills with the messages done, sent or not; ", N failed" only when N > 0.
std::string progress_bar(const Progress& p, size_t width = 20);

// The line for one message when not on a terminal:
// "sent 3/40 msgs/a.eml: 250 2.0.0 Ok: queued as X" or
// "FAILED 3/40 msgs/a.eml: rcpt: 550 5.1.1 No such user".
std::string progress_line(const Progress& p, bool ok, const std::string& what,
                          const std::string& detail);

// "40 messages: 39 sent, 1 failed".
std::string summary(const Progress& p);

}  // namespace tern::sendcli
