// Header field writing. See header.h for the contracts.
#include "mime/header.h"

#include "mime/encoded_word.h"
#include "mime/text.h"

namespace tern::mime {
namespace {

constexpr size_t kMaxLiteralSpace = 32;  // longer whitespace runs are encoded
constexpr size_t kParamSegment = 60;     // longest attr=value written on one line
constexpr char kHex[] = "0123456789ABCDEF";

// A piece of text between whitespace, or a whitespace run, and whether it
// must go into an encoded word.
struct Token {
  std::string_view s;
  bool space = false;
  bool encode = false;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const bool space = is_wsp(s[i]);
    size_t j = i;
    while (j < s.size() && is_wsp(s[j]) == space) ++j;
    out.push_back({s.substr(i, j - i), space, false});
    i = j;
  }
  return out;
}

bool printable_word(std::string_view w) {
  for (unsigned char c : w)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

bool atom(std::string_view w) {
  for (char c : w)
    if (!is_atext(c)) return false;
  return true;
}

// Tokens alternate words and spaces. A space between two encoded tokens is
// encoded with them (else the decoder would drop it, RFC 2047 6.2); a word
// touching an encoded space is encoded too (an encoded word must be
// delimited by whitespace, RFC 2047 5 (1)). Repeats until nothing changes.
void spread_encoding(std::vector<Token>& t) {
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i].encode) continue;
      const bool left = i > 0 && t[i - 1].encode;
      const bool right = i + 1 < t.size() && t[i + 1].encode;
      const bool needs =
          t[i].space ? (left && right) : ((left && t[i - 1].space) || (right && t[i + 1].space));
      if (needs) t[i].encode = changed = true;
    }
  }
}

// Writes marked tokens: literal words after the whitespace that preceded
// them, each maximal run of encoded tokens as encoded words.
void write_tokens(FieldWriter& w, const std::vector<Token>& t) {
  std::string_view space = " ";
  for (size_t i = 0; i < t.size();) {
    if (!t[i].encode) {
      if (t[i].space)
        space = t[i].s;
      else
        w.add(t[i].s, space);
      ++i;
      continue;
    }
    std::string run;
    for (; i < t.size() && t[i].encode; ++i) run += t[i].s;
    const std::vector<std::string> words = encode_words(run, w.room(space));
    for (size_t k = 0; k < words.size(); ++k) w.add(words[k], k == 0 ? space : " ");
  }
}

}  // namespace

FieldWriter::FieldWriter(std::string_view name) : out_(name) { out_ += ':'; }

void FieldWriter::add(std::string_view token, std::string_view space) {
  const size_t line = out_.size() - line_start_;
  if (!space.empty() && line_has_token_ && line + space.size() + token.size() > kSoftLineLimit) {
    out_ += "\r\n";
    line_start_ = out_.size();
  }
  out_ += space;
  out_ += token;
  line_has_token_ = true;
}

size_t FieldWriter::room(std::string_view space) const {
  const size_t used = out_.size() - line_start_ + space.size();
  return used < kSoftLineLimit ? kSoftLineLimit - used : 0;
}

std::string FieldWriter::finish() {
  out_ += "\r\n";
  return std::move(out_);
}

bool valid_field_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxFieldName) return false;
  for (unsigned char c : name)
    if (c < 33 || c > 126 || c == ':') return false;
  return true;
}

std::string collapse_whitespace(std::string_view s) {
  std::string out;
  for (const Token& t : tokenize(trim(s))) out += t.space ? std::string_view(" ") : t.s;
  return out;
}

void add_unstructured(FieldWriter& w, std::string_view text) {
  std::vector<Token> t = tokenize(trim(text));
  for (Token& k : t) {
    k.encode = k.space
                   ? k.s.size() > kMaxLiteralSpace
                   : (!printable_word(k.s) || looks_encoded(k.s) || k.s.size() > kMaxLiteralWord);
  }
  spread_encoding(t);
  write_tokens(w, t);
}

void add_phrase(FieldWriter& w, std::string_view name) {
  const std::string collapsed = collapse_whitespace(name);
  std::vector<Token> t = tokenize(collapsed);
  const auto literal_atom = [](std::string_view s) {
    return atom(s) && !looks_encoded(s) && s.size() <= kMaxLiteralWord;
  };
  bool all_atoms = true, quotable = true;
  for (const Token& k : t) {
    if (k.space) continue;
    all_atoms = all_atoms && literal_atom(k.s);
    quotable =
        quotable && printable_word(k.s) && !looks_encoded(k.s) && k.s.size() <= kMaxLiteralWord;
  }
  if (!all_atoms && quotable) {
    // One quoted-string; folding between its words is FWS inside the quotes
    // (RFC 5322 3.2.4), which unfolding gives back unchanged.
    std::string_view space = " ";
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i].space) {
        space = t[i].s;
        continue;
      }
      std::string word;
      if (i == 0) word += '"';
      for (char c : t[i].s) {
        if (c == '"' || c == '\\') word += '\\';
        word += c;
      }
      if (i + 1 == t.size()) word += '"';
      w.add(word, space);
    }
    return;
  }
  for (Token& k : t) k.encode = !k.space && !literal_atom(k.s);
  spread_encoding(t);
  write_tokens(w, t);
}

void add_mailboxes(FieldWriter& w, const std::vector<Mailbox>& list) {
  for (size_t i = 0; i < list.size(); ++i) {
    const Mailbox& m = list[i];
    const bool last = i + 1 == list.size();
    if (collapse_whitespace(m.name).empty()) {
      w.add(last ? m.address : m.address + ",");
    } else {
      add_phrase(w, m.name);
      w.add("<" + m.address + (last ? ">" : ">,"));
    }
  }
}

void add_param(FieldWriter& w, std::string_view attribute, std::string_view value) {
  w.add(";", "");
  // RFC 2045 5.1: token = 1*<any CHAR except SPACE, CTLs, or tspecials>.
  constexpr std::string_view kTspecials = "()<>@,;:\\\"/[]?=";
  const auto token_char = [&](unsigned char c) {
    return c > 0x20 && c < 0x7f && kTspecials.find(static_cast<char>(c)) == std::string_view::npos;
  };
  bool token = !value.empty(), printable = true;
  for (unsigned char c : value) {
    token = token && token_char(c);
    printable = printable && c >= 0x20 && c < 0x7f;
  }
  const std::string head(attribute);
  if (value.size() + head.size() <= kParamSegment && !looks_encoded(value)) {
    if (token) return w.add(head + "=" + std::string(value));
    if (printable) {
      std::string q = head + "=\"";
      for (char c : value) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
      }
      return w.add(q + "\"");
    }
  }
  // RFC 2231: attribute-char is a token char other than "*", "'" and "%".
  const auto encode = [&](std::string_view piece) {
    std::string e;
    for (unsigned char c : piece) {
      if (token_char(c) && c != '*' && c != '\'' && c != '%') {
        e += static_cast<char>(c);
      } else {
        e += '%';
        e += kHex[c >> 4];
        e += kHex[c & 15];
      }
    }
    return e;
  };
  const std::string whole = encode(value);
  const std::string single = head + "*=utf-8''" + whole;
  if (single.size() + 2 <= kSoftLineLimit) return w.add(single);  // " " single ";"
  // Continuations: each line " attr*N*=<segment>;" within the soft limit,
  // cut between characters.
  const auto prefix = [&](size_t n) {
    return head + "*" + std::to_string(n) + "*=" + (n == 0 ? "utf-8''" : "");
  };
  std::vector<std::string> lines;
  std::string current = prefix(0);
  size_t start = current.size();
  for (size_t i = 0; i < value.size();) {
    const size_t step = utf8_step(value, i);
    const std::string e = encode(value.substr(i, step));
    // 2: the leading space and the trailing ";".
    if (current.size() > start && current.size() + e.size() + 2 > kSoftLineLimit) {
      lines.push_back(std::move(current));
      current = prefix(lines.size());
      start = current.size();
    }
    current += e;
    i += step;
  }
  lines.push_back(std::move(current));
  for (size_t n = 0; n < lines.size(); ++n) {
    if (n > 0) w.add(";", "");
    w.add(lines[n]);
  }
}

}  // namespace tern::mime
