// Writing header fields: folding (RFC 5322 2.2.3), unstructured text and
// display names with RFC 2047 encoded words where needed, mailbox lists, and
// MIME parameters with RFC 2231 encoding where needed.
//
// Every line a FieldWriter produces stays within 76 octets unless a single
// token is longer, and never exceeds 998 octets: the emitters below only
// hand it tokens short enough (long words become encoded words, long
// parameters become RFC 2231 continuations).
//
// Thread-compatible; no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tern/mailbox.h"

namespace tern::mime {

// Where lines are folded: RFC 5322 2.1.1 asks for 78, RFC 2047 2 for 76 on
// lines holding encoded words; one limit for every line keeps both.
inline constexpr size_t kSoftLineLimit = 76;
inline constexpr size_t kHardLineLimit = 998;  // RFC 5322 2.1.1, MUST (CRLF excluded)
inline constexpr size_t kMaxFieldName = 76;    // ours: "Name:" fits the RFC 5322 78
// Longest word sent literally; longer ones become encoded words so that a
// folded line (whitespace + word + a little punctuation) stays under 998.
inline constexpr size_t kMaxLiteralWord = 900;

// One header field, built token by token.
class FieldWriter {
 public:
  // Starts the field "Name:". REQUIRES: valid_field_name(name).
  explicit FieldWriter(std::string_view name);

  // Appends `space` (SP/HTAB octets, or "" to glue the token to the previous
  // one) and then `token` (no CR or LF). When the line would pass 76 octets
  // and already holds a token, the line is folded first: CRLF goes before
  // `space`, which then starts the next line (RFC 5322 2.2.3). A glued token
  // is never folded away from its neighbour.
  void add(std::string_view token, std::string_view space = " ");

  // How long a token may be to stay within 76 octets on the current line
  // after `space` (0 when nothing fits).
  size_t room(std::string_view space = " ") const;

  // The field with its final CRLF. The writer is spent afterwards.
  std::string finish();

 private:
  std::string out_;
  size_t line_start_ = 0;
  bool line_has_token_ = false;
};

// True for a field name we accept: 1..76 octets of printable ASCII without
// ":" (ftext, RFC 5322 3.6.8).
bool valid_field_name(std::string_view name);

// Appends unstructured text (RFC 5322 3.2.5), e.g. a Subject: words of
// printable ASCII go literally; runs of words that hold anything else
// (UTF-8, control characters), look like encoded words, or are longer than
// kMaxLiteralWord become encoded words (RFC 2047), as do whitespace runs
// longer than 32 octets. Whitespace runs between literal words are kept;
// leading and trailing whitespace is dropped. REQUIRES: no CR, LF or NUL.
void add_unstructured(FieldWriter& w, std::string_view text);

// Appends a display name (RFC 5322 3.2.5 phrase) after collapsing
// whitespace runs to one space and trimming: as atoms when it is all atoms,
// as one quoted-string when it is printable ASCII, otherwise atoms plus
// encoded words (RFC 2047 5 (3)). REQUIRES: non-empty after trimming; no CR,
// LF or NUL.
void add_phrase(FieldWriter& w, std::string_view name);

// Appends a mailbox list separated by commas: "addr" for a mailbox without
// a name, "phrase <addr>" with one. An empty list writes nothing.
// REQUIRES: every address passed parse_mailbox (address.h).
void add_mailboxes(FieldWriter& w, const std::vector<Mailbox>& list);

// Appends ";" and the parameter `attribute=value` (RFC 2045 5.1): as a
// token when it is one, quoted when it is short printable ASCII, otherwise
// in RFC 2231 form: attribute*=utf-8''%XX... (section 4), split into
// attribute*0*=, attribute*1*=, ... when long (section 3), never cutting a
// UTF-8 character. REQUIRES: attribute is a short token.
void add_param(FieldWriter& w, std::string_view attribute, std::string_view value);

// Whitespace handling shared with Mailbox::str(): trimmed, with every run of
// SP/HTAB replaced by one space.
std::string collapse_whitespace(std::string_view s);

}  // namespace tern::mime
