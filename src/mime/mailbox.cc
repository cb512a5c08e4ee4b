// Mailbox parsing: RFC 5322 3.4 (mailbox, address-list, groups), 3.2.2
// (comments), 3.2.4 (quoted strings), RFC 2047 6 (encoded words in display
// names). See include/tern/mailbox.h for the contract.
#include "tern/mailbox.h"

#include <algorithm>

#include "mime/encoded_word.h"
#include "mime/header.h"
#include "mime/text.h"
#include "tern/address.h"

namespace tern {
namespace {

using mime::is_wsp;

// Walks a string octet by octet, knowing whether the current octet is inside
// a quoted string, a comment or a domain literal ("[...]"). Backslash
// escapes (quoted-pair) are honoured in all three.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  // Advances to the next octet; false at the end. After it, top() says
  // whether the octet is outside quotes, comments and literals (the octets
  // that open or close them are not top-level).
  bool next() {
    if (started_) ++i_;
    started_ = true;
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    top_ = false;
    if (escaped_) {
      escaped_ = false;
    } else if ((quote_ || depth_ > 0 || literal_) && c == '\\') {
      escaped_ = true;
    } else if (quote_) {
      quote_ = c != '"';
    } else if (depth_ > 0) {
      if (c == '(') ++depth_;
      if (c == ')') --depth_;
    } else if (literal_) {
      literal_ = c != ']';
    } else if (c == '"') {
      quote_ = true;
    } else if (c == '(') {
      depth_ = 1;
    } else if (c == '[') {
      literal_ = true;
    } else if (c == ')') {
      bad_ = true;
    } else {
      top_ = true;
    }
    return true;
  }

  size_t pos() const { return i_; }
  char ch() const { return s_[i_]; }
  bool top() const { return top_; }
  // True when the whole string was balanced (call after next() is false).
  bool balanced() const { return !bad_ && !quote_ && depth_ == 0 && !literal_ && !escaped_; }

 private:
  std::string_view s_;
  size_t i_ = 0;
  bool started_ = false, top_ = false, escaped_ = false, quote_ = false, literal_ = false;
  bool bad_ = false;
  int depth_ = 0;
};

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

// Finds the end of the quoted string, domain literal or comment opening at
// s[i] (the index of its closing octet), honouring escapes and nested
// comments; npos if it is not closed. Callers check the whole string with
// Scanner first, but a part of it may still be unbalanced: a "(" inside a
// domain literal "[3(]" is balanced for Scanner, not for a phrase.
size_t closing(std::string_view s, size_t i) {
  const char open = s[i];
  int depth = 0;
  for (size_t k = i; k < s.size(); ++k) {
    if (s[k] == '\\') {
      ++k;
    } else if (open == '"') {
      if (k > i && s[k] == '"') return k;
    } else if (open == '[') {
      if (s[k] == ']') return k;
    } else if (s[k] == '(') {
      ++depth;
    } else if (s[k] == ')' && --depth == 0) {
      return k;
    }
  }
  return std::string_view::npos;
}

// A display name: words (atoms, quoted strings, encoded words) with
// comments dropped. Adjacent encoded words join without a space
// (RFC 2047 6.2). REQUIRES: s is balanced.
std::string decode_phrase(std::string_view s) {
  std::string out;
  bool space = false, prev_encoded = false;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (is_wsp(c) || c == '(') {
      if (c == '(') i = std::min(closing(s, i), s.size());  // unclosed: drop the rest
      ++i;
      space = true;
      continue;
    }
    std::string word;
    bool encoded = false;
    if (c == '"') {
      const size_t end = std::min(closing(s, i), s.size());
      word = unescape(s.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      size_t end = i;
      while (end < s.size() && !is_wsp(s[end]) && s[end] != '"' && s[end] != '(') ++end;
      const std::string_view atom = s.substr(i, end - i);
      if (auto decoded = mime::decode_word(atom)) {
        word = std::move(*decoded);
        encoded = true;
      } else {
        word = std::string(atom);
      }
      i = end;
    }
    if (space && !out.empty() && !(encoded && prev_encoded)) out += ' ';
    out += word;
    space = false;
    prev_encoded = encoded;
  }
  return mime::collapse_whitespace(out);
}

// Removes comments and surrounding whitespace from an address; the text of
// the last comment goes to *comment. Returns nullopt if whitespace remains
// inside (outside quotes).
std::optional<std::string> strip_cfws(std::string_view s, std::string* comment) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '(') {
      const size_t end = closing(s, i);
      if (end == std::string_view::npos) return std::nullopt;
      if (comment) *comment = unescape(s.substr(i + 1, end - i - 1));
      out += ' ';
      i = end + 1;
    } else if (s[i] == '"' || s[i] == '[') {  // a "(" inside is not a comment
      const size_t end = closing(s, i);
      if (end == std::string_view::npos) return std::nullopt;
      out += s.substr(i, end - i + 1);
      i = end + 1;
    } else {
      out += s[i++];
    }
  }
  const std::string trimmed = mime::collapse_whitespace(out);
  // Whitespace left outside quotes means two words, not an address.
  Scanner scan(trimmed);
  while (scan.next())
    if (scan.top() && is_wsp(scan.ch())) return std::nullopt;
  return trimmed;
}

std::optional<Mailbox> parse_element(std::string_view e) {
  Scanner scan(e);
  size_t lt = std::string_view::npos, gt = std::string_view::npos;
  while (scan.next()) {
    if (!scan.top()) continue;
    const char c = scan.ch();
    if (c == '<') {
      if (lt != std::string_view::npos) return std::nullopt;
      lt = scan.pos();
    } else if (c == '>') {
      if (lt == std::string_view::npos || gt != std::string_view::npos) return std::nullopt;
      gt = scan.pos();
    } else if (gt != std::string_view::npos && !is_wsp(c)) {
      return std::nullopt;  // only CFWS may follow the angle-addr
    }
  }
  if (!scan.balanced() || (lt == std::string_view::npos) != (gt == std::string_view::npos))
    return std::nullopt;

  Mailbox m;
  std::optional<std::string> addr;
  if (lt != std::string_view::npos) {
    m.name = decode_phrase(e.substr(0, lt));
    addr = strip_cfws(e.substr(lt + 1, gt - lt - 1), nullptr);
  } else {
    std::string comment;
    addr = strip_cfws(e, &comment);
    m.name = mime::collapse_whitespace(mime::decode_words(comment));
  }
  if (!addr || addr->empty() || !parse_mailbox(*addr, /*allow_utf8=*/true)) return std::nullopt;
  m.address = std::move(*addr);
  return m;
}

bool blank(std::string_view e) {
  const std::optional<std::string> stripped = strip_cfws(e, nullptr);
  return stripped && stripped->empty();
}

}  // namespace

std::string Mailbox::str() const {
  const std::string n = mime::collapse_whitespace(name);
  if (n.empty()) return address;
  bool plain = true;
  for (unsigned char c : n) plain = plain && (mime::is_atext(c) || c == ' ' || c >= 0x80);
  // A name with "=?" in it is quoted: as an atom it could read back as an
  // encoded word (RFC 2047 5(3): none is recognised in a quoted-string) and
  // come back as another name (found by fuzzing).
  if (plain && n.find("=?") == std::string::npos) return n + " <" + address + ">";
  std::string q = "\"";
  for (char c : n) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\" <" + address + ">";
}

std::optional<Mailbox> Mailbox::parse(std::string_view s) { return parse_element(s); }

std::optional<std::vector<Mailbox>> Mailbox::parse_list(std::string_view s) {
  std::vector<Mailbox> out;
  bool in_group = false, in_angle = false;
  size_t start = 0;
  const auto take = [&](size_t end) {
    const std::string_view e = s.substr(start, end - start);
    start = end + 1;
    if (blank(e)) return true;
    std::optional<Mailbox> m = parse_element(e);
    if (!m) return false;
    out.push_back(std::move(*m));
    return true;
  };
  Scanner scan(s);
  while (scan.next()) {
    if (!scan.top()) continue;
    const char c = scan.ch();
    if (c == '<') in_angle = true;
    if (c == '>') in_angle = false;
    if (in_angle) continue;
    if (c == ',') {
      if (!take(scan.pos())) return std::nullopt;
    } else if (c == ':' && !in_group) {
      // A group: its display name is not kept, but must not hide an address.
      if (s.substr(start, scan.pos() - start).find('@') != std::string_view::npos)
        return std::nullopt;
      in_group = true;
      start = scan.pos() + 1;
    } else if (c == ';' && in_group) {
      if (!take(scan.pos())) return std::nullopt;
      in_group = false;
    } else if (c == ':' || c == ';') {
      return std::nullopt;
    }
  }
  if (!scan.balanced() || in_angle || in_group) return std::nullopt;
  if (!take(s.size())) return std::nullopt;
  return out;
}

}  // namespace tern
