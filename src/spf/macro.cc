// RFC 7208 7: macro-string = *( macro-expand / macro-literal )
//   macro-expand = ( "%{" macro-letter transformers *delimiter "}" )
//                  / "%%" / "%_" / "%-"
#include "spf/macro.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace tern::spf {
namespace {

bool is_delimiter(char c) {
  return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool letter_allowed(char letter, MacroContext context) {
  switch (lower(letter)) {
    case 's':
    case 'l':
    case 'o':
    case 'd':
    case 'i':
    case 'p':
    case 'h':
    case 'v':
      return true;
    case 'c':
    case 'r':
    case 't':
      return context == MacroContext::kExplanation;  // RFC 7208 7.3
    default:
      return false;
  }
}

// One %{...} body, parsed.
struct Macro {
  char letter = 0;
  size_t keep = 0;  // 0: all parts
  bool reverse = false;
  std::string delimiters;
};

// Parses the macro starting at s[i] == '%'. On success sets `next` to the
// index after it and, for %{...}, `macro`; `literal` holds the text of
// %%, %_ and %-. Returns an error text or "".
std::string parse_one(std::string_view s, size_t i, MacroContext context, size_t& next,
                      Macro& macro, std::string& literal) {
  if (i + 1 >= s.size()) return "'%' at the end of a macro-string";
  const char c = s[i + 1];
  literal.clear();
  macro = Macro{};
  if (c == '%' || c == '_' || c == '-') {
    literal = c == '%' ? "%" : c == '_' ? " " : "%20";
    next = i + 2;
    return "";
  }
  if (c != '{') return fmt::format("invalid macro '%{}'", c);
  size_t j = i + 2;
  if (j >= s.size()) return "unterminated macro";
  macro.letter = s[j++];
  if (!letter_allowed(macro.letter, context)) {
    return fmt::format("invalid macro letter '{}'", macro.letter);
  }
  size_t digits_start = j;
  while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
  if (j > digits_start) {
    const std::string_view digits = s.substr(digits_start, j - digits_start);
    size_t n = 0;
    for (char d : digits) n = std::min<size_t>(n * 10 + (d - '0'), 1000);
    if (n == 0) return "macro transformer of zero parts";  // RFC 7208 7.1
    macro.keep = n;
  }
  if (j < s.size() && lower(s[j]) == 'r') {
    macro.reverse = true;
    ++j;
  }
  while (j < s.size() && is_delimiter(s[j])) macro.delimiters += s[j++];
  if (j >= s.size() || s[j] != '}') return "malformed macro";
  next = j + 1;
  return "";
}

bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string url_escape(std::string_view v) {
  std::string out;
  for (unsigned char c : v) {
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string local_part(const std::string& sender) {
  const size_t at = sender.rfind('@');
  return at == std::string::npos ? std::string("postmaster") : sender.substr(0, at);
}

std::string sender_domain(const std::string& sender) {
  const size_t at = sender.rfind('@');
  return at == std::string::npos ? sender : sender.substr(at + 1);
}

std::string raw_value(char letter, const MacroValues& v) {
  switch (lower(letter)) {
    case 's':
      return v.sender;
    case 'l':
      return local_part(v.sender);
    case 'o':
      return sender_domain(v.sender);
    case 'd':
      return v.domain;
    case 'i':
      return ip_macro_text(v.ip);
    case 'p':
      return v.validated.empty() ? std::string("unknown") : v.validated;
    case 'v':
      return v.ip.is_v4() ? "in-addr" : "ip6";
    case 'h':
      return v.helo;
    case 'c':
      return v.ip.to_string();  // RFC 5952 form for IPv6
    case 'r':
      return v.receiver.empty() ? std::string("unknown") : v.receiver;
    case 't':
      return std::to_string(v.timestamp);
  }
  return "";
}

// RFC 7208 7.3: split on the delimiters, reverse, keep the right-hand
// parts, join with ".".
std::string transform(const std::string& value, const Macro& m) {
  if (m.keep == 0 && !m.reverse && (m.delimiters.empty() || m.delimiters == ".")) return value;
  const std::string delimiters = m.delimiters.empty() ? "." : m.delimiters;
  std::vector<std::string> parts(1);
  for (char c : value) {
    if (delimiters.find(c) != std::string::npos) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  if (m.reverse) std::reverse(parts.begin(), parts.end());
  const size_t first = (m.keep != 0 && m.keep < parts.size()) ? parts.size() - m.keep : 0;
  std::string out;
  for (size_t i = first; i < parts.size(); ++i) {
    if (i > first) out += '.';
    out += parts[i];
  }
  return out;
}

// Characters allowed outside macros: macro-literal, plus SP in an
// explain-string.
bool literal_allowed(unsigned char c, MacroContext context) {
  if (c == ' ') return context == MacroContext::kExplanation;
  return c >= 0x21 && c <= 0x7e;
}

}  // namespace

std::string ip_macro_text(const asio::ip::address& ip) {
  if (ip.is_v4()) return ip.to_string();
  // Upper-case nibbles, as pyspf writes them and the RFC 7208 test suite
  // expects in an explanation (v-macro-ip6); RFC 7208 7.4 prints them in
  // lower case. DNS does not care.
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char b : ip.to_v6().to_bytes()) {
    if (!out.empty()) out += '.';
    out += kHex[b >> 4];
    out += '.';
    out += kHex[b & 0xf];
  }
  return out;
}

std::string check_macro_string(std::string_view s, MacroContext context) {
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '%') {
      if (!literal_allowed(static_cast<unsigned char>(s[i]), context)) {
        return fmt::format("invalid character 0x{:02x} in '{}'", static_cast<unsigned char>(s[i]),
                           s);
      }
      ++i;
      continue;
    }
    Macro m;
    std::string literal;
    size_t next = 0;
    if (std::string error = parse_one(s, i, context, next, m, literal); !error.empty()) {
      return fmt::format("{} in '{}'", error, s);
    }
    i = next;
  }
  return "";
}

Expansion expand_macros(std::string_view s, const MacroValues& values, MacroContext context) {
  Expansion out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '%') {
      if (!literal_allowed(static_cast<unsigned char>(s[i]), context)) {
        out.error =
            fmt::format("invalid character 0x{:02x} in '{}'", static_cast<unsigned char>(s[i]), s);
        return out;
      }
      out.value += s[i++];
      continue;
    }
    Macro m;
    std::string literal;
    size_t next = 0;
    if (std::string error = parse_one(s, i, context, next, m, literal); !error.empty()) {
      out.error = fmt::format("{} in '{}'", error, s);
      out.value.clear();
      return out;
    }
    if (m.letter == 0) {
      out.value += literal;
    } else {
      std::string raw = raw_value(m.letter, values);
      const bool upper = m.letter >= 'A' && m.letter <= 'Z';
      std::string v = transform(raw, m);
      out.value += upper ? url_escape(v) : v;
    }
    i = next;
  }
  out.ok = true;
  return out;
}

bool validated_name_needed(std::string_view s) {
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (s[i + 1] == '{' && lower(s[i + 2]) == 'p') return true;
    ++i;  // skip the character after '%' ("%%{p}" is literal)
  }
  return false;
}

}  // namespace tern::spf
