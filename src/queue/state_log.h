// The state log: what happened to each recipient of a queued message, as a
// list of typed records appended to a per-message file and replayed on
// load. The text format (one record a line, protected by a CRC-32) is
// specified in docs/queue_format.md; this is its only implementation.
//
// A recipient's life, as records:
//   try*  (ok | fail)  done        delivered, or failed and bounced
//   try*  warn  try* ...           a delay warning went out in between
// `done` means "nothing more to do for this recipient": any DSN it needed
// is already in the queue. A message leaves the queue when every recipient
// is done.
//
// No I/O. Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tern/reply.h"

namespace tern {

// How delivery to a recipient ended (RFC 3464 2.3.3 actions, plus pending).
enum class RcptOutcome : uint8_t {
  kPending,    // not finished: will be tried again
  kDelivered,  // final delivery here (a Maildir)
  kRelayed,    // handed to the next hop
  kExpanded,   // an alias: delivered to its local targets, remote ones queued anew
  kFailed,     // permanently failed (5xx, expired, bounced by the administrator)
};

// "pending", "delivered", "relayed", "expanded", "failed".
const char* outcome_name(RcptOutcome o);

// One recipient's state: the replay of its records.
struct RecipientState {
  RcptOutcome outcome = RcptOutcome::kPending;
  bool done = false;          // finished; any DSN it needed is queued
  bool next_hop_dsn = false;  // kRelayed: the next hop took DSN, so it reports success, not us
  bool delay_warned = false;  // a delay warning was queued
  uint32_t attempts = 0;      // try, ok and fail records
  int64_t last_attempt = 0;   // unix seconds of the last try/ok/fail; 0 if none
  int64_t next_attempt = 0;   // unix seconds; 0: as soon as possible
  Reply last_reply;           // of the last try/ok/fail; code 0 if none
  std::string remote_mta;     // host that gave last_reply; "" if it was ours
};

struct StateRecord {
  enum class Type : uint8_t {
    kTry,   // a transient failure: attempts+1, next attempt at `next`
    kOk,    // success: outcome = `outcome` (delivered, relayed or expanded)
    kFail,  // permanent failure
    kWarn,  // a delay warning was queued
    kDone,  // finished
  };
  Type type = Type::kDone;
  size_t rcpt = 0;                                // index into Envelope::rcpts
  int64_t at = 0;                                 // try/ok/fail/warn: when (unix seconds)
  int64_t next = 0;                               // try: next attempt
  RcptOutcome outcome = RcptOutcome::kDelivered;  // ok only
  bool next_hop_dsn = false;                      // ok only
  Reply reply;             // try/ok/fail; lines are joined with spaces when stored
  std::string remote_mta;  // try/ok/fail; may be empty

  static StateRecord Done(size_t rcpt) {
    StateRecord r;
    r.type = Type::kDone;
    r.rcpt = rcpt;
    return r;
  }
};

// The record as one line, ending in '\n'. Text fields are xtext, so the
// line holds no space inside a field, no control character and no
// non-ASCII octet, whatever a remote server said.
std::string encode_state_record(const StateRecord& r);

// Parses one line (without its '\n'). False if the line is not a whole,
// valid record: wrong CRC, unknown type, a required field missing or
// malformed. Unknown keys are ignored (they are covered by the CRC).
bool decode_state_record(std::string_view line, StateRecord* out);

// Applies one record to `states` (one entry per recipient). Records for an
// index beyond the vector are ignored; so are try/ok/fail/warn records for
// a recipient whose outcome is already final (a replayed duplicate after a
// crash cannot reopen it), and a `done` always sticks.
void apply_state_record(const StateRecord& r, std::vector<RecipientState>* states);

// Replays a whole log: every valid line in order, skipping invalid ones (a
// torn append, zero fill after a crash). Returns the number of lines skipped.
size_t replay_state_log(std::string_view text, std::vector<RecipientState>* states);

// CRC-32 (IEEE 802.3, as zlib's crc32()) of `data`.
uint32_t crc32(std::string_view data);

}  // namespace tern
