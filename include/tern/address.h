// Mail addresses as SMTP carries them: RFC 5321 4.1.2 Mailbox, with the
// RFC 6531 (SMTPUTF8) extension of local parts and domains to UTF-8.
//
// Value type; thread-compatible. Parsing does no I/O and no DNS.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tern {

struct Address {
  // As received, except that parse_mailbox() drops quotes that are not
  // needed ("\"me\"" -> "me"); a local part that needs them keeps them and
  // its escapes as written. Compare with unquote_local() (RFC 5321 4.1.2).
  std::string local;
  std::string domain;  // as received; may be an address literal "[192.0.2.1]"

  // The null reverse-path "<>" has both parts empty.
  bool is_null() const { return local.empty() && domain.empty(); }
  // "local@domain", or "" for the null path, or just the local part when
  // there is no domain (the special recipient "<Postmaster>").
  std::string str() const;
  // True if local or domain holds a non-ASCII octet (needs SMTPUTF8).
  bool needs_utf8() const;
  // Domain lower-cased (ASCII only; UTF-8 octets are kept).
  std::string domain_lower() const;
  // Local part lower-cased (ASCII only) with any "+tag" removed:
  // "User+x" -> "user". A quoted local part is unquoted first, since all
  // quoted forms are equivalent (RFC 5321 4.1.2): "\"User+x\"" -> "user".
  // A "+" in the first position does not start a tag. May return "" (for
  // the quoted local part "\"\"").
  std::string local_base() const;

  friend bool operator==(const Address&, const Address&) = default;
};

// The content of a Quoted-string local part, quotes and backslash escapes
// removed ("\"a\\\"b\"" -> "a\"b"); any other local part unchanged. All
// quoted forms of a local part are one mailbox (RFC 5321 4.1.2), so this is
// the form to compare and to name things by.
std::string unquote_local(std::string_view local);

// Parses a Mailbox "local@domain" (no angle brackets). Accepts dot-string and
// quoted-string local parts, domain names and address literals ([IPv4],
// [IPv6:...]; other tagged literals are refused, as none is registered).
// With allow_utf8, UTF-8 sequences are accepted in both parts
// (RFC 6531 3.3); invalid UTF-8 (overlong forms, surrogates, code points
// above U+10FFFF, truncated sequences) is always refused.
// Limits (RFC 5321 4.5.3.1): local part <= 64 octets as received (quotes
// included), domain <= 255 octets, each ASCII DNS label <= 63 octets.
// A quoted local part whose content is a Dot-string comes back unquoted:
// RFC 5321 4.1.2 makes the forms equivalent and asks for the one with the
// least quoting. Returns nullopt on any syntax error.
std::optional<Address> parse_mailbox(std::string_view s, bool allow_utf8);

// Parses a Path as it appears after "MAIL FROM:" / "RCPT TO:": "<...>",
// including a source route "<@a,@b:user@d>", which is accepted and dropped
// (RFC 5321 4.1.2, appendix C). With allow_null, "<>" gives the null address.
// The special recipient "<Postmaster>" (no domain, any case) is accepted when
// allow_postmaster is set and comes back as local="Postmaster", domain="".
// The whole path, brackets and route included, must be <= 256 octets
// (RFC 5321 4.5.3.1.3). No spaces are allowed anywhere outside quotes.
std::optional<Address> parse_path(std::string_view s, bool allow_null, bool allow_postmaster,
                                  bool allow_utf8);

}  // namespace tern
