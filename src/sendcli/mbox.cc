#include "sendcli/mbox.h"

namespace tern::sendcli {
namespace {

bool is_quoted_from(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] == '>') ++i;
  return i > 0 && line.substr(i, 5) == "From ";
}

// Drops the empty line that separated a message from the next postmark.
void finish(std::string* m) {
  if (m->ends_with("\r\n\r\n")) {
    m->resize(m->size() - 2);
  } else if (m->ends_with("\n\n")) {
    m->pop_back();
  }
}

}  // namespace

MboxContent split_mbox(std::string_view mbox) {
  MboxContent out;
  std::string current;
  bool in_message = false;
  bool after_empty = true;  // the start of the file counts as after an empty line
  size_t pos = 0;
  while (pos < mbox.size()) {
    const size_t nl = mbox.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? mbox.size() : nl + 1;
    std::string_view line = mbox.substr(pos, end - pos);
    std::string_view text = line;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    pos = end;
    if (after_empty && text.starts_with("From ")) {
      if (in_message) {
        finish(&current);
        out.messages.push_back(std::move(current));
        current.clear();
      }
      in_message = true;
      after_empty = false;
      continue;
    }
    if (!in_message) {
      if (!text.empty()) {
        out.error = "not an mbox: it does not start with a \"From \" line";
        out.messages.clear();
        return out;
      }
      continue;
    }
    if (is_quoted_from(text)) line.remove_prefix(1);
    current.append(line);
    after_empty = text.empty();
  }
  if (in_message) {
    finish(&current);
    out.messages.push_back(std::move(current));
  }
  return out;
}

}  // namespace tern::sendcli
