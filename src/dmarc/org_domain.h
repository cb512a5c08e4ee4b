// Organizational domains and identifier alignment (RFC 7489 3.1, 3.2).
//
// The Organizational Domain of a name is its public suffix plus one label
// (3.2), found with libpsl over Debian's public suffix list
// (/usr/share/publicsuffix, package "publicsuffix"), or libpsl's built-in
// copy when that cannot be loaded. The list is loaded once, on first use.
//
// Thread-safe: the list is loaded under std::call_once and only read after.
#pragma once

#include <string>
#include <string_view>

#include "dmarc/record.h"

namespace tern::dmarc {

// The Organizational Domain of `domain`, lower-cased, without a trailing
// dot: "mail.example.co.uk" -> "example.co.uk". A domain that is itself a
// public suffix ("co.uk", "com") has no public suffix plus one label; it
// is returned as it is, so that it is only ever aligned with itself.
// Names under unlisted TLDs follow the list's implicit "*" rule:
// "a.b.test" -> "b.test". "" gives "".
std::string organizational_domain(std::string_view domain);

// Identifier alignment (3.1.1, 3.1.2): strict means equal ignoring ASCII
// case (and a trailing dot); relaxed means the same organizational domain.
// An empty name is never aligned.
bool aligned(std::string_view a, std::string_view b, Alignment mode);

// Where the list came from: "/usr/share/publicsuffix/..." as libpsl
// reports it, or "built-in" (for `tern dmarc lookup`).
std::string public_suffix_list_source();

}  // namespace tern::dmarc
