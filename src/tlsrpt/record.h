// The TLS-RPT policy record (RFC 8460 3): the TXT record at
// "_smtp._tls.<domain>" that says where reports for <domain> go.
//
//   v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://report.example.com/v1
//
// Pure parsing; no DNS. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::tlsrpt {

// One rua= destination we can deliver to (mailto: or https:).
struct ReportDestination {
  enum class Kind { kMailto, kHttps };
  Kind kind = Kind::kMailto;
  std::string uri;      // as published
  std::string address;  // kMailto: the address (percent-decoded, no ?query)
};

struct Record {
  std::vector<ReportDestination> rua;  // in record order, mailto: and https: only
  // rua URIs of other schemes, or malformed, left out (for the log).
  std::vector<std::string> ignored;
};

// Parses one TXT string (the record's strings joined). Returns nullopt and
// sets *error when it is not a valid TLSRPTv1 record: not starting with
// "v=TLSRPTv1" (case-sensitive, 3), a field without "=", a bad extension
// name or value, no rua= or a second one, or no usable destination.
std::optional<Record> parse_record(std::string_view text, std::string* error);

// The name to look up for `domain`: "_smtp._tls.<domain>".
std::string record_name(std::string_view domain);

// RFC 8460 3: of the TXT strings at record_name(), those starting with
// "v=TLSRPTv1" are candidates; exactly one must be, or the domain does not
// take reports. Returns that one parsed, else nullopt with *error saying why.
std::optional<Record> select_record(const std::vector<std::string>& txt, std::string* error);

}  // namespace tern::tlsrpt
