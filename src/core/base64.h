// Base64 (RFC 4648 4), the standard alphabet with padding, as SMTP AUTH
// uses it (RFC 4954 4).
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tern {

// Encodes `data`, padding the output with "=" to a multiple of 4 characters.
std::string base64_encode(std::string_view data);

// Decodes strictly: the length must be a multiple of 4, only the standard
// alphabet is allowed, "=" only as one or two final padding characters, and
// the unused bits before the padding must be zero (the canonical encoding,
// RFC 4648 3.5). No whitespace or line breaks (RFC 4648 3.3). "" decodes to
// "". Returns nullopt on any violation. (The "=" that AUTH uses for an empty
// initial response, RFC 4954 4, is the caller's business: here it is an
// error.)
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace tern
