// RFC 2047 encoded words. See encoded_word.h for the contracts.
#include "mime/encoded_word.h"

#include <algorithm>

#include "core/base64.h"
#include "mime/text.h"

namespace tern::mime {
namespace {

constexpr std::string_view kBPrefix = "=?UTF-8?B?";
constexpr std::string_view kQPrefix = "=?UTF-8?Q?";
constexpr size_t kOverhead = 12;  // prefix (10) + "?="
constexpr char kHex[] = "0123456789ABCDEF";

// RFC 2047 5 (3): in a phrase only letters, digits and "!*+-/" may stand for
// themselves (plus "_" for space). Using this set everywhere keeps one
// encoder valid in every context.
bool q_literal(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '!' ||
         c == '*' || c == '+' || c == '-' || c == '/';
}

size_t q_len(unsigned char c) { return q_literal(c) || c == ' ' ? 1 : 3; }

void q_append(std::string* out, unsigned char c) {
  if (c == ' ') {
    *out += '_';
  } else if (q_literal(c)) {
    *out += static_cast<char>(c);
  } else {
    *out += '=';
    *out += kHex[c >> 4];
    *out += kHex[c & 15];
  }
}

size_t b_len(size_t octets) { return (octets + 2) / 3 * 4; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> decode_word(std::string_view w) {
  if (w.size() < 8 || w.substr(0, 2) != "=?" || w.substr(w.size() - 2) != "?=") return std::nullopt;
  const std::string_view inner = w.substr(2, w.size() - 4);
  const size_t q1 = inner.find('?');
  if (q1 == std::string_view::npos || q1 + 2 >= inner.size() || inner[q1 + 2] != '?')
    return std::nullopt;
  std::string charset = ascii_lower(inner.substr(0, q1));
  if (const size_t star = charset.find('*'); star != std::string::npos) charset.resize(star);
  if (charset != "utf-8" && charset != "us-ascii") return std::nullopt;
  const char enc = inner[q1 + 1];
  const std::string_view payload = inner.substr(q1 + 3);
  if (payload.find('?') != std::string_view::npos) return std::nullopt;
  if (enc == 'B' || enc == 'b') return base64_decode(payload);
  if (enc != 'Q' && enc != 'q') return std::nullopt;
  std::string out;
  for (size_t i = 0; i < payload.size(); ++i) {
    const char c = payload[i];
    if (c == '_') {
      out += ' ';
    } else if (c == '=') {
      if (i + 2 >= payload.size()) return std::nullopt;
      const int hi = hex_value(payload[i + 1]), lo = hex_value(payload[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f) {
      out += c;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

bool looks_encoded(std::string_view word) {
  const size_t open = word.find("=?");
  return open != std::string_view::npos && word.find("?=", open + 2) != std::string_view::npos;
}

std::vector<std::string> encode_words(std::string_view text, size_t first_max) {
  size_t q_total = 0;
  for (unsigned char c : text) q_total += q_len(c);
  const bool use_b = b_len(text.size()) < q_total;  // ties go to Q (readable)

  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    size_t limit = words.empty() ? std::min(first_max, kMaxEncodedWord) : kMaxEncodedWord;
    // Does the first character fit at all? (4 octets: B 8, Q 12.)
    const size_t first = utf8_step(text, i);
    size_t first_cost = 0;
    for (size_t k = 0; k < first; ++k) first_cost += q_len(static_cast<unsigned char>(text[i + k]));
    if (kOverhead + (use_b ? b_len(first) : first_cost) > limit) limit = kMaxEncodedWord;
    const size_t budget = limit - kOverhead;

    // Take whole characters while they fit, remembering the last space.
    size_t end = i, cost = 0, after_space = i;
    while (end < text.size()) {
      const size_t step = utf8_step(text, end);
      size_t next_cost;
      if (use_b) {
        next_cost = b_len(end + step - i);
      } else {
        next_cost = cost;
        for (size_t k = 0; k < step; ++k)
          next_cost += q_len(static_cast<unsigned char>(text[end + k]));
      }
      if (next_cost > budget) break;
      cost = next_cost;
      end += step;
      if (text[end - 1] == ' ') after_space = end;
    }
    // Cut after a space when that keeps the word at least half full: the
    // split is then invisible even to decoders that wrongly keep the
    // whitespace between adjacent encoded words (they show a double space
    // instead of a broken word).
    if (end < text.size() && after_space > i && after_space - i >= (end - i) / 2) end = after_space;
    const std::string_view chunk = text.substr(i, end - i);
    std::string w(use_b ? kBPrefix : kQPrefix);
    if (use_b) {
      w += base64_encode(chunk);
    } else {
      for (unsigned char c : chunk) q_append(&w, c);
    }
    w += "?=";
    words.push_back(std::move(w));
    i = end;
  }
  return words;
}

std::string decode_words(std::string_view text) {
  std::string out;
  std::string pending_space;  // whitespace after an encoded word, kept unless another follows
  bool after_encoded = false;
  size_t i = 0;
  while (i < text.size()) {
    if (is_wsp(text[i])) {
      size_t j = i;
      while (j < text.size() && is_wsp(text[j])) ++j;
      if (after_encoded)
        pending_space = std::string(text.substr(i, j - i));
      else
        out += text.substr(i, j - i);
      i = j;
      continue;
    }
    size_t j = i;
    while (j < text.size() && !is_wsp(text[j])) ++j;
    const std::string_view word = text.substr(i, j - i);
    if (auto decoded = decode_word(word)) {
      pending_space.clear();  // dropped between two encoded words
      out += *decoded;
      after_encoded = true;
    } else {
      out += pending_space;
      pending_space.clear();
      out += word;
      after_encoded = false;
    }
    i = j;
  }
  out += pending_space;
  return out;
}

}  // namespace tern::mime
