#include "sendcli/addresses.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

namespace tern::sendcli {
namespace {

// Where a character of an address list stands: only kPlain ones structure
// the list (commas, brackets, colons); quoted strings and comments are
// opaque (RFC 5322 3.2.4, 3.2.2).
enum class At { kPlain, kQuoted, kComment };

// Classifies every octet of `s`; a backslash and the octet it escapes
// share the class of their surroundings.
std::vector<At> classify(std::string_view s) {
  std::vector<At> out(s.size(), At::kPlain);
  bool quoted = false;
  int comment = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted || comment > 0) {
      out[i] = quoted ? At::kQuoted : At::kComment;
      if (c == '\\' && i + 1 < s.size()) {
        out[i + 1] = out[i];
        ++i;
      } else if (quoted && c == '"') {
        quoted = false;
      } else if (!quoted && c == '(') {
        ++comment;
      } else if (!quoted && c == ')') {
        --comment;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      out[i] = At::kQuoted;
    } else if (c == '(') {
      comment = 1;
      out[i] = At::kComment;
    }
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// atext (RFC 5322 3.2.3), dots, and UTF-8 (RFC 6532).
bool is_local_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x80 || std::isalnum(u) || std::strchr("!#$%&'*+-/=?^_`{|}~.", c) != nullptr;
}

// qualify_list for one element (no top-level comma).
std::string qualify_element(std::string_view e, std::string_view domain) {
  const std::vector<At> at = classify(e);
  size_t lt = std::string_view::npos, gt = std::string_view::npos;
  size_t colon = std::string_view::npos, semi = std::string_view::npos;
  for (size_t i = 0; i < e.size(); ++i) {
    if (at[i] != At::kPlain) continue;
    if (e[i] == '@') return std::string(e);  // has a domain (or is beyond us)
    if (e[i] == '<' && lt == std::string_view::npos) lt = i;
    if (e[i] == '>' && lt != std::string_view::npos && gt == std::string_view::npos) gt = i;
    if (e[i] == ':' && lt == std::string_view::npos && colon == std::string_view::npos) colon = i;
    if (e[i] == ';') semi = i;
  }
  std::string out(e);
  if (lt != std::string_view::npos) {  // "Name <local>"
    if (gt == std::string_view::npos) return out;
    std::string_view inner = e.substr(lt + 1, gt - lt - 1);
    const bool blank = std::all_of(inner.begin(), inner.end(), is_space);
    if (blank || inner.find(':') != std::string_view::npos) return out;
    return out.insert(gt, "@" + std::string(domain));
  }
  // A bare word, maybe inside a group ("Team: a;") and among comments.
  const size_t from = colon == std::string_view::npos ? 0 : colon + 1;
  const size_t to = semi == std::string_view::npos || semi < from ? e.size() : semi;
  size_t word_begin = std::string_view::npos, word_end = 0;
  for (size_t i = from; i < to; ++i) {
    if (at[i] == At::kComment || is_space(e[i])) continue;
    if (at[i] != At::kPlain || !is_local_char(e[i])) return out;  // quoted or odd: leave it
    if (word_begin != std::string_view::npos && word_end != i) return out;  // a second word
    if (word_begin == std::string_view::npos) word_begin = i;
    word_end = i + 1;
  }
  if (word_begin == std::string_view::npos) return out;  // empty element or group
  return out.insert(word_end, "@" + std::string(domain));
}

}  // namespace

std::string qualify_list(std::string_view list, std::string_view domain) {
  if (domain.empty()) return std::string(list);
  const std::vector<At> at = classify(list);
  std::string out;
  size_t start = 0;
  int angle = 0;
  for (size_t i = 0; i <= list.size(); ++i) {
    if (i < list.size()) {
      if (at[i] != At::kPlain) continue;
      if (list[i] == '<') ++angle;
      if (list[i] == '>' && angle > 0) --angle;
      if (list[i] != ',' || angle > 0) continue;
    }
    out += qualify_element(list.substr(start, i - start), domain);
    if (i < list.size()) out += ',';
    start = i + 1;
  }
  return out;
}

std::optional<std::vector<Mailbox>> parse_qualified_list(std::string_view list,
                                                         std::string_view domain) {
  return Mailbox::parse_list(qualify_list(list, domain));
}

namespace {

bool same_address(std::string_view a, std::string_view b) {
  const size_t at_a = a.rfind('@'), at_b = b.rfind('@');
  if (at_a != at_b || a.substr(0, at_a) != b.substr(0, at_b)) return false;
  if (at_a == std::string_view::npos) return true;
  return std::equal(a.begin() + at_a, a.end(), b.begin() + at_b, b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

void add_unique(std::vector<std::string>* list, const std::vector<std::string>& more) {
  for (const std::string& m : more) {
    const bool seen = std::any_of(list->begin(), list->end(),
                                  [&](const std::string& s) { return same_address(s, m); });
    if (!seen) list->push_back(m);
  }
}

}  // namespace tern::sendcli
