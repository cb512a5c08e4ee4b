// Fuzzes the MTA-STS TXT record parser (src/sts/record, RFC 8461 3.1). The
// input is split at NUL octets into the strings of one TXT record, and at
// 0x01 into separate records. Invariants: a found record has an id of 1-32
// letters and digits; an invalid one says why; a found record's id parses
// back from "v=STSv1; id=<id>".
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "sts/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<tern::TxtRecord> records(1);
  std::string part;
  for (char c : input) {
    if (c == '\0') {
      records.back().push_back(part);
      part.clear();
    } else if (c == '\x01') {
      records.back().push_back(part);
      part.clear();
      records.emplace_back();
    } else {
      part += c;
    }
  }
  records.back().push_back(part);
  using Kind = tern::sts::RecordResult::Kind;
  for (const tern::sts::RecordResult& r :
       {tern::sts::parse_record(input), tern::sts::select_record(records)}) {
    if (r.kind == Kind::kFound) {
      FUZZ_CHECK(!r.id.empty() && r.id.size() <= 32);
      for (char c : r.id) FUZZ_CHECK(std::isalnum(static_cast<unsigned char>(c)));
      FUZZ_CHECK(tern::sts::parse_record("v=STSv1; id=" + r.id).id == r.id);
    } else if (r.kind == Kind::kInvalid) {
      FUZZ_CHECK(!r.error.empty());
    }
  }
  return 0;
}
