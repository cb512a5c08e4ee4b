// Fuzzes the DKIM tag=value list parser (src/dkim/tag_list, RFC 6376
// 3.2). Invariants: tag names are non-empty and unique; each value is the
// text between "=" and ";" (its recorded offsets) without surrounding
// whitespace.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "dkim/tag_list.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tern::dkim::TagList tags;
  if (tern::dkim::parse_tag_list(text, &tags).ok()) {
    std::set<std::string_view> names;
    for (const tern::dkim::Tag& t : tags.tags) {
      FUZZ_CHECK(!t.name.empty());
      FUZZ_CHECK(names.insert(t.name).second);
      FUZZ_CHECK(t.value_begin <= t.value_end && t.value_end <= text.size());
      // The offsets span "=" to ";", whitespace included (tag_list.h).
      FUZZ_CHECK(t.value_begin > 0 && text[t.value_begin - 1] == '=');
      FUZZ_CHECK(t.value_end == text.size() || text[t.value_end] == ';');
      const std::string_view span = text.substr(t.value_begin, t.value_end - t.value_begin);
      FUZZ_CHECK(span.find(t.value) != std::string_view::npos);
      if (!t.value.empty()) {
        FUZZ_CHECK(!tern::dkim::is_fws(t.value.front()) && !tern::dkim::is_fws(t.value.back()));
      }
      FUZZ_CHECK(tags.find(t.name) == &t);
      const std::string stripped = tern::dkim::strip_fws(t.value);
      for (char c : stripped) FUZZ_CHECK(!tern::dkim::is_fws(c));
      (void)tern::dkim::split_colon_list(t.value);
    }
  }
  return 0;
}
