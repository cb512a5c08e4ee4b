// The fields of a log line, read back from its text: what the JSON lines
// and the journal fields of docs/logging.md are made of.
//
// The text is what the call sites format today ("session=ID EVENT
// client=IP key=value ..."), so the structured outputs need no change at
// any of them. It can be read back because log_value()/log_quoted() (log.h)
// write every value either bare (printable ASCII, no space, quote or
// backslash) or in double quotes with \" \\ \xNN escapes.
//
// The grammar, token by token (tokens are separated by spaces):
//   - a leading session=ID is the session;
//   - the first token after it that is a word (no '=') is the event, a
//     trailing ':' dropped ("relay:", "SIGHUP:");
//   - every token key=value whose key is [a-z][a-z0-9_]* is a field, its
//     value unquoted and unescaped (the first of a repeated key wins); a bare
//     value that is followed by free text loses a trailing ':' ("client=IP:
//     reason");
//   - anything else is free text, which only the whole line keeps.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern {

struct LogFields {
  std::string session;  // "" when the line has none
  std::string event;    // "" when the line starts with a field
  // In the order of the line, values decoded (bytes, maybe not UTF-8).
  std::vector<std::pair<std::string, std::string>> fields;
};

LogFields parse_log_fields(std::string_view text);

// `s` as the inside of a JSON string (RFC 8259 7): quote, backslash and
// control characters escaped, valid UTF-8 kept, any other byte U+FFFD.
std::string json_escape(std::string_view s);

}  // namespace tern
