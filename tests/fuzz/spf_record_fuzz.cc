// Fuzzes SPF record parsing (src/spf/record, RFC 7208 4.5, 5, 6). The
// first octet chooses whether the text is prefixed with "v=spf1 ", so
// mutations reach the terms. Invariants: an accepted record's CIDR lengths
// are in range, ip4/ip6 mechanisms carry an address of their family, and
// every domain-spec passes the macro syntax check; a record is well-formed
// or says why not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "spf/macro.h"
#include "spf/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) text = "v=spf1 " + text;
  (void)tern::spf::is_spf_record(text);
  const tern::spf::ParsedRecord parsed = tern::spf::parse_record(text);
  FUZZ_CHECK(parsed.record.has_value() != !parsed.error.empty());
  if (parsed.record) {
    FUZZ_CHECK(tern::spf::is_spf_record(text));
    for (const tern::spf::Mechanism& m : parsed.record->mechanisms) {
      FUZZ_CHECK(m.cidr4 >= 0 && m.cidr4 <= 32);
      FUZZ_CHECK(m.cidr6 >= 0 && m.cidr6 <= 128);
      if (m.kind == tern::spf::MechanismKind::kIp4) FUZZ_CHECK(m.network.is_v4());
      if (m.kind == tern::spf::MechanismKind::kIp6) FUZZ_CHECK(m.network.is_v6());
      if (!m.domain_spec.empty()) {
        FUZZ_CHECK(
            tern::spf::check_macro_string(m.domain_spec, tern::spf::MacroContext::kDomainSpec)
                .empty());
      }
      FUZZ_CHECK(!m.text.empty());
      (void)m.queries_dns();
    }
    (void)parsed.record->has_all();
  }
  // select_record over the text split into TXT records at NUL octets.
  std::vector<tern::TxtRecord> txts;
  for (size_t pos = 0; pos <= text.size();) {
    size_t end = text.find('\0', pos);
    if (end == std::string::npos) end = text.size();
    txts.push_back(tern::TxtRecord{text.substr(pos, end - pos)});
    pos = end + 1;
  }
  const tern::spf::RecordSelection sel = tern::spf::select_record(txts);
  if (sel.status == tern::spf::RecordSelection::kFound)
    FUZZ_CHECK(tern::spf::is_spf_record(sel.text));
  return 0;
}
