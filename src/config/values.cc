#include "config/values.h"

#include <arpa/inet.h>

#include <cctype>
#include <limits>

namespace tern {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads the decimal digits at the front of *s into *out; false if there are
// none or the number does not fit in 64 bits.
bool take_number(std::string_view* s, uint64_t* out) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < s->size() && is_digit((*s)[i])) {
    uint64_t d = static_cast<uint64_t>((*s)[i] - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    n = n * 10 + d;
    ++i;
  }
  if (i == 0) return false;
  *out = n;
  s->remove_prefix(i);
  return true;
}

bool valid_ipv4(const std::string& s) {
  unsigned char buf[4];
  return inet_pton(AF_INET, s.c_str(), buf) == 1;
}

bool valid_ipv6(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

std::string parse_size(std::string_view text, uint64_t* out) {
  const std::string kForm =
      "must be a positive size in octets such as 10485760 or \"10M\" "
      "(units B, K, M, G; multiples of 1024)";
  std::string_view rest = text;
  uint64_t n = 0;
  if (!take_number(&rest, &n)) return kForm;
  const std::string unit = ascii_lower(rest);
  uint64_t mult = 0;
  if (unit.empty() || unit == "b") {
    mult = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    mult = uint64_t{1} << 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    mult = uint64_t{1} << 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    mult = uint64_t{1} << 30;
  } else {
    return kForm;
  }
  if (n == 0) return kForm;
  if (n > std::numeric_limits<uint64_t>::max() / mult) return "is too large";
  *out = n * mult;
  return "";
}

std::string days_text(std::chrono::seconds max) {
  const auto days = max.count() / 86400;
  return std::to_string(days) + (days == 1 ? " day" : " days") + " (\"" + std::to_string(days) +
         "d\")";
}

std::string parse_duration(std::string_view text, std::chrono::seconds* out,
                           std::chrono::seconds max) {
  const std::string kForm =
      "must be a duration such as 30 (seconds), \"30s\", \"5m\", \"1h30m\" "
      "(units s, m, h, d)";
  const uint64_t limit = static_cast<uint64_t>(max.count());
  std::string_view rest = text;
  uint64_t total = 0;
  if (rest.empty()) return kForm;
  for (bool first = true; !rest.empty(); first = false) {
    uint64_t n = 0;
    if (!take_number(&rest, &n)) return kForm;
    uint64_t mult = 0;
    if (rest.empty()) {
      // Digits alone mean seconds, but only as the whole value ("90"), not
      // after another component ("1m30"), which is more likely a typo.
      if (!first) return kForm;
      mult = 1;
    } else {
      switch (std::tolower(static_cast<unsigned char>(rest.front()))) {
        case 's':
          mult = 1;
          break;
        case 'm':
          mult = 60;
          break;
        case 'h':
          mult = 3600;
          break;
        case 'd':
          mult = 86400;
          break;
        default:
          return kForm;
      }
      rest.remove_prefix(1);
    }
    if (n > limit || n * mult > limit || total + n * mult > limit) {
      return "must be at most " + days_text(max);
    }
    total += n * mult;
  }
  *out = std::chrono::seconds(total);
  return "";
}

std::string parse_listen_address(std::string_view text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return "must be \"host:port\", e.g. \"127.0.0.1:25\", \"[::1]:25\" or "
           "\":25\" (all addresses)";
  }
  std::string_view h = text.substr(0, colon);
  std::string_view p = text.substr(colon + 1);

  std::string literal;
  if (!h.empty() && h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') {
      return "has an unterminated IPv6 bracket; write it as \"[::1]:25\"";
    }
    literal.assign(h.substr(1, h.size() - 2));
    if (!valid_ipv6(literal)) {
      return "has an invalid IPv6 address '" + literal + "'";
    }
  } else if (h.find(':') != std::string_view::npos) {
    return "has an IPv6 address without brackets; write it as \"[" + std::string(h) +
           "]:" + std::string(p) + "\"";
  } else if (!h.empty()) {
    literal.assign(h);
    if (!valid_ipv4(literal)) {
      return "has an invalid host '" + literal +
             "': it must be an IP address (IPv6 in brackets) or empty for "
             "all addresses";
    }
  }

  std::string_view digits = p;
  uint64_t n = 0;
  if (!take_number(&digits, &n) || !digits.empty() || p.size() > 5 || n < 1 || n > 65535) {
    return "has an invalid port '" + std::string(p) + "': it must be a number from 1 to 65535";
  }
  *host = std::move(literal);
  *port = static_cast<uint16_t>(n);
  return "";
}

}  // namespace tern
