// Fuzzes SPF macro expansion (src/spf/macro, RFC 7208 7). The first octet
// picks the context (domain-spec or explanation) and the client address
// family. Invariants: check_macro_string() and expand_macros() agree on
// what is well-formed; an expansion without macros is the text itself
// (with %% %_ %- replaced); a domain-spec expansion holds no space.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "spf/macro.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto context =
      (data[0] & 1) ? tern::spf::MacroContext::kExplanation : tern::spf::MacroContext::kDomainSpec;
  const std::string_view s(reinterpret_cast<const char*>(data) + 1, size - 1);

  tern::spf::MacroValues v;
  v.sender = "strong-bad@email.example.com";
  v.domain = "email.example.com";
  v.ip = (data[0] & 2) ? asio::ip::make_address("2001:db8::cb01")
                       : asio::ip::make_address("192.0.2.3");
  v.helo = "mx.example.org";
  v.validated = "mx.example.org";
  v.receiver = "receiver.example.net";
  v.timestamp = 1795424400;

  const std::string problem = tern::spf::check_macro_string(s, context);
  const tern::spf::Expansion e = tern::spf::expand_macros(s, v, context);
  FUZZ_CHECK(e.ok == problem.empty());
  FUZZ_CHECK(e.ok || !e.error.empty());
  if (e.ok && s.find('%') == std::string_view::npos) FUZZ_CHECK(e.value == s);
  (void)tern::spf::validated_name_needed(s);
  return 0;
}
