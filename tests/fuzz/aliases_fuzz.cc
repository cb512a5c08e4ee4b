// Fuzzes the aliases file (src/delivery/aliases). The text is parsed as a
// whole file; then every address-looking word in it is expanded.
// Invariants (aliases.h): a failed parse leaves the rules unchanged;
// expansion never yields nothing, terminates, and yields no duplicates
// under alias_key().
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/aliases.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tern::Aliases aliases;
  FUZZ_CHECK(aliases.parse("a@x.test: b@x.test\n", "base").ok());
  if (!aliases.parse(text, "fuzz").ok()) {
    // Unchanged: the base rule still applies.
    FUZZ_CHECK(aliases.matches("a@x.test"));
    return 0;
  }
  // Words with an '@' are candidate recipients, as are a few fixed ones.
  std::vector<std::string> words = {"a@x.test", "postmaster@x.test", "nobody@nowhere.test"};
  std::string word;
  for (char c : std::string(text) + " ") {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':') {
      if (word.find('@') != std::string::npos && words.size() < 64) words.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  for (const std::string& w : words) {
    (void)aliases.matches(w);
    for (int mailboxes = 0; mailboxes < 2; ++mailboxes) {
      auto is_mailbox = [&](const std::string& a) { return mailboxes && a.size() % 2 == 0; };
      const std::vector<std::string> out = aliases.expand(w, is_mailbox);
      FUZZ_CHECK(!out.empty());
      std::set<std::string> keys;
      for (const std::string& a : out) FUZZ_CHECK(keys.insert(tern::alias_key(a)).second);
    }
  }
  return 0;
}
