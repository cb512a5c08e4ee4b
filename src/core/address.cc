// Address parsing: RFC 5321 4.1.2 (Mailbox, Path), 4.1.3 (address
// literals), 4.5.3.1 (size limits); RFC 6531 3.3 (UTF-8 extensions);
// RFC 3629 4 (well-formed UTF-8). See include/tern/address.h for the contract.
//
// The parsers work on string_views with explicit indices; none allocates
// until the result is built.
#include "tern/address.h"

#include <cstddef>
#include <cstdint>

namespace tern {
namespace {

constexpr size_t kMaxLocalPart = 64;  // RFC 5321 4.5.3.1.1
constexpr size_t kMaxDomain = 255;    // RFC 5321 4.5.3.1.2
constexpr size_t kMaxPath = 256;      // RFC 5321 4.5.3.1.3
constexpr size_t kMaxLabel = 63;      // RFC 1035 2.3.4 (ASCII labels only)
constexpr size_t kNone = std::string_view::npos;

bool is_alpha(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// atext, RFC 5322 3.2.3 (ASCII part; RFC 6531 adds UTF8-non-ascii).
bool is_atext(unsigned char c) {
  constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return is_alpha(c) || is_digit(c) || kSpecials.find(static_cast<char>(c)) != kNone;
}

// Length of the well-formed UTF-8 sequence starting at s[i] (which must be
// >= 0x80), or 0 if there is none. RFC 3629 4 (UTF8-2/3/4): this refuses
// overlong forms (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF),
// code points above U+10FFFF (F4 90.., F5..FF) and truncated sequences.
size_t utf8_len(std::string_view s, size_t i) {
  const auto at = [&](size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
  };
  const auto cont = [](unsigned c) { return c >= 0x80 && c <= 0xBF; };
  const unsigned c0 = at(0);
  if (c0 >= 0xC2 && c0 <= 0xDF) return cont(at(1)) ? 2 : 0;
  if (c0 >= 0xE0 && c0 <= 0xEF) {
    const unsigned lo = c0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = c0 == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(at(2)) ? 3 : 0;
  }
  if (c0 >= 0xF0 && c0 <= 0xF4) {
    const unsigned lo = c0 == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = c0 == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(at(2)) && cont(at(3)) ? 4 : 0;
  }
  return 0;
}

// If s[i] starts a UTF-8 non-ASCII character that is allowed here, returns
// its length; otherwise 0.
size_t utf8_char(std::string_view s, size_t i, bool allow_utf8) {
  if (!allow_utf8 || static_cast<unsigned char>(s[i]) < 0x80) return 0;
  return utf8_len(s, i);
}

// Dot-string = Atom *("." Atom), starting at i. Returns the end index, or
// kNone. Stops (successfully) at the first octet that cannot continue it.
size_t parse_dot_string(std::string_view s, size_t i, bool allow_utf8) {
  bool atom_empty = true;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (is_atext(c)) {
      ++i;
      atom_empty = false;
    } else if (size_t n = utf8_char(s, i, allow_utf8); n > 0) {
      i += n;
      atom_empty = false;
    } else if (c == '.') {
      if (atom_empty) return kNone;  // leading or doubled dot
      ++i;
      atom_empty = true;
    } else {
      break;
    }
  }
  return atom_empty ? kNone : i;  // also refuses a trailing dot
}

// Quoted-string = DQUOTE *QcontentSMTP DQUOTE, with s[i] == '"'.
// Returns the index after the closing quote, or kNone.
size_t parse_quoted_string(std::string_view s, size_t i, bool allow_utf8) {
  ++i;  // opening quote
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') return i + 1;
    if (c == '\\') {
      // quoted-pairSMTP = %d92 %d32-126
      if (i + 1 >= s.size()) return kNone;
      const auto q = static_cast<unsigned char>(s[i + 1]);
      if (q < 32 || q > 126) return kNone;
      i += 2;
    } else if (c >= 32 && c <= 126) {
      ++i;  // qtextSMTP = %d32-33 / %d35-91 / %d93-126 (quote, backslash handled above)
    } else if (size_t n = utf8_char(s, i, allow_utf8); n > 0) {
      i += n;  // RFC 6531 3.3: qtextSMTP =/ UTF8-non-ascii
    } else {
      return kNone;
    }
  }
  return kNone;  // unterminated
}

// One label: letters, digits, hyphens (plus UTF-8 with allow_utf8), not
// starting or ending with a hyphen (RFC 5321 4.1.2 sub-domain; RFC 6531
// U-label, whose IDNA2008 validity is not checked here).
bool valid_label(std::string_view label, bool allow_utf8) {
  if (label.empty() || label.front() == '-' || label.back() == '-') return false;
  bool ascii = true;
  for (size_t i = 0; i < label.size();) {
    const auto c = static_cast<unsigned char>(label[i]);
    if (is_alpha(c) || is_digit(c) || c == '-') {
      ++i;
    } else if (size_t n = utf8_char(label, i, allow_utf8); n > 0) {
      i += n;
      ascii = false;
    } else {
      return false;  // includes "_", RFC 5321 4.1.2 last paragraph
    }
  }
  return !ascii || label.size() <= kMaxLabel;
}

// Domain = sub-domain *("." sub-domain), the whole of d. The caller checks
// the length (a mailbox domain here, a route hop by the path limit).
bool valid_domain(std::string_view d, bool allow_utf8) {
  size_t start = 0;
  while (true) {
    const size_t dot = d.find('.', start);
    if (!valid_label(d.substr(start, dot == kNone ? kNone : dot - start), allow_utf8)) return false;
    if (dot == kNone) return true;
    start = dot + 1;
  }
}

// IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT, 0..255.
bool valid_ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t digits = 0;
    unsigned value = 0;
    while (i < s.size() && is_digit(s[i]) && digits < 4) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    if (++parts == 4) return i == s.size();
    if (i >= s.size() || s[i] != '.') return false;
    ++i;
  }
}

// Counts groups in "" or IPv6-hex *(":" IPv6-hex); -1 on bad syntax.
int count_hex_groups(std::string_view s) {
  if (s.empty()) return 0;
  int groups = 0;
  size_t i = 0;
  while (true) {
    size_t digits = 0;
    while (i < s.size() && is_hex(s[i])) {
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 4) return -1;
    ++groups;
    if (i == s.size()) return groups;
    if (s[i] != ':') return -1;
    ++i;
  }
}

// IPv6-addr (RFC 5321 4.1.3), stricter than RFC 4291: "::" stands for at
// least two groups, so "1:2:3:4:5:6:7::" is refused.
bool valid_ipv6(std::string_view s) {
  int full = 8;
  std::string_view hex = s;
  // IPv6v4-full / IPv6v4-comp: the part after the last ':' is IPv4.
  const size_t last_colon = s.rfind(':');
  if (last_colon == kNone) return false;
  if (s.find('.', last_colon) != kNone) {
    if (!valid_ipv4(s.substr(last_colon + 1))) return false;
    full = 6;
    hex = s.substr(0, last_colon + 1);  // keeps a trailing "::" intact
    if (hex.size() < 2 || hex.substr(hex.size() - 2) != "::") hex.remove_suffix(1);
  }
  const size_t gap = hex.find("::");
  if (gap == kNone) return count_hex_groups(hex) == full;
  if (hex.find("::", gap + 1) != kNone) return false;  // at most one "::"
  const int left = count_hex_groups(hex.substr(0, gap));
  const int right = count_hex_groups(hex.substr(gap + 2));
  return left >= 0 && right >= 0 && left + right <= full - 2;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// address-literal without its brackets. Only IPv4 and "IPv6:" (a
// case-insensitive ABNF string, RFC 5234 2.3) are accepted: a
// General-address-literal needs a tag registered with IANA, and there is none.
bool valid_address_literal(std::string_view s) {
  constexpr std::string_view kIPv6Tag = "IPv6:";
  if (s.size() > kIPv6Tag.size() && iequals(s.substr(0, kIPv6Tag.size()), kIPv6Tag)) {
    return valid_ipv6(s.substr(kIPv6Tag.size()));
  }
  return valid_ipv4(s);
}

// The part after "@": Domain / address-literal.
bool valid_mailbox_domain(std::string_view d, bool allow_utf8) {
  if (d.empty() || d.size() > kMaxDomain) return false;
  if (d.front() == '[') {
    return d.size() >= 2 && d.back() == ']' && valid_address_literal(d.substr(1, d.size() - 2));
  }
  return valid_domain(d, allow_utf8);
}

}  // namespace

std::string unquote_local(std::string_view local) {
  if (local.size() < 2 || local.front() != '"' || local.back() != '"') return std::string(local);
  std::string out;
  for (size_t i = 1; i + 1 < local.size(); ++i) {
    if (local[i] == '\\' && i + 2 < local.size()) ++i;
    out += local[i];
  }
  return out;
}

namespace {

// The local part in the form with the least quoting (RFC 5321 4.1.2: "all
// quoted forms MUST be treated as equivalent, and the sending system SHOULD
// transmit the form that uses the minimum quoting possible"): a
// Quoted-string whose content, escapes removed, is a Dot-string loses its
// quotes ("\"me\"" and "\"m\\e\"" -> "me"). Any other local part comes
// back as written: one that needs its quotes keeps its escapes too.
std::string minimal_local(std::string_view local, bool allow_utf8) {
  if (local.empty() || local.front() != '"') return std::string(local);
  std::string bare = unquote_local(local);
  if (!bare.empty() && parse_dot_string(bare, 0, allow_utf8) == bare.size()) return bare;
  return std::string(local);
}

}  // namespace

std::string Address::str() const {
  if (domain.empty()) return local;
  return local + "@" + domain;
}

bool Address::needs_utf8() const {
  for (const std::string* part : {&local, &domain}) {
    for (char c : *part) {
      if (static_cast<unsigned char>(c) >= 0x80) return true;
    }
  }
  return false;
}

std::string Address::domain_lower() const {
  std::string out = domain;
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::string Address::local_base() const {
  std::string out = unquote_local(local);
  const size_t plus = out.find('+', 1);
  if (plus != std::string::npos) out.resize(plus);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::optional<Address> parse_mailbox(std::string_view s, bool allow_utf8) {
  if (s.empty()) return std::nullopt;
  const size_t end =
      s.front() == '"' ? parse_quoted_string(s, 0, allow_utf8) : parse_dot_string(s, 0, allow_utf8);
  if (end == kNone || end > kMaxLocalPart || end >= s.size() || s[end] != '@') {
    return std::nullopt;
  }
  const std::string_view domain = s.substr(end + 1);
  if (!valid_mailbox_domain(domain, allow_utf8)) return std::nullopt;
  return Address{minimal_local(s.substr(0, end), allow_utf8), std::string(domain)};
}

std::optional<Address> parse_path(std::string_view s, bool allow_null, bool allow_postmaster,
                                  bool allow_utf8) {
  if (s.size() < 2 || s.size() > kMaxPath || s.front() != '<' || s.back() != '>') {
    return std::nullopt;
  }
  std::string_view inner = s.substr(1, s.size() - 2);
  if (inner.empty()) {
    if (!allow_null) return std::nullopt;
    return Address{};
  }
  // RFC 5321 4.1.1.3: "Postmaster" without a domain, case-insensitive.
  if (allow_postmaster && iequals(inner, "Postmaster")) return Address{"Postmaster", ""};
  if (inner.front() == '@') {
    // A-d-l = At-domain *( "," At-domain ), then ":" (RFC 5321 4.1.2):
    // accepted, checked, and ignored (appendix C).
    const size_t colon = inner.find(':');
    if (colon == kNone) return std::nullopt;
    std::string_view route = inner.substr(0, colon);
    while (true) {
      const size_t comma = route.find(',');
      const std::string_view hop = route.substr(0, comma);
      if (hop.size() < 2 || hop.front() != '@' || !valid_domain(hop.substr(1), allow_utf8)) {
        return std::nullopt;
      }
      if (comma == kNone) break;
      route.remove_prefix(comma + 1);
    }
    inner.remove_prefix(colon + 1);
  }
  return parse_mailbox(inner, allow_utf8);
}

}  // namespace tern
