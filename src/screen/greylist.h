// Greylist: the state machine of greylisting (as postgrey and Postfix's
// policy servers do it). A triplet (client network, sender, recipient)
// seen for the first time is deferred with 451 4.7.1; the same triplet
// retried after `delay` (and within `retry_window`) passes, and passes
// from then on until `expiry` without use. A network whose clients passed
// `auto_allow_after` times is allowed outright: real MTAs retry, most
// spam software does not.
//
// No I/O and no clock: `now` (unix seconds) comes in with every call.
// Every change of state is also returned as one line of text, which the
// store (screen/greylist_store.h) appends to its log; apply() replays
// such lines after a restart, the last line about a key winning.
//
// Record lines (fields separated by one space, addresses percent-encoded:
// "%" and the octets up to 0x20 and from 0x7f as %XX):
//   t FIRST LAST PASSED NETWORK SENDER RECIPIENT   one triplet's state
//   n PASSES LAST NETWORK                          one network's passes
//   - t NETWORK SENDER RECIPIENT / - n NETWORK     forgotten
//
// Thread-compatible: the server's event loop owns its one instance.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace tern {

struct GreylistOptions {
  int64_t delay = 300;            // seconds before a retry passes
  int64_t retry_window = 172800;  // a first retry later than this starts over (2 days)
  int64_t expiry =
      3024000;  // a passed triplet or allowed network unused this long is forgotten (35 days)
  size_t auto_allow_after = 5;  // passes that allow a whole network; 0: never
  size_t max_entries = 100000;  // triplets and networks kept, at most
};

enum class GreylistResult {
  kNew,      // first seen (or seen again after its window): deferred
  kEarly,    // retried before the delay: deferred
  kPassed,   // the first retry after the delay: accepted
  kKnown,    // passed before: accepted
  kAllowed,  // the network is auto-allowed: accepted
};
// "new", "early", "passed", "known", "allowed": the metric label.
const char* greylist_result_name(GreylistResult r);

struct GreylistDecision {
  GreylistResult result = GreylistResult::kNew;
  int64_t retry_in = 0;  // deferred: seconds until a retry can pass
  bool deferred() const {
    return result == GreylistResult::kNew || result == GreylistResult::kEarly;
  }
};

// The client network a triplet is keyed on: "192.0.2.0/24" for IPv4 (a
// pool of outgoing servers retries from another address of the same
// network), "2001:db8:1:2::/64" for IPv6. Empty when `ip` is not an
// address.
std::string greylist_network(std::string_view ip);

class Greylist {
 public:
  explicit Greylist(GreylistOptions options) : options_(options) {}

  // Decides one delivery attempt. `sender` and `recipient` are as the
  // caller spells them (the server: "<a@b>", lower-cased). Appends the
  // record lines of any change (each ending in "\n") to `records`.
  GreylistDecision check(const std::string& network, const std::string& sender,
                         const std::string& recipient, int64_t now, std::string* records);

  // Replays one record line (without its newline). False for a line that
  // is not one (skipped: a torn last line after a crash).
  bool apply(std::string_view line);

  // Forgets what has expired at `now`; appends the "-" lines to `records`
  // when given.
  void prune(int64_t now, std::string* records = nullptr);

  // The whole state as record lines: what a compacted log holds.
  std::string snapshot() const;

  size_t size() const { return triplets_.size() + networks_.size(); }

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // network, sender, rcpt
  struct Triplet {
    int64_t first = 0;
    int64_t last = 0;
    bool passed = false;
  };
  struct Network {
    uint64_t passes = 0;
    int64_t last = 0;
  };
  bool expired(const Triplet& t, int64_t now) const;
  bool network_allowed(const std::string& network, int64_t now) const;
  void make_room(int64_t now, std::string* records);
  static std::string triplet_record(const Key& k, const Triplet& t);
  static std::string network_record(const std::string& n, const Network& net);

  GreylistOptions options_;
  std::map<Key, Triplet> triplets_;
  std::map<std::string, Network> networks_;
};

}  // namespace tern
