// A mailbox as message headers carry it (RFC 5322 3.4): an optional display
// name and an address, "Jörg Müller <joerg@example.com>".
//
// The display name is plain UTF-8 here; the message builder (message.h)
// turns it into RFC 2047 encoded words when it writes a header. The address
// follows RFC 5321 4.1.2 (what SMTP can carry), with the RFC 6531 UTF-8
// extension: a message with such an address needs SMTPUTF8.
//
// Value type; thread-compatible. Parsing does no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

struct Mailbox {
  std::string name;     // display name, UTF-8; "" for none
  std::string address;  // "local@domain", no angle brackets

  // A human-readable form for command lines and logs (not for headers: no
  // RFC 2047 encoding): "addr" without a name, otherwise "Name <addr>" with
  // the name quoted when it holds anything but letters, digits, atext, spaces
  // and UTF-8: "\"Doe, J.\" <j@example.com>". parse(str()) gives the mailbox
  // back when the name has no leading, trailing or repeated whitespace.
  std::string str() const;

  // Parses one mailbox, leniently enough for a command line
  // (`tern send -r "Name <a@b>"`):
  //   "a@b"  "<a@b>"  "Name <a@b>"  "\"Doe, John\" <a@b>"  "Doe, John <a@b>"
  //   "a@b (Name)"   (the old comment form: the comment becomes the name)
  // The display name may be raw UTF-8 or RFC 2047 encoded words (decoded
  // when UTF-8 or US-ASCII); quoted strings are unquoted, comments dropped,
  // and whitespace runs between words collapse to one space. The address
  // must pass parse_mailbox(address, /*allow_utf8=*/true) (address.h) once
  // surrounding comments and whitespace are removed. Returns nullopt on any
  // error, including "<>", source routes, groups and unbalanced quotes,
  // comments or brackets.
  static std::optional<Mailbox> parse(std::string_view s);

  // Parses an address-list as in a To/Cc/Bcc header value (RFC 5322 3.4),
  // for `sendmail -t`: mailboxes separated by commas; groups
  // ("Team: a@x, b@y;") contribute their members; empty groups
  // ("undisclosed-recipients:;") and empty elements (",,", RFC 5322 4.4)
  // contribute nothing. Unlike parse(), a comma outside quotes always
  // separates mailboxes. Returns nullopt if any element fails to parse; an
  // empty or all-blank string gives an empty list.
  static std::optional<std::vector<Mailbox>> parse_list(std::string_view s);

  friend bool operator==(const Mailbox&, const Mailbox&) = default;
};

}  // namespace tern
