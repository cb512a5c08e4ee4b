// Fuzzes the queue's per-message state log (src/queue/state_log). Each
// record line carries a CRC-32, which random mutations almost never get
// right; so each input line is decoded twice: as it is, and with its
// correct CRC appended (" #xxxxxxxx"), which lets the fuzzer reach the
// field parser. Invariants: a decoded record encodes to a line that
// decodes to the same record and re-encodes identically; replay never
// crashes and counts skipped lines correctly; applying records never
// indexes past the recipient list.
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "queue/state_log.h"

namespace {

bool same(const tern::StateRecord& a, const tern::StateRecord& b) {
  return a.type == b.type && a.rcpt == b.rcpt && a.at == b.at && a.next == b.next &&
         a.outcome == b.outcome && a.next_hop_dsn == b.next_hop_dsn &&
         a.reply.code == b.reply.code && a.reply.enhanced == b.reply.enhanced &&
         a.remote_mta == b.remote_mta;
}

void check_line(std::string_view line, std::vector<tern::RecipientState>* states) {
  tern::StateRecord r;
  if (!tern::decode_state_record(line, &r)) return;
  const std::string enc = tern::encode_state_record(r);
  FUZZ_CHECK(!enc.empty() && enc.back() == '\n');
  FUZZ_CHECK(enc.find('\n') == enc.size() - 1);
  tern::StateRecord back;
  FUZZ_CHECK(tern::decode_state_record(std::string_view(enc).substr(0, enc.size() - 1), &back));
  FUZZ_CHECK(same(r, back));
  FUZZ_CHECK(tern::encode_state_record(back) == enc);
  tern::apply_state_record(r, states);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<tern::RecipientState> states(3);
  std::string with_crcs;
  size_t lines = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++lines;
    check_line(line, &states);
    char crc[16];
    std::snprintf(crc, sizeof crc, " #%08" PRIx32, tern::crc32(line));
    const std::string sealed = std::string(line) + crc;
    check_line(sealed, &states);
    with_crcs += sealed + "\n";
  }
  std::vector<tern::RecipientState> replayed(3);
  FUZZ_CHECK(tern::replay_state_log(text, &replayed) <= lines);
  std::vector<tern::RecipientState> sealed(3);
  (void)tern::replay_state_log(with_crcs, &sealed);
  for (const auto& s : sealed) (void)tern::outcome_name(s.outcome);
  return 0;
}
