// Fuzzes the queue's per-message state log (src/queue/state_log). Each
// record line carries a CRC-32, which random mutations almost never get
// right; so each input line is decoded twice: as it is, and with its
// correct CRC appended (" #xxxxxxxx"), which lets the fuzzer reach the
// field parser. Invariants: a decoded record encodes to a line that
// decodes to a record with the same effect and re-encodes identically; replay never
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

// A reply's text as the log stores it: lines joined with spaces; no line
// and one empty line are the same ("text=" is never written).
std::string joined(const tern::Reply& r) {
  std::string out;
  for (const std::string& line : r.lines) out += (out.empty() ? "" : " ") + line;
  return out;
}

bool same_state(const tern::RecipientState& a, const tern::RecipientState& b) {
  return a.outcome == b.outcome && a.done == b.done && a.next_hop_dsn == b.next_hop_dsn &&
         a.delay_warned == b.delay_warned && a.attempts == b.attempts &&
         a.last_attempt == b.last_attempt && a.next_attempt == b.next_attempt &&
         a.last_reply.code == b.last_reply.code && a.last_reply.enhanced == b.last_reply.enhanced &&
         joined(a.last_reply) == joined(b.last_reply) && a.remote_mta == b.remote_mta;
}

void check_line(std::string_view line, std::vector<tern::RecipientState>* states) {
  tern::StateRecord r;
  if (!tern::decode_state_record(line, &r)) return;
  const std::string enc = tern::encode_state_record(r);
  FUZZ_CHECK(!enc.empty() && enc.back() == '\n');
  FUZZ_CHECK(enc.find('\n') == enc.size() - 1);
  tern::StateRecord back;
  FUZZ_CHECK(tern::decode_state_record(std::string_view(enc).substr(0, enc.size() - 1), &back));
  // Fields of other types (dsn= on a try) are read but never written, so
  // the record as written is what must survive, and what it does.
  FUZZ_CHECK(tern::encode_state_record(back) == enc);
  std::vector<tern::RecipientState> a = *states, b = *states;
  tern::apply_state_record(r, &a);
  tern::apply_state_record(back, &b);
  for (size_t i = 0; i < a.size(); ++i) FUZZ_CHECK(same_state(a[i], b[i]));
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
