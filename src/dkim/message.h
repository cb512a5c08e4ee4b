// The message as DKIM sees it: a header section of fields, each kept as the
// exact octets it arrived as, and a body streamed past. MessageSplitter
// finds the blank line between them as chunks arrive; select_fields picks
// the instances an h= list names (RFC 6376 5.4.2).
//
// Lines end with CRLF (what tern's DATA reader stores); a bare LF does not
// end a line here.
//
// Thread-compatible; no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tern::dkim {

// One header field: "Name: value\r\n" with any folded lines, exactly as in
// the message.
struct HeaderField {
  std::string raw;

  // The name before the colon without trailing WSP ("" when there is no
  // colon: such a line is never selected).
  std::string_view name() const;
  // True when name() equals `n` ignoring ASCII case.
  bool is(std::string_view n) const;
};

// Splits a header section (every field with its CRLF; no blank line) into
// fields: a line starting with SP or HTAB continues the field before it.
std::vector<HeaderField> split_header_fields(std::string_view header_section);

// Separates the header section from the body while the message streams.
class MessageSplitter {
 public:
  // A header section longer than `max_header` octets is an error
  // (overflow): it is not stored further, no fields are given, and no body
  // is passed on.
  explicit MessageSplitter(size_t max_header) : max_header_(max_header) {}

  // Takes the next octets of the message. Returns the part of `chunk` that
  // belongs to the body (a view into `chunk`; empty while the header section
  // continues).
  std::string_view write(std::string_view chunk);
  // True once the blank line has been seen (body octets may follow).
  bool in_body() const { return in_body_; }
  // Marks the end of the message: without a blank line everything seen was
  // header and the body is empty (RFC 6376 3.4.3 treats it as such).
  void finish();
  bool overflow() const { return overflow_; }

  // The header fields, once in_body() or after finish().
  const std::vector<HeaderField>& fields() const { return fields_; }

 private:
  void end_header(size_t section_end);

  size_t max_header_;
  std::string header_;
  bool in_body_ = false;
  bool overflow_ = false;
  std::vector<HeaderField> fields_;
};

// The fields an h= list selects, in h= order (RFC 6376 5.4.2): for each
// name, the bottom-most instance not already taken; a name with no instance
// left selects nothing (which is how "oversigning" guards against added
// fields). The field at index `skip` (the signature being checked, RFC 6376
// 3.7) is never selected; pass fields.size() for none.
std::vector<const HeaderField*> select_fields(const std::vector<HeaderField>& fields,
                                              const std::vector<std::string>& names, size_t skip);

bool equals_ignore_case(std::string_view a, std::string_view b);

}  // namespace tern::dkim
