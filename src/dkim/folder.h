// Folding a signature header field as it is built (DKIM-Signature, ARC
// headers): tokens separated by a space, a fold (CRLF SP) before a token
// that would pass 78 columns, base64 values broken at the width.
//
// Value type; thread-compatible; no I/O.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace tern::dkim {

// RFC 5322 2.1.1: lines SHOULD stay within 78 characters (CRLF excluded).
inline constexpr size_t kFoldWidth = 78;

// Builds a header field, folding (CRLF SP) before a token that would pass
// kFoldWidth. Every fold sits where DKIM allows FWS: before a tag, around the
// ":" of h=, or inside a base64 value (RFC 6376 3.2, 3.5).
class Folder {
 public:
  explicit Folder(std::string_view start) : out_(start), line_(start.size()) {}

  // Appends `token`, after a space unless `glued`.
  void add(std::string_view token, bool glued = false) {
    const size_t need = token.size() + (glued ? 0 : 1);
    if (line_ + need > kFoldWidth && line_ > 1) {
      fold();
    } else if (!glued) {
      out_ += ' ';
      ++line_;
    }
    out_ += token;
    line_ += token.size();
  }

  // Appends base64 text glued to what precedes, breaking it at the width.
  void add_base64(std::string_view b64) {
    while (!b64.empty()) {
      if (line_ >= kFoldWidth) fold();
      const size_t n = std::min(kFoldWidth - line_, b64.size());
      out_ += b64.substr(0, n);
      line_ += n;
      b64.remove_prefix(n);
    }
  }

  const std::string& text() const { return out_; }

 private:
  void fold() {
    out_ += "\r\n ";
    line_ = 1;
  }

  std::string out_;
  size_t line_;
};

}  // namespace tern::dkim
