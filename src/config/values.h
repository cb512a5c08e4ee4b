// Parsers for the scalar values of the config file that are more than a
// TOML type: sizes ("50M"), durations ("5m"), listen addresses
// ("[::1]:2587"); domain names are core/domain.h's. Pure functions, no I/O.
//
// Each returns "" on success, otherwise the problem as a phrase that fits
// after "key 'K': ", e.g. "must be a size such as 10485760, \"10M\"".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/ascii.h"   // ascii_lower, used with these
#include "core/domain.h"  // is_valid_domain, used with these

namespace tern {

// A size in octets: decimal digits with an optional unit, case-insensitive:
// B (1), K/KB/KiB (1024), M/MB/MiB (1024^2), G/GB/GiB (1024^3). All
// multiples are binary. The result must be >= 1 and fit in 64 bits.
std::string parse_size(std::string_view text, uint64_t* out);

// A duration: one or more <digits><unit> with unit s, m, h or d, e.g.
// "30s", "5m", "1h30m"; digits alone are seconds. At most `max` (1 day
// unless said otherwise; a whole number of days when given).
std::string parse_duration(std::string_view text, std::chrono::seconds* out,
                           std::chrono::seconds max = std::chrono::hours(24));

// "1 day (\"1d\")", "30 days (\"30d\")": how errors name a limit in days.
std::string days_text(std::chrono::seconds max);

// "host:port": host is an IPv4 literal, a bracketed IPv6 literal
// ("[::1]") or empty (all addresses); port is 1..65535. On success *host
// is the literal without brackets.
std::string parse_listen_address(std::string_view text, std::string* host, uint16_t* port);

}  // namespace tern
