// Ready-made messages as `tern sendmail` and `tern send --batch/--mbox`
// get them (RFC 5322 text with LF or CRLF line ends): finding the header
// fields, reading the envelope from them, and the few edits a submission
// agent makes before sending (RFC 6409 8: add Date, Message-ID and From
// when missing; drop Bcc and Return-Path).
//
// Pure functions on strings; no I/O. Thread-compatible.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::sendcli {

struct HeaderField {
  std::string name;   // as written, e.g. "Cc"
  size_t begin = 0;   // offset of the field's first octet in the message
  size_t end = 0;     // just past its last line end (continuation lines included)
  std::string value;  // unfolded (line ends removed), leading whitespace trimmed
};

struct HeaderBlock {
  std::vector<HeaderField> fields;
  // Where the header section ends: the empty separator line starts here,
  // or the body does when there is no separator.
  size_t header_end = 0;
  // Offset of the body's first octet (after the separator line if any).
  size_t body_begin = 0;
  bool has_separator = false;  // an empty line separates headers and body
  std::string eol = "\n";      // the message's line end, "\n" or "\r\n" (from its first line)
};

// Splits the header section from the body. The headers end at the first
// empty line, or at the first line that is neither a field ("Name:" with a
// name of printable ASCII without ":" or space, RFC 5322 3.6.8) nor a
// continuation (starting with space or tab): the rest is body, as Postfix
// treats a message piped in without headers.
HeaderBlock parse_headers(std::string_view message);

// The unfolded values of every field called `name` (ASCII case-insensitive),
// in order.
std::vector<std::string> field_values(const HeaderBlock& h, std::string_view name);
bool has_field(const HeaderBlock& h, std::string_view name);

// The message without a leading mbox "From " postmark line, as .eml files
// saved from an mbox sometimes start.
std::string_view strip_postmark(std::string_view message);

// What to change before sending. Empty strings add nothing.
struct Completion {
  std::string from;        // full "From:" value, added when there is no From
  std::string date;        // "Date:" value, added when there is no Date
  std::string message_id;  // "Message-ID:" value ("<...>"), added when there is none
};

// Returns the message with every Bcc and Return-Path field removed (Bcc
// must not reach the recipients; Return-Path is the final MTA's to add,
// RFC 5321 4.4) and the missing fields of `c` appended to the header
// section, in the message's own line ends. A message without a separator
// line gets one after the new fields.
std::string complete_message(std::string_view message, const Completion& c);

// The envelope sender the headers name: the Sender field's address if
// present, else the first mailbox of From (RFC 5322 3.6.2). Unqualified
// addresses get "@" + default_domain. nullopt with *error set when the
// field does not parse; "" (no error) when neither field is present.
std::optional<std::string> sender_from_headers(const HeaderBlock& h,
                                               std::string_view default_domain, std::string* error);

// The addresses of every To, Cc and Bcc field (for `sendmail -t`), in that
// order, qualified as above. nullopt with *error naming the field that
// does not parse.
std::optional<std::vector<std::string>> recipients_from_headers(const HeaderBlock& h,
                                                                std::string_view default_domain,
                                                                std::string* error);

}  // namespace tern::sendcli
