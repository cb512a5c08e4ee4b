// An SMTP reply: a three-digit code, an RFC 3463 enhanced status code and
// one or more lines of text (RFC 5321 4.2).
//
// Value type; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tern {

struct Reply {
  int code = 0;          // 3 digits, 200..599
  std::string enhanced;  // "2.1.0"; empty where RFC 2034 forbids it (220 greeting, EHLO/HELO, 354)
  std::vector<std::string> lines;

  Reply() = default;
  Reply(int c, std::string esc, std::string text)
      : code(c), enhanced(std::move(esc)), lines{std::move(text)} {}
  Reply(int c, std::string esc, std::vector<std::string> text)
      : code(c), enhanced(std::move(esc)), lines(std::move(text)) {}

  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }

  // The bytes on the wire: "250-first\r\n250 last\r\n"; the enhanced code is
  // repeated on every line (RFC 2034 3).
  std::string wire() const;
  // One line for logs: "250 2.0.0 text".
  std::string brief() const;
};

}  // namespace tern
