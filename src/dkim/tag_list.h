// DKIM tag=value lists (RFC 6376 3.2), the syntax of DKIM-Signature header
// fields and of key records in DNS:
//
//   tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
//   tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//
// The parser keeps where each value sits in the input, so that a verifier
// can blank the b= value of the very bytes it hashes (RFC 6376 3.7).
//
// Value types over borrowed text; thread-compatible; no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tern::dkim {

struct Tag {
  std::string_view name;   // case-sensitive (RFC 6376 3.2)
  std::string_view value;  // without leading and trailing whitespace; may hold FWS inside
  // Everything between "=" and the next ";" (or the end), whitespace
  // included, as offsets into the parsed text.
  size_t value_begin = 0;
  size_t value_end = 0;
};

// The tags in the order they appear. The views point into the text given to
// parse_tag_list, which must outlive them.
struct TagList {
  std::vector<Tag> tags;

  // The tag called `name`, or nullptr.
  const Tag* find(std::string_view name) const;
};

// Parses `text`. Whitespace (SP, HTAB, CR, LF: FWS in header fields) may
// surround names, "=" and values; a final ";" and whitespace after it are
// allowed; an empty text gives an empty list. Errors (Permanent, with a
// message naming the offending tag): a tag-spec without "=", a bad tag-name
// (ALPHA *(ALPHA / DIGIT / "_")), a value octet outside VALCHAR (RFC 6376
// 3.2; octets above 0x7F are tolerated for RFC 8616), an empty tag-spec
// between two ";", and a tag name used twice ("the entire tag-list is
// invalid", RFC 6376 3.2).
Status parse_tag_list(std::string_view text, TagList* out);

// True for SP, HTAB, CR and LF: the octets FWS is made of.
inline bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// `value` without any FWS octets: how base64 values (b=, bh=, p=) are read,
// since FWS may sit anywhere inside them (RFC 6376 3.5, 3.6.1).
std::string strip_fws(std::string_view value);

// Splits a colon-separated value (h=, q=, and key h=, s=, t=) into its items
// with FWS trimmed around each. "" gives one empty item.
std::vector<std::string> split_colon_list(std::string_view value);

}  // namespace tern::dkim
