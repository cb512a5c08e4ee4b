// What a milter's modifications (SMFIR_ADDHEADER ... SMFIR_CHGFROM) do to
// a message, with no I/O: the header section as a list of fields, the
// envelope, and the replacement body's line endings. The Asio layer reads
// the spool, calls these, and writes the modified copy.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "milter/codec.h"

namespace tern::milter {

// One header field: `value` is everything after the colon (leading space
// included), folded lines joined by CRLF, without the final CRLF.
struct HeaderField {
  std::string name;
  std::string value;
};

// A message's header section split into fields (RFC 5322 2.2). `text` is
// the start of the message; the section ends at the empty line (whose end
// is body_offset) or at the first line that is neither a field nor a
// continuation (as Postfix, which takes it for the body; body_offset is
// then its start). nullopt when `text` ends inside the section and
// !complete (read more).
struct HeaderSection {
  std::vector<HeaderField> fields;
  size_t body_offset = 0;
};
std::optional<HeaderSection> split_header(std::string_view text, bool complete);

// The fields back as text, "Name:value\r\n" each; the empty line that
// ends the section is not included.
std::string render_header(const std::vector<HeaderField>& fields);

// Applies one header modification (add, insert, change, delete) as
// Sendmail does: ADDHEADER appends; INSHEADER inserts before field
// `index` (0: first; past the end: appends); CHGHEADER changes the
// index-th field of that name (1-based, any case; 0 counts as 1), deletes
// it for an empty value, and adds the field when there is no such one.
// `leadspc`: SMFIP_HDR_LEADSPC was negotiated (the value brings its own
// leading space). Other kinds are ignored.
void apply_header_change(const Response& m, bool leadspc, std::vector<HeaderField>* fields);

// A milter's header value as it goes into the message: bare LFs become
// CRLF, continuation lines start with white space (RFC 5322 2.2.3), NUL
// and stray CR are dropped, trailing line ends too.
std::string header_value(std::string_view value, bool leadspc);

// Applies ADDRCPT, ADDRCPT_PAR, DELRCPT or CHGFROM to `env`. Addresses may
// come with or without angle brackets; they and their ESMTP arguments are
// checked as on the SMTP wire (parse_mail_args/parse_rcpt_args). Returns
// false with *error when they do not parse. A recipient added twice is
// kept once; DELRCPT removes every recipient with that address (any case).
bool apply_envelope_change(const Response& m, Envelope* env, std::string* error);

// REPLBODY data, chunk by chunk, into the body as the spool keeps it:
// CRLF line ends (bare LF and bare CR become CRLF), and a final CRLF.
class BodyNormalizer {
 public:
  std::string feed(std::string_view chunk);
  std::string finish();

 private:
  bool cr_ = false;        // the last octet fed was a CR
  bool any_ = false;       // something was fed
  bool line_end_ = false;  // the output ends with CRLF
};

}  // namespace tern::milter
