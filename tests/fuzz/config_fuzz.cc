// Fuzzes the config loader (src/config): TOML text -> Config. A bad file
// must be a ConfigError naming the problem, never another exception or a
// crash. The values parsers (sizes, durations, listen addresses, domain
// names) are fuzzed on the same text.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/values.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const tern::Config c = tern::parse_config(text, "fuzz.toml");
    (void)tern::is_local_domain(c, "example.test");
  } catch (const tern::ConfigError& e) {
    FUZZ_CHECK(std::string_view(e.what()).find("fuzz.toml") != std::string_view::npos);
  }
  uint64_t bytes = 0;
  (void)tern::parse_size(text, &bytes);
  std::chrono::seconds d{};
  (void)tern::parse_duration(text, &d, std::chrono::seconds(86400 * 365));
  std::string host;
  uint16_t port = 0;
  if (tern::parse_listen_address(text, &host, &port).empty()) FUZZ_CHECK(port != 0);
  if (tern::is_valid_domain(text)) FUZZ_CHECK(!text.empty() && text.size() <= 255);
  return 0;
}
