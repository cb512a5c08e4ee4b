// Mail addresses as SMTP carries them: RFC 5321 4.1.2 Mailbox, with the
// RFC 6531 (SMTPUTF8) extension of local parts and domains to UTF-8.
//
// Value type; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tern {

struct Address {
  std::string local;   // as received, unquoted form kept verbatim (quotes included if quoted)
  std::string domain;  // as received; may be an address literal "[192.0.2.1]"

  // The null reverse-path "<>" has both parts empty.
  bool is_null() const { return local.empty() && domain.empty(); }
  // "local@domain", or "" for the null path.
  std::string str() const;
  // True if local or domain holds a non-ASCII octet (needs SMTPUTF8).
  bool needs_utf8() const;
  // Domain lower-cased (ASCII only; UTF-8 octets are kept).
  std::string domain_lower() const;
  // Local part lower-cased with any "+tag" removed: "User+x" -> "user".
  std::string local_base() const;

  friend bool operator==(const Address&, const Address&) = default;
};

// Parses a Mailbox "local@domain" (no angle brackets). Accepts dot-string and
// quoted-string local parts, domain names and address literals ([IPv4],
// [IPv6:...]). With allow_utf8, UTF-8 sequences are accepted in both parts
// (RFC 6531 3.3); invalid UTF-8 is always refused.
// Returns nullopt on any syntax error.
std::optional<Address> parse_mailbox(std::string_view s, bool allow_utf8);

// Parses a Path as it appears after "MAIL FROM:" / "RCPT TO:": "<...>",
// including a source route "<@a,@b:user@d>", which is accepted and dropped
// (RFC 5321 4.1.2, appendix C). With allow_null, "<>" gives the null address.
// The special recipient "<Postmaster>" (no domain, any case) is accepted when
// allow_postmaster is set and comes back as local="Postmaster", domain="".
std::optional<Address> parse_path(std::string_view s, bool allow_null, bool allow_postmaster,
                                  bool allow_utf8);

}  // namespace tern
