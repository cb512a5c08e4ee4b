#include "tern/reply.h"

namespace tern {

std::string Reply::wire() const {
  std::string out;
  const std::string code_s = std::to_string(code);
  const size_t n = lines.empty() ? 1 : lines.size();
  for (size_t i = 0; i < n; ++i) {
    out += code_s;
    out += (i + 1 < n) ? '-' : ' ';
    if (!enhanced.empty()) {
      out += enhanced;
      if (!lines.empty() && !lines[i].empty()) out += ' ';
    }
    if (!lines.empty()) out += lines[i];
    out += "\r\n";
  }
  return out;
}

std::string Reply::brief() const {
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += " " + enhanced;
  if (!lines.empty()) out += " " + lines.back();
  return out;
}

}  // namespace tern
