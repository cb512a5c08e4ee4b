// Fuzzes DKIM key records (src/dkim/key_record, RFC 6376 3.6.1), the TXT
// text a selector's DNS name holds. Invariants: a revoked key (empty p=) is
// the only empty key; allows_hash() is total.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dkim/key_record.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tern::dkim::KeyRecord key;
  if (tern::dkim::parse_key_record(text, &key).ok()) {
    FUZZ_CHECK(key.revoked() == key.public_key.empty());
    (void)key.allows_hash("sha256");
    if (key.hashes.empty()) FUZZ_CHECK(key.allows_hash("sha256"));
  }
  return 0;
}
