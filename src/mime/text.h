// Small text helpers shared by the MIME builder: UTF-8 stepping, ASCII
// checks and line-break normalization.
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/ascii.h"

namespace tern::mime {

// Length of the character starting at s[i] (i < s.size()): the length of the
// UTF-8 sequence when s[i] is a lead octet followed by enough continuation
// octets, otherwise 1. Splitting at these steps never cuts a well-formed
// UTF-8 character and never runs past the end of s. (Well-formedness beyond
// that, e.g. overlong forms, is not checked: nothing here depends on it.)
size_t utf8_step(std::string_view s, size_t i);

// True if every octet is below 0x80.
bool is_ascii(std::string_view s);

// True if s holds CR, LF or NUL: what may never reach a header unescaped.
bool has_line_break_or_nul(std::string_view s);

// Every line break (CRLF, bare LF, bare CR) becomes CRLF (RFC 5322 2.3:
// CR and LF only occur together).
std::string to_crlf(std::string_view s);

using tern::ascii_lower;  // core/ascii.h

// True for SP and HTAB (WSP, RFC 5234 B.1).
inline bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// atext (RFC 5322 3.2.3): ASCII letters, digits and !#$%&'*+-/=?^_`{|}~.
bool is_atext(char c);

}  // namespace tern::mime
