// The journal: when systemd connected standard error to journald, log lines
// go to the journal through sd_journal_sendv(3) as entries with fields
// (docs/logging.md), so `journalctl TERN_SESSION=...` finds a session and the
// priority is the line's level.
//
// Under systemd, JOURNAL_STREAM is "DEV:INODE" of the stream it gave the
// service; it is ours only if standard error is still that stream (a shell
// redirect or a child's pipe is not), as systemd.exec(5) advises.
//
// Thread safety: journal_send may be called from any thread.
#pragma once

#include <string>
#include <string_view>

#include "base/log.h"
#include "base/log_fields.h"

namespace tern {

// True when `journal_stream` (JOURNAL_STREAM's value, may be null) names the
// device and inode of descriptor `fd`.
bool journal_stream_matches(const char* journal_stream, int fd);

// journald's socket (/run/systemd/journal/socket) exists.
bool journal_socket_present();

// A log key as a journal field name: "TERN_" and the key upper-cased, any
// character other than A-Z, 0-9 and _ as _ (journal field names allow only
// those, 64 at most).
std::string journal_field_name(std::string_view key);

// syslog(3) priority of a level: 6 info, 4 warning, 3 error.
int syslog_priority(LogLevel level);

// Sends one entry: MESSAGE=`message`, PRIORITY, SYSLOG_IDENTIFIER=tern,
// TERN_SESSION, TERN_EVENT and TERN_<KEY> for each field. False when the
// journal did not take it (the caller writes the line to stderr instead).
bool journal_send(LogLevel level, std::string_view message, const LogFields& fields);

}  // namespace tern
