// Fuzzes mailbox and path parsing (src/core/address). Invariants: the RFC
// 5321 4.5.3.1 limits hold for what is accepted; without allow_utf8 nothing
// non-ASCII gets through; str() is the input, less quotes that are not needed;
// a parsed mailbox parses again from str() to the same address; a path "<x>" gives what
// parse_mailbox(x) gives.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "tern/address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const bool utf8 = flags & 1;
  const std::string_view s(reinterpret_cast<const char*>(data) + 1, size - 1);

  if (auto a = tern::parse_mailbox(s, utf8)) {
    FUZZ_CHECK(!a->local.empty() && !a->domain.empty());
    FUZZ_CHECK(a->local.size() <= 64);
    FUZZ_CHECK(a->domain.size() <= 255);
    if (!utf8) FUZZ_CHECK(!a->needs_utf8());
    // Quotes that are not needed are dropped (RFC 5321 4.1.2, minimum
    // quoting: "me"@x is me@x); anything else comes back as written.
    if (s.find('"') == std::string_view::npos) FUZZ_CHECK(a->str() == s);
    FUZZ_CHECK(a->str().size() <= s.size());
    auto again = tern::parse_mailbox(a->str(), utf8);
    FUZZ_CHECK(again && *again == *a);
    if (s.size() + 2 <= 256) {  // a path's limit, brackets included
      auto path = tern::parse_path("<" + std::string(s) + ">", false, false, utf8);
      FUZZ_CHECK(path && *path == *a);
    }
    (void)a->local_base();
    (void)a->domain_lower();
  }
  if (auto p = tern::parse_path(s, flags & 2, flags & 4, utf8)) {
    FUZZ_CHECK(s.size() <= 256);
    if (!utf8) FUZZ_CHECK(!p->needs_utf8());
    if (p->is_null()) FUZZ_CHECK(flags & 2);
    if (!p->is_null() && p->domain.empty()) FUZZ_CHECK(flags & 4);
    (void)p->local_base();
  }
  return 0;
}
