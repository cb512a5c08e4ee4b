// ASCII case folding. SMTP verbs, domain names, DKIM and SPF names are
// compared case-insensitively in ASCII only; other octets (UTF-8) are kept.
#pragma once

#include <string>
#include <string_view>

namespace tern {

inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

}  // namespace tern
