#include "dkim/tag_list.h"

#include <fmt/format.h>

#include <unordered_set>

namespace tern::dkim {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// tag-name = ALPHA *ALNUMPUNC, ALNUMPUNC = ALPHA / DIGIT / "_"
bool valid_tag_name(std::string_view name) {
  if (name.empty() || !is_alpha(name[0])) return false;
  for (char c : name) {
    if (!is_alpha(c) && !is_digit(c) && c != '_') return false;
  }
  return true;
}

// VALCHAR = %x21-3A / %x3C-7E, plus FWS between tvals.
bool valid_value_octet(unsigned char c) {
  return is_fws(static_cast<char>(c)) || (c >= 0x21 && c <= 0x7e && c != ';') || c >= 0x80;
}

// [begin, end) of `s` without FWS at either end.
void trim(std::string_view s, size_t* begin, size_t* end) {
  while (*begin < *end && is_fws(s[*begin])) ++*begin;
  while (*end > *begin && is_fws(s[*end - 1])) --*end;
}

// For error messages: the text with control octets made visible, cut short.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 40)) {
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 40) out += "...";
  return out;
}

}  // namespace

const Tag* TagList::find(std::string_view name) const {
  for (const Tag& t : tags) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Status parse_tag_list(std::string_view text, TagList* out) {
  out->tags.clear();
  std::unordered_set<std::string_view> seen;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t semi = text.find(';', pos);
    const bool last = semi == std::string_view::npos;
    if (last) semi = text.size();
    size_t b = pos, e = semi;
    trim(text, &b, &e);
    if (b == e) {
      // Only whitespace: fine after the final ";" (or for an empty list),
      // not between two of them.
      if (!last) return Status::Permanent("empty tag-spec (\";;\") in tag-list");
      break;
    }
    const size_t eq = text.find('=', b);
    if (eq == std::string_view::npos || eq >= e) {
      return Status::Permanent(
          fmt::format("tag-spec without '=': \"{}\"", printable(text.substr(b, e - b))));
    }
    size_t nb = b, ne = eq;
    trim(text, &nb, &ne);
    const std::string_view name = text.substr(nb, ne - nb);
    if (!valid_tag_name(name)) {
      return Status::Permanent(fmt::format("invalid tag name \"{}\"", printable(name)));
    }
    size_t vb = eq + 1, ve = semi;
    for (size_t i = vb; i < ve; ++i) {
      if (!valid_value_octet(static_cast<unsigned char>(text[i]))) {
        return Status::Permanent(fmt::format("invalid octet 0x{:02x} in the value of tag \"{}\"",
                                             static_cast<unsigned char>(text[i]), name));
      }
    }
    trim(text, &vb, &ve);
    // A set, not a scan of the list: a hostile field may hold many tags.
    if (!seen.insert(name).second) {
      return Status::Permanent(fmt::format("tag \"{}\" appears twice", name));
    }
    out->tags.push_back(Tag{name, text.substr(vb, ve - vb), eq + 1, semi});
    if (last) break;
    pos = semi + 1;
  }
  return Status::Ok();
}

std::string strip_fws(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (!is_fws(c)) out += c;
  }
  return out;
}

std::vector<std::string> split_colon_list(std::string_view value) {
  std::vector<std::string> items;
  size_t pos = 0;
  while (true) {
    const size_t colon = value.find(':', pos);
    const size_t end = colon == std::string_view::npos ? value.size() : colon;
    size_t b = pos, e = end;
    trim(value, &b, &e);
    items.emplace_back(value.substr(b, e - b));
    if (colon == std::string_view::npos) break;
    pos = colon + 1;
  }
  return items;
}

}  // namespace tern::dkim
