// Fuzzes the client's reply reader (src/core/reply_parser) and the EHLO
// capability parser. Input: one octet choosing the chunk size, then what
// a server sends. Invariants: the replies and the error do not depend on
// how the input is cut; codes are 2xx..5xx with a second digit 0..5; a
// reply's wire() form parses back to the same reply; nothing buffered
// exceeds what was fed.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/reply_parser.h"
#include "fuzz_check.h"

namespace {

struct Parsed {
  std::vector<tern::Reply> replies;
  tern::ReplyParser::Error error = tern::ReplyParser::Error::kNone;
};

bool same(const tern::Reply& a, const tern::Reply& b) {
  return a.code == b.code && a.enhanced == b.enhanced && a.lines == b.lines;
}

Parsed parse(std::string_view in, size_t chunk, tern::ReplyParser::Limits limits) {
  tern::ReplyParser p(limits);
  Parsed out;
  size_t fed = 0;
  for (size_t pos = 0; pos < in.size(); pos += chunk) {
    const std::string_view part = in.substr(pos, chunk);
    p.feed(part);
    fed += part.size();
    while (std::optional<tern::Reply> r = p.next()) {
      FUZZ_CHECK(!p.raw_lines().empty());
      out.replies.push_back(std::move(*r));
    }
    FUZZ_CHECK(p.buffered() <= fed);
  }
  out.error = p.error();
  if (out.error != tern::ReplyParser::Error::kNone) FUZZ_CHECK(!p.error_detail().empty());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 32;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  tern::ReplyParser::Limits limits;
  limits.max_line = 256;
  limits.max_lines = 8;

  const Parsed whole = parse(in, in.size() + 1, limits);
  const Parsed cut = parse(in, chunk, limits);
  FUZZ_CHECK(whole.error == cut.error);
  FUZZ_CHECK(whole.replies.size() == cut.replies.size());
  for (size_t i = 0; i < whole.replies.size(); ++i) {
    const tern::Reply& r = whole.replies[i];
    FUZZ_CHECK(same(r, cut.replies[i]));
    FUZZ_CHECK(r.code >= 200 && r.code <= 559 && (r.code / 10) % 10 <= 5);
    FUZZ_CHECK(!r.lines.empty());
    if (!r.enhanced.empty()) FUZZ_CHECK(r.enhanced[0] - '0' == r.code / 100);
    // wire() gives back an equivalent of what was read (reply_parser.h).
    tern::ReplyParser again;
    again.feed(r.wire());
    std::optional<tern::Reply> back = again.next();
    FUZZ_CHECK(back && same(*back, r));
    if (r.code == 250) {
      const tern::Capabilities caps = tern::parse_ehlo_reply(r);
      for (const std::string& m : caps.auth) FUZZ_CHECK(!m.empty());
    }
    for (int klass : {2, 4, 5}) {
      std::string_view text = r.lines[0];
      const std::string code = tern::take_enhanced_code(&text, klass);
      if (code.empty()) FUZZ_CHECK(text == r.lines[0]);
    }
  }
  return 0;
}
