// Fuzzes the TLS-RPT record parser (src/tlsrpt/record, RFC 8460 3) and the
// result log's line parser (src/tlsrpt/log). The first octet chooses what
// is fed: bit 0 puts "v=TLSRPTv1; " in front of the record, bit 1 feeds
// the rest as a log line too. Invariants: an accepted record has at least
// one destination, each mailto: with an address and each https: URI
// starting with https://; a parsed log line formats back to a line that
// parses to the same result.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "tlsrpt/log.h"
#include "tlsrpt/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 2) {
    if (auto r = tern::tlsrpt::parse_result(text)) {
      const std::string line = tern::tlsrpt::format_result(*r);
      FUZZ_CHECK(line.find('\n') == std::string::npos);
      auto back = tern::tlsrpt::parse_result(line);
      FUZZ_CHECK(back.has_value());
      FUZZ_CHECK(tern::tlsrpt::format_result(*back) == line);
    }
  }
  if (data[0] & 1) text = "v=TLSRPTv1; " + text;
  std::string error;
  if (auto r = tern::tlsrpt::parse_record(text, &error)) {
    FUZZ_CHECK(!r->rua.empty());
    for (const auto& d : r->rua) {
      if (d.kind == tern::tlsrpt::ReportDestination::Kind::kMailto) {
        FUZZ_CHECK(d.address.find('@') != std::string::npos);
      } else {
        FUZZ_CHECK(d.uri.size() > 8);
      }
    }
  } else {
    FUZZ_CHECK(!error.empty());
  }
  std::string why;
  (void)tern::tlsrpt::select_record({text, text.substr(0, text.size() / 2)}, &why);
  return 0;
}
