// Fuzzes the MTA-STS policy parser and MX matching (src/sts/policy, RFC
// 8461 3.2, 4.1). Invariants: an accepted policy has max_age <= 31557600,
// only valid mx patterns, mx unless mode none, and its text() parses back
// to it; every pattern matches a host made from it; a rejected one says
// why.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_check.h"
#include "sts/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string error;
  std::optional<tern::sts::Policy> p = tern::sts::parse_policy(text, &error);
  if (!p) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  FUZZ_CHECK(p->max_age <= tern::sts::kMaxMaxAge);
  FUZZ_CHECK(!p->mx.empty() || p->mode == tern::sts::Mode::kNone);
  for (const std::string& m : p->mx) {
    FUZZ_CHECK(tern::sts::valid_mx_pattern(m));
    const std::string host = m.starts_with("*.") ? "x" + m.substr(1) : m;
    FUZZ_CHECK(p->allows(host));
  }
  std::string again;
  std::optional<tern::sts::Policy> back = tern::sts::parse_policy(p->text(), &again);
  FUZZ_CHECK(back && *back == *p);
  (void)tern::sts::mx_matches(text, text);
  return 0;
}
