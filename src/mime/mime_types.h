// Media types by file name extension, for attachments (RFC 2046; the
// registered names at IANA).
//
// Pure function over a static table; thread-safe.
#pragma once

#include <string_view>

namespace tern::mime {

// The media type for `filename` by its last extension, case-insensitively:
// "Report.PDF" -> "application/pdf", "a.tar.gz" -> "application/gzip".
// Names without a known extension (or without one at all, or dot files
// such as ".profile") give "application/octet-stream".
std::string_view mime_type_for(std::string_view filename);

}  // namespace tern::mime
