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

// ASCII case-insensitive comparisons; SMTP keywords are ASCII.
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);

}  // namespace tern
