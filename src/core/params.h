// The arguments of MAIL FROM and RCPT TO: a path and ESMTP parameters
// (RFC 5321 4.1.2 Mail-parameters; RFC 1870 SIZE; RFC 6152 BODY; RFC 3030
// BINARYMIME; RFC 6531 SMTPUTF8; RFC 3461 RET ENVID NOTIFY ORCPT;
// RFC 4954 AUTH; RFC 8689 REQUIRETLS). Parsing only: no policy (size limits, and whether an
// extension was advertised, are checked by the session).
//
// Pure functions; thread-safe. No I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "tern/address.h"
#include "tern/reply.h"

namespace tern {

enum class BodyType { kUnspecified, k7Bit, k8BitMime, kBinaryMime };
enum class DsnRet { kUnspecified, kFull, kHdrs };

struct MailArgs {
  Address from;
  std::optional<uint64_t> size;  // SIZE=
  BodyType body = BodyType::kUnspecified;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::kUnspecified;
  std::string envid;  // ENVID=, xtext-decoded (printable ASCII, RFC 3461 4.4), empty if absent
  std::string auth;   // AUTH=, xtext-decoded mailbox or "<>" (checked), empty if absent
  // REQUIRETLS (RFC 8689 2): the sender asks that every hop onward be TLS
  // authenticated by DANE or MTA-STS, and offer REQUIRETLS itself.
  bool requiretls = false;
};

// NOTIFY bits (RFC 3461 4.1). kNever excludes the others.
enum NotifyBits : unsigned {
  kNotifyNone = 0,
  kNotifyNever = 1,
  kNotifySuccess = 2,
  kNotifyFailure = 4,
  kNotifyDelay = 8
};

struct RcptArgs {
  Address to;
  unsigned notify = kNotifyNone;  // 0 = not given
  std::string orcpt;              // ORCPT= as "addr-type;decoded-address", empty if absent; the
                                  // address is non-empty printable ASCII (RFC 3461 4.2)
};

// Parses the text after "MAIL FROM:" (leading spaces allowed per common
// practice, so "MAIL FROM: <a@b>" works). Parameters follow the path,
// separated by one or more spaces; keywords and the fixed values (BODY=,
// RET=) are case-insensitive. On error returns the reply to send:
//   501 5.1.7 bad sender address syntax (including a missing "<...>"),
//   501 5.5.4 bad parameter syntax or value, or duplicate parameter,
//   555 5.5.4 unknown parameter,
//   553 5.6.7 non-ASCII address without SMTPUTF8 (RFC 6531 3.5).
// The path is checked first, then each parameter from left to right (syntax,
// known keyword, duplicate, value), and the 553 check comes last.
std::variant<MailArgs, Reply> parse_mail_args(std::string_view text);

// Parses the text after "RCPT TO:", with the same syntax rules as
// parse_mail_args. "<Postmaster>" is accepted; "<>" is not. Errors:
// 501 5.1.3 bad recipient syntax, 501 5.5.4 bad value/duplicate,
// 555 5.5.4 unknown parameter, 553 5.6.7 non-ASCII address when smtputf8
// (from MAIL) is false.
std::variant<RcptArgs, Reply> parse_rcpt_args(std::string_view text, bool smtputf8);

// xtext (RFC 3461 4): octets "!".."~" except "+" and "=" stand for
// themselves; anything else is "+XX" (two hex digits). decode returns
// nullopt on bad syntax; it also accepts lower-case hex digits, which
// RFC 3461 does not produce. encode always uses upper case.
std::optional<std::string> xtext_decode(std::string_view s);
std::string xtext_encode(std::string_view s);

// Percent-decoding (RFC 3986 2.1): "%XX" (two hex digits, either case) is
// that octet; anything else stands for itself. nullopt on a "%" without two
// hex digits after it. For the mailto: URIs (RFC 6068) of DMARC and TLS-RPT
// rua= tags.
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace tern
