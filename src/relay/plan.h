// The scheduler's decisions, as pure functions of a loaded message, the
// retry policy and the time: which recipients are due and where they go,
// what a courier's result means for the state log, which DSN (if any) to
// send and what to record once it is queued. The Asio side (scheduler.h)
// only executes these decisions; tests check them without I/O.
//
// RFC 3461 4.1 (NOTIFY) as applied here:
//   NEVER                       no report of any kind;
//   no NOTIFY given             failures, and delays (our policy: the RFC
//                               leaves it to the MTA);
//   FAILURE / DELAY / SUCCESS   each bit asks for that report; SUCCESS is
//                               reported by us for local delivery, alias
//                               expansion, and relaying to a next hop that
//                               does not take DSN.
// The null sender "<>" never gets a report (RFC 5321 6.1, 3461 6.2).
//
// No I/O. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "queue/store.h"
#include "relay/courier.h"
#include "relay/dsn.h"
#include "relay/schedule.h"

namespace tern {

using IsLocalDomain = std::function<bool(std::string_view domain)>;

// Local for a local domain, or for "<Postmaster>" without a domain;
// remote (domain lower-cased) otherwise.
Destination destination_of(const Address& to, const IsLocalDomain& is_local);

struct DeliveryGroup {
  Destination dest;
  std::vector<size_t> rcpts;  // indexes into envelope.rcpts, ascending
};

// A domain, or a domain and every domain under it (ETRN "@domain").
struct DomainPattern {
  std::string domain;  // lower-cased
  bool subdomains = false;
  // `d` (any case) is the domain, or with `subdomains` ends in ".domain".
  bool matches(std::string_view d) const;
  friend bool operator==(const DomainPattern&, const DomainPattern&) = default;
};

// The pending recipients a flush makes due at once, whatever their next
// attempt: every one (`tern queue flush`), or those whose domain matches
// one of `domains` (ETRN, RFC 1985).
struct FlushScope {
  bool all = false;
  std::vector<DomainPattern> domains;

  bool covers(const Address& to) const;
  void merge(const FlushScope& other);  // the union
};

// The pending recipients (no final outcome, not done) whose next attempt is
// at or before `now`, or whom `flush` covers, grouped by destination in the
// order of each group's first recipient.
std::vector<DeliveryGroup> due_groups(const QueuedMessage& m, int64_t now, const FlushScope& flush,
                                      const IsLocalDomain& is_local);
// The same with every pending recipient (`all`) or no flush.
inline std::vector<DeliveryGroup> due_groups(const QueuedMessage& m, int64_t now, bool all,
                                             const IsLocalDomain& is_local) {
  return due_groups(m, now, FlushScope{.all = all, .domains = {}}, is_local);
}

// The state record for recipient `rcpt`'s result `r` of an attempt made at
// `now` to `dest`: ok (delivered locally, relayed, expanded), fail (5xx; or
// a transient failure once the message is past p.max_age), or try with the
// next attempt from next_retry() (`unit` picks the jitter).
StateRecord result_record(const QueuedMessage& m, size_t rcpt, const RcptResult& r,
                          const Destination& dest, bool next_hop_dsn, const RetryPolicy& p,
                          int64_t now, double unit);

// The fail records of `tern queue bounce`: one per pending recipient.
std::vector<StateRecord> bounce_records(const QueuedMessage& m, int64_t now);

// What to tell the sender now, and what to record once it is queued.
struct Notice {
  std::vector<DsnRecipient> entries;  // empty: no DSN to send
  std::vector<StateRecord> records;   // done for finished recipients, warn for warned ones
};

// Every recipient with a final outcome and not yet done becomes done, with
// a DSN entry if NOTIFY (above) asks for one; every pending recipient tried
// at least once, not yet warned, whose message is older than
// p.delay_warning gets a "delayed" entry and a warn record, if NOTIFY asks.
Notice plan_notice(const QueuedMessage& m, const RetryPolicy& p);

// True when `results` (a pass's records), applied to m's state, finish every
// recipient with no DSN to send: the scheduler may then remove the message
// without writing them, the removal being the durable record (a crash
// before it repeats the deliveries, as a crash before an append would).
bool finishes_quietly(const QueuedMessage& m, const std::vector<StateRecord>& results,
                      const RetryPolicy& p);

// True if the sender of `m` wants a report of `action` for recipient `i`.
bool wants_report(const QueuedMessage& m, size_t i, DsnAction action);

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// When the message next needs the scheduler: `now`-or-earlier (its
// earliest value, 0) if a recipient has a final outcome not yet done, else
// the earliest next_attempt of a pending recipient, else kNever.
int64_t next_due(const QueuedMessage& m);

// "451 4.3.0 text" (lines joined by spaces); "" for code 0.
std::string reply_line(const Reply& r);

// The envelope of a DSN about `m`, from "<>" to m's sender, with id `id`,
// queued at `now`. 8BITMIME/SMTPUTF8 are set when the returned content or
// the address need them; REQUIRETLS when m has it (RFC 8689 5).
Envelope dsn_envelope(const QueuedMessage& m, const std::string& id, int64_t now,
                      std::string_view returned);

// The envelope that forwards recipient `rcpt` of `m` to `targets` (alias
// targets outside the local domains): the same sender and DSN parameters;
// each target keeps rcpt's NOTIFY, and ORCPT (rcpt's own, or rcpt itself).
Envelope forward_envelope(const QueuedMessage& m, size_t rcpt,
                          const std::vector<std::string>& targets, const std::string& id,
                          int64_t now);

}  // namespace tern
