// The MTA-STS policy file (RFC 8461 3.2), served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt, and the MX host
// matching it asks for (4.1). No I/O.
//
// The text is lines of "key: value" separated by CRLF or LF:
//   version: STSv1          required, exactly
//   mode: enforce           required: enforce | testing | none
//   mx: mail.example.com    one or more (not needed with mode none); "*."
//   mx: *.example.net         matches exactly one more label (4.1)
//   max_age: 604800         required, seconds, 1*10DIGIT
// Keys are case-sensitive (the ABNF's %s); unknown keys are ignored (3.2);
// WSP around the value is dropped; blank lines are tolerated. A known key
// other than mx given twice makes the policy invalid (which value the
// owner meant is a guess). max_age above the RFC's maximum of 31557600
// (a year) is cut to it.
//
// Value types and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::sts {

enum class Mode { kEnforce, kTesting, kNone };

// "enforce", "testing", "none".
const char* mode_name(Mode m);

// RFC 8461 3.2: "maximum value of 31557600".
constexpr uint32_t kMaxMaxAge = 31557600;

struct Policy {
  Mode mode = Mode::kNone;
  std::vector<std::string> mx;  // lower-cased patterns, no trailing dot, in order
  uint32_t max_age = 0;         // seconds, <= kMaxMaxAge

  // 4.1: does MX host `host` match one of the patterns?
  bool allows(std::string_view host) const;
  // The policy as a file (LF-separated, keys in the RFC's order): what
  // tern serves and caches; parse_policy(text()) gives the policy back.
  std::string text() const;

  friend bool operator==(const Policy&, const Policy&) = default;
};

// Parses a policy file. nullopt with *error set ("mode 'strict' is not
// enforce, testing or none") when it is not a valid policy.
std::optional<Policy> parse_policy(std::string_view text, std::string* error);

// 4.1: `host` (an MX host name) against `pattern` ("mx.example.com" or
// "*.example.com", which matches one label in place of the "*" and not the
// bare "example.com"). Case-insensitive; trailing dots ignored.
bool mx_matches(std::string_view pattern, std::string_view host);

// Whether `pattern` is a valid mx value: ["*."] followed by a domain name
// of LDH labels (what a config's [mta_sts] mx list may hold too).
bool valid_mx_pattern(std::string_view pattern);

}  // namespace tern::sts
