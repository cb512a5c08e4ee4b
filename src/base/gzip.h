// gzip (RFC 1952) of a whole buffer in memory: the attachments of the DMARC
// aggregate reports (RFC 7489 7.2.1.1) and the TLS reports (RFC 8460 5.3,
// 5.4: application/tlsrpt+gzip).
//
// The output depends on the input alone (the header's mtime stays 0, the
// compression level is fixed), so a report that is built again, to be
// resent, has the same bytes. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace tern {

// `data` gzip'd at the best compression; "" if zlib fails.
std::string gzip(std::string_view data);

}  // namespace tern
