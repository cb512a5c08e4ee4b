// Fuzzes DKIM-Signature parsing (src/dkim/signature, RFC 6376 3.5) from a
// header field value, and the header hash input built from it.
// Invariants: an accepted signature has v=1, a non-empty d= and s=, an
// i= in d= or a subdomain of it (3.5), a 32-octet body hash, and h=
// naming From (5.4).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ascii.h"
#include "dkim/message.h"
#include "dkim/signature.h"
#include "dkim/tag_list.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tern::dkim::TagList tags;
  if (!tern::dkim::parse_tag_list(text, &tags).ok()) return 0;
  tern::dkim::Signature sig;
  if (!tern::dkim::parse_signature(tags, &sig).ok()) return 0;
  FUZZ_CHECK(sig.version == "1");
  FUZZ_CHECK(!sig.domain.empty() && !sig.selector.empty());
  FUZZ_CHECK(!sig.signature.empty());
  bool from = false;
  for (const std::string& h : sig.headers) from = from || tern::ascii_lower(h) == "from";
  FUZZ_CHECK(from);
  FUZZ_CHECK(sig.body_hash.size() == 32);
  const size_t at = sig.identity.rfind('@');
  FUZZ_CHECK(at != std::string::npos);
  FUZZ_CHECK(
      tern::dkim::is_same_or_subdomain(std::string_view(sig.identity).substr(at + 1), sig.domain));
  (void)sig.key_query();

  // The header hash input over a small message holding this signature.
  std::vector<tern::dkim::HeaderField> fields;
  fields.push_back({"From: a@example.com\r\n"});
  fields.push_back({"Subject: fuzz\r\n"});
  fields.push_back({"DKIM-Signature: " + std::string(text) + "\r\n"});
  (void)tern::dkim::header_hash_input(fields, 2, sig);
  (void)tern::dkim::field_value(fields[2]);
  return 0;
}
