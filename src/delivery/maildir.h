// Maildir delivery (https://cr.yp.to/proto/maildir.html), readable by
// Dovecot with mail_location = maildir:<data_dir>/mail/%d/%n.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace tern {

// <mail_root>/<domain>/<localpart>, both lower-cased, "+tag" dropped.
// REQUIRES: domain and local part contain no '/' and are not "." or ".."
// (checked: returns "" for unsafe names).
std::string maildir_path(const std::string& mail_root, const std::string& address);

// Delivers one message: creates tmp/new/cur if needed, writes `header`
// followed by bytes [offset, end) of file `body_path` to tmp/<unique>,
// fsyncs it, renames into new/, fsyncs new/. Ok only when durable.
Status maildir_deliver(const std::string& maildir, std::string_view header,
                       const std::string& body_path, uint64_t offset);

}  // namespace tern
