// SPF macro expansion (RFC 7208 7): the %{...} substitutions in the
// domain-specs of mechanisms and modifiers and in explanation strings.
// No I/O: the one macro that needs DNS, %{p}, takes its value from the
// caller (check.cc computes it only when a string uses it).
//
// Value types and pure functions; thread-compatible.
#pragma once

#include <asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::spf {

// Where a macro-string appears decides what it may hold (RFC 7208 7.1).
enum class MacroContext {
  kDomainSpec,   // mechanisms, redirect=, exp=: no c/r/t, no spaces
  kExplanation,  // the TXT text exp= points at: every macro, spaces allowed
};

// The values macros stand for. `sender` is always local@domain (check_host
// puts "postmaster" in front of a bare domain, RFC 7208 4.3).
struct MacroValues {
  std::string sender;     // %{s}
  std::string domain;     // %{d}: the <domain> of the check_host() being run
  asio::ip::address ip;   // %{i} %{c} %{v}
  std::string helo;       // %{h}
  std::string validated;  // %{p}: see validated_name_needed(); "unknown" if none
  std::string receiver;   // %{r}: our host name; "unknown" if empty
  int64_t timestamp = 0;  // %{t}: seconds since the epoch
};

struct Expansion {
  bool ok = false;
  std::string value;  // when ok
  std::string error;  // when not: the syntax problem, for a permerror
};

// Checks the syntax of a macro-string (RFC 7208 7.1) without expanding it:
// "%" only as %%, %_, %- or %{letter[digits][r][delimiters]}, a letter of
// the context, digits not zero, and (domain-spec) visible ASCII only.
// Returns an empty string when the string is well-formed, else why not.
std::string check_macro_string(std::string_view s, MacroContext context);

// Expands `s`. Uppercase macro letters URL-escape their value (RFC 3986
// unreserved characters stay). A transformer "N" keeps the N right-hand
// parts, "r" reverses the parts first; parts are split on the delimiters
// (default ".") and joined with ".".
Expansion expand_macros(std::string_view s, const MacroValues& values, MacroContext context);

// True when `s` uses %{p} (in any case), so the caller must first work out
// the validated domain name of the client (RFC 7208 7.3, 5.5).
bool validated_name_needed(std::string_view s);

// %{i}: IPv4 dotted quad; IPv6 as 32 dot-separated nibbles (RFC 7208 7.3),
// in upper case like pyspf and the RFC 7208 test suite.
std::string ip_macro_text(const asio::ip::address& ip);

}  // namespace tern::spf
