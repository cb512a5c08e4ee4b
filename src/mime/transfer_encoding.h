// Content-Transfer-Encodings for bodies (RFC 2045 6): 7bit, quoted-printable
// and base64, and the choice between them. Every encoded line ends with CRLF
// (or, for the last line, with nothing) and is at most 76 octets for
// quoted-printable and base64 (RFC 2045 6.7 (5), 6.8), at most 998 for 7bit
// (RFC 2045 2.7). No 8bit or binary: what the builder emits is 7-bit clean
// whatever the server supports.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tern::mime {

enum class TransferEncoding {
  k7bit,             // ASCII text, no NUL, CRLF line breaks, lines <= 998 octets
  kQuotedPrintable,  // mostly ASCII text (RFC 2045 6.7)
  kBase64,           // anything else (RFC 2045 6.8)
};

// The Content-Transfer-Encoding value: "7bit", "quoted-printable", "base64".
std::string_view encoding_name(TransferEncoding e);

// The encoding for a text body whose line breaks are already CRLF: 7bit when
// it qualifies, otherwise quoted-printable unless that would be more than a
// third longer than base64. So text that is mostly ASCII stays readable (and
// clear of spam rules about base64 text), while e.g. Cyrillic or CJK text
// goes as base64, about half the size of quoted-printable there.
TransferEncoding choose_text_encoding(std::string_view crlf_text);

// Quoted-printable in text mode (RFC 2045 6.7): CRLF stays a hard line
// break; a lone CR or LF is encoded (=0D, =0A), as are "=", octets outside
// printable ASCII, and SP/HTAB before a line break or the end. Lines are cut
// with soft breaks ("=" CRLF) to at most 76 octets, never inside an "=XX".
std::string qp_encode(std::string_view text);

// Decodes quoted-printable strictly: "=" must start "=XX" (hex, either case)
// or a soft line break "=" CRLF; whitespace before a CRLF is dropped
// (RFC 2045 6.7 (3)). Returns nullopt on a malformed escape.
std::optional<std::string> qp_decode(std::string_view text);

// Base64 (RFC 2045 6.8) in lines of 76 characters, each followed by CRLF
// except the last. "" gives "".
std::string base64_lines(std::string_view data);

// `data` in encoding `e` (7bit returns it unchanged).
std::string encode_body(std::string_view data, TransferEncoding e);

}  // namespace tern::mime
