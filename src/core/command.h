// The SMTP command table (RFC 5321 4.1, plus RFC 3207 STARTTLS, RFC 4954
// AUTH, RFC 3030 BDAT): command line -> verb and argument. No I/O.
#pragma once

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

// ASCII case-insensitive comparisons; SMTP keywords are ASCII.
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);

}  // namespace tern
