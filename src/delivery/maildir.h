// Maildir delivery (https://cr.yp.to/proto/maildir.html), readable by
// Dovecot with mail_location = maildir:<data_dir>/mail/%d/%n.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "fs/file_env.h"

namespace tern {

// <mail_root>/<domain>/<localpart> for "localpart@domain" (split at the
// last '@'), normalised as alias_key() does: quotes removed, ASCII
// lower-cased, "+tag" dropped. Returns "" for a name that can never be a
// mailbox: no '@', an empty part, a part that is "." or "..", or holds '/',
// NUL or another control character; and a local part over 64 octets
// (RFC 5321 4.5.3.1.1), holding '@', starting or ending with '.' or holding
// "..". The server refuses such a recipient at RCPT (550 5.1.3,
// server/directory.h), so it is never accepted and then bounced.
std::string maildir_path(const std::string& mail_root, const std::string& address);

// Delivers one message: creates the maildir and its tmp/, new/, cur/ (mode
// 0700, with any missing parents) if needed, fsyncing the parent of each
// directory created; writes `header` followed by bytes [offset, end) of
// file `body_path` (read in 64 KiB blocks) to tmp/<unique>, fsyncs it,
// links it into new/ (link cannot replace an existing file; tmp/ is then
// unlinked) and fsyncs new/. Ok only when durable; on failure nothing is
// left in new/. <unique> is "<sec>.M<usec>P<pid>Q<counter>.<host>".
// Errors are Transient and carry the errno (a full disk reads as such).
// Every file system call goes through `env` (fs/file_env.h).
// Thread-safe.
Status maildir_deliver(const std::string& maildir, std::string_view header,
                       const std::string& body_path, uint64_t offset,
                       FileEnv& env = FileEnv::posix());

}  // namespace tern
