// Fuzzes DMARC record parsing (src/dmarc/record, RFC 7489 6.3, 6.4) and
// report URIs. The first octet chooses whether "v=DMARC1; " is put in
// front. Invariants: an accepted record has pct 0-100 and only mailto:
// report URIs with an address; a report URI's text() parses back to it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dmarc/record.h"
#include "fuzz_check.h"

namespace {

void check_uri(const tern::dmarc::ReportUri& u) {
  FUZZ_CHECK(!u.address.empty());
  (void)u.domain();
  tern::dmarc::ReportUri back;
  bool mailto = false;
  FUZZ_CHECK(tern::dmarc::parse_report_uri(u.text(), &back, &mailto));
  FUZZ_CHECK(mailto && back == u);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) text = "v=DMARC1; " + text;
  (void)tern::dmarc::is_dmarc_record(text);
  std::string error;
  if (auto r = tern::dmarc::parse_record(text, &error)) {
    FUZZ_CHECK(r->pct >= 0 && r->pct <= 100);
    for (const auto& u : r->rua) check_uri(u);
    for (const auto& u : r->ruf) check_uri(u);
    (void)tern::dmarc::policy_name(r->p);
  } else {
    FUZZ_CHECK(!error.empty());
  }
  tern::dmarc::ReportUri u;
  bool mailto = false;
  if (tern::dmarc::parse_report_uri(std::string_view(text).substr(data[0] & 1 ? 10 : 0), &u,
                                    &mailto) &&
      mailto) {
    check_uri(u);
  }
  return 0;
}
