#include "base/log_journal.h"

#include <sys/stat.h>
#include <sys/uio.h>
// Without it, every entry would carry CODE_FILE=log_journal.cc: where the
// line was written, not where it was logged.
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

namespace tern {

bool journal_stream_matches(const char* journal_stream, int fd) {
  if (journal_stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  char extra = 0;
  if (std::sscanf(journal_stream, "%llu:%llu%c", &dev, &ino, &extra) != 2) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

bool journal_socket_present() { return ::access("/run/systemd/journal/socket", F_OK) == 0; }

std::string journal_field_name(std::string_view key) {
  std::string out = "TERN_";
  for (char c : key) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    out += ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '_';
  }
  if (out.size() > 64) out.resize(64);
  return out;
}

int syslog_priority(LogLevel level) {
  return level == LogLevel::kError ? 3 : level == LogLevel::kWarn ? 4 : 6;
}

bool journal_send(LogLevel level, std::string_view message, const LogFields& fields) {
  std::vector<std::string> entries;
  entries.reserve(fields.fields.size() + 5);
  entries.push_back("MESSAGE=" + std::string(message));
  entries.push_back("PRIORITY=" + std::to_string(syslog_priority(level)));
  entries.push_back("SYSLOG_IDENTIFIER=tern");
  if (!fields.session.empty()) entries.push_back("TERN_SESSION=" + fields.session);
  if (!fields.event.empty()) entries.push_back("TERN_EVENT=" + fields.event);
  for (const auto& [key, value] : fields.fields) {
    std::string name = journal_field_name(key);
    if (name == "TERN_SESSION" || name == "TERN_EVENT") continue;
    entries.push_back(name + "=" + value);
  }
  std::vector<iovec> iov;
  iov.reserve(entries.size());
  for (std::string& e : entries) iov.push_back(iovec{e.data(), e.size()});
  // Values may hold any byte, newlines too: sd_journal_sendv frames them.
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) == 0;
}

}  // namespace tern
