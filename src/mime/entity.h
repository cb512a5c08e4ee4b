// MIME entities (RFC 2045 2.4): the pieces render() assembles. A leaf is a
// text part or a base64 file part; a multipart joins entities with a
// boundary (RFC 2046 5.1.1).
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

struct Entity {
  std::string fields;  // the Content-* header fields, each ending in CRLF
  std::string body;    // encoded, CRLF line breaks; may or may not end in CRLF
};

// text/<subtype>; charset=utf-8, with line breaks turned into CRLF and the
// transfer encoding from choose_text_encoding (transfer_encoding.h). A
// quoted-printable body that does not end in CRLF gets a final soft line
// break ("=" CRLF), so the CRLF that follows any body adds nothing to it.
Entity text_entity(std::string_view subtype, std::string_view text);

// A base64 part of type `mime_type` with "Content-Disposition:
// <disposition>" ("attachment" or "inline"). A non-empty `filename` goes
// into both the filename (RFC 2183) and the name (RFC 2045 / 2046 practice)
// parameters, RFC 2231-encoded when needed; a non-empty `content_id` is
// written as "Content-ID: <content_id>" (RFC 2392).
Entity file_entity(std::string_view mime_type, std::string_view data, std::string_view disposition,
                   std::string_view filename, std::string_view content_id);

// multipart/<subtype> of `parts`, in order. The boundary is `base` followed
// by the smallest number that makes it occur nowhere in the parts (fields
// or body), so no part can hold a delimiter line. A non-empty `type` is
// written as the type parameter (RFC 2387 3.1, for multipart/related).
// REQUIRES: parts is not empty; base holds only boundary characters
// (RFC 2046 5.1.1 bchars).
Entity multipart_entity(std::string_view subtype, const std::vector<Entity>& parts,
                        std::string_view base, std::string_view type = "");

}  // namespace tern::mime
