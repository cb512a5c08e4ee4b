#include "dkim/message.h"

#include <unordered_map>

#include "core/ascii.h"

namespace tern::dkim {
bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string_view HeaderField::name() const {
  const size_t colon = raw.find(':');
  if (colon == std::string::npos) return {};
  size_t end = colon;
  while (end > 0 && (raw[end - 1] == ' ' || raw[end - 1] == '\t')) --end;
  return std::string_view(raw).substr(0, end);
}

bool HeaderField::is(std::string_view n) const {
  const std::string_view own = name();
  return !own.empty() && equals_ignore_case(own, n);
}

std::vector<HeaderField> split_header_fields(std::string_view section) {
  std::vector<HeaderField> fields;
  size_t pos = 0;
  while (pos < section.size()) {
    size_t eol = section.find("\r\n", pos);
    const size_t next = eol == std::string_view::npos ? section.size() : eol + 2;
    const std::string_view line = section.substr(pos, next - pos);
    const bool continuation = line[0] == ' ' || line[0] == '\t';
    if (continuation && !fields.empty()) {
      fields.back().raw += line;
    } else {
      fields.push_back(HeaderField{std::string(line)});
    }
    pos = next;
  }
  return fields;
}

void MessageSplitter::end_header(size_t section_end) {
  in_body_ = true;
  if (section_end > max_header_) {
    overflow_ = true;
  } else {
    header_.resize(section_end);
    fields_ = split_header_fields(header_);
  }
  header_.clear();
  header_.shrink_to_fit();
}

std::string_view MessageSplitter::write(std::string_view chunk) {
  if (in_body_) return overflow_ ? std::string_view() : chunk;
  if (overflow_) return {};
  const size_t old = header_.size();
  header_ += chunk;
  // A message starting with CRLF has an empty header section.
  if (header_.size() >= 2 && header_.compare(0, 2, "\r\n") == 0) {
    end_header(0);
    return chunk.substr(2 - old);
  }
  // The blank line: CRLF CRLF, possibly split across chunks.
  const size_t from = old >= 3 ? old - 3 : 0;
  const size_t blank = header_.find("\r\n\r\n", from);
  if (blank != std::string::npos) {
    end_header(blank + 2);
    return overflow_ ? std::string_view() : chunk.substr(blank + 4 - old);
  }
  if (header_.size() > max_header_) {
    // Nothing more is stored: the caller gives up on this message.
    overflow_ = true;
    header_.clear();
    header_.shrink_to_fit();
  }
  return {};
}

void MessageSplitter::finish() {
  if (in_body_ || overflow_) return;
  end_header(header_.size());
}

std::vector<const HeaderField*> select_fields(const std::vector<HeaderField>& fields,
                                              const std::vector<std::string>& names, size_t skip) {
  // Instances by lower-cased name, bottom-most last, so that each name in
  // h= takes the next one up in constant time: linear in fields + names,
  // however long a hostile h= list is.
  std::unordered_map<std::string, std::vector<const HeaderField*>> by_name;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i == skip || fields[i].name().empty()) continue;
    by_name[ascii_lower(fields[i].name())].push_back(&fields[i]);
  }
  std::vector<const HeaderField*> out;
  for (const std::string& name : names) {
    const auto it = by_name.find(ascii_lower(name));
    if (it == by_name.end() || it->second.empty()) continue;
    out.push_back(it->second.back());
    it->second.pop_back();
  }
  return out;
}

}  // namespace tern::dkim
