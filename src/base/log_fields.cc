#include "base/log_fields.h"

#include <fmt/format.h>

namespace tern {

namespace {

bool is_key(std::string_view k) {
  if (k.empty() || k[0] < 'a' || k[0] > 'z') return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One token from `pos`: up to the next space, or, for a value that opens a
// quote right after '=', up to its closing quote. Advances `pos` past it.
std::string_view next_token(std::string_view s, size_t& pos) {
  while (pos < s.size() && s[pos] == ' ') ++pos;
  const size_t start = pos;
  const size_t eq = s.find('=', pos);
  const size_t space = s.find(' ', pos);
  if (eq != std::string_view::npos && eq < space && eq + 1 < s.size() && s[eq + 1] == '"') {
    size_t i = eq + 2;
    while (i < s.size() && s[i] != '"') i += (s[i] == '\\') ? 2 : 1;
    pos = std::min(i + 1, s.size());
    // A quoted value may have text glued after it ("...]..."): keep it.
    while (pos < s.size() && s[pos] != ' ') ++pos;
    return s.substr(start, pos - start);
  }
  pos = space == std::string_view::npos ? s.size() : space;
  return s.substr(start, pos - start);
}

// The value of a key=value token: unquoted and unescaped when quoted.
std::string decode_value(std::string_view v) {
  if (v.size() < 2 || v.front() != '"') return std::string(v);
  std::string out;
  const size_t end = v.rfind('"');
  for (size_t i = 1; i < end; ++i) {
    if (v[i] != '\\' || i + 1 >= end) {
      out += v[i];
    } else if (v[i + 1] == 'x' && i + 3 < end && hex(v[i + 2]) >= 0 && hex(v[i + 3]) >= 0) {
      out += static_cast<char>(hex(v[i + 2]) * 16 + hex(v[i + 3]));
      i += 3;
    } else {
      out += v[++i];
    }
  }
  out += v.substr(end + 1);  // text glued after the closing quote, if any
  return out;
}

// Length of the valid UTF-8 sequence at s[i] (RFC 3629 4), or 0.
size_t utf8_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  if (n == 3 && c == 0xe0 && b(i + 1) < 0xa0) return 0;   // overlong
  if (n == 3 && c == 0xed && b(i + 1) >= 0xa0) return 0;  // surrogates
  if (n == 4 && c == 0xf0 && b(i + 1) < 0x90) return 0;   // overlong
  if (n == 4 && c == 0xf4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
  return n;
}

}  // namespace

LogFields parse_log_fields(std::string_view text) {
  LogFields out;
  size_t pos = 0;
  bool first = true;
  std::vector<std::string_view> tokens;
  while (pos < text.size()) {
    std::string_view t = next_token(text, pos);
    if (!t.empty()) tokens.push_back(t);
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string_view t = tokens[i];
    const size_t eq = t.find('=');
    const bool field = eq != std::string_view::npos && is_key(t.substr(0, eq));
    if (first && field && t.substr(0, eq) == "session") {
      out.session = decode_value(t.substr(eq + 1));
      continue;
    }
    if (first && !field && eq == std::string_view::npos) {
      first = false;
      if (t.back() == ':') t.remove_suffix(1);
      out.event = std::string(t);
      continue;
    }
    first = false;
    if (!field) continue;  // free text: only the whole line keeps it
    std::string key(t.substr(0, eq));
    std::string_view raw = t.substr(eq + 1);
    // "client=IP: reason": the colon belongs to the text after it.
    const bool followed_by_text =
        i + 1 < tokens.size() && tokens[i + 1].find('=') == std::string_view::npos;
    if (followed_by_text && !raw.empty() && raw.back() == ':' && raw.front() != '"')
      raw.remove_suffix(1);
    bool seen = false;
    for (const auto& [k, v] : out.fields) seen = seen || k == key;
    if (!seen) out.fields.emplace_back(std::move(key), decode_value(raw));
  }
  return out;
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04x}", c);
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (size_t n = utf8_length(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  return out;
}

}  // namespace tern
