// The SMTP command table (RFC 5321 4.1, plus RFC 3207 STARTTLS, RFC 4954
// AUTH, RFC 3030 BDAT): command line -> verb and argument. No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tern {

enum class Verb {
  kHelo,
  kEhlo,
  kMail,
  kRcpt,
  kData,
  kBdat,
  kRset,
  kNoop,
  kQuit,
  kVrfy,
  kExpn,
  kHelp,
  kStartTls,
  kAuth,
  kEtrn,
  kObsolete,  // TURN, SAML, SEND, SOML: recognised, never implemented (502 5.5.1)
  kUnknown,
};

struct Command {
  Verb verb = Verb::kUnknown;
  std::string_view name;  // the verb as sent
  std::string_view arg;   // text after the verb and one space; may be empty
};

// Splits a command line (CRLF already removed). Verbs are case-insensitive
// (RFC 5321 2.4). Never fails: unknown verbs give Verb::kUnknown.
Command parse_command(std::string_view line);

// The argument of ETRN (RFC 1985): "domain" starts the queue for that
// domain, "@domain" for it and every domain under it, "#name" for a queue
// the server names itself.
struct EtrnNode {
  enum class Kind { kDomain, kSubdomains, kQueue };
  Kind kind = Kind::kDomain;
  std::string name;  // the domain lower-cased, or the queue name as sent
};

// Parses an ETRN argument: exactly one word, a domain name (RFC 5321 4.1.2
// Domain: dot-separated labels of letters, digits and hyphens, at most 255
// octets) with an optional "@" before it, or "#" and a non-empty name of
// printable ASCII. nullopt on anything else (no address literals).
std::optional<EtrnNode> parse_etrn_node(std::string_view arg);

// True if `line` (a command line, CRLF removed) is the start of an HTTP
// request: a method and a space ("GET ", "POST ", "CONNECT ", ... RFC 9110
// 9.1, any case) or a header every request carries ("Host:", "User-Agent:").
// No SMTP command looks like that; a client that sends one speaks another
// protocol to our port (a cross-protocol attack), and is hung up on.
bool looks_like_http(std::string_view line);

// True if `name` may be the argument of HELO/EHLO as far as lengths go:
// RFC 5321 4.1.2 takes a Domain (labels of at most 63 octets, RFC 1035
// 2.3.4; at most 255 in all, RFC 5321 4.5.3.1.2) or an address literal
// ("[...]", at most 255 octets too). The characters are not checked: real
// clients send names with "_" and other sins, which harm no one.
bool helo_name_ok(std::string_view name);

// ASCII case-insensitive comparisons; SMTP keywords are ASCII.
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);

}  // namespace tern
