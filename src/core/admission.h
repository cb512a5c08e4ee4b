// Admission: the limits against abuse (issue 13), as counts with no I/O.
//
// Per client address and per its network (IPv4 /24, IPv6 /64, where one
// host usually has many addresses): concurrent connections, new
// connections per minute, messages (MAIL FROM) and recipients (RCPT TO
// accepted by the directory) per hour. Per authenticated user: messages,
// recipients, and recipients at other domains per hour, so that a leaked
// password does not make the server a spam cannon.
//
// Which clients are exempt (loopback, trusted_networks) is the caller's
// decision: it passes "" as the address of an exempt client, whose user
// limits still apply (a webmail on loopback with a stolen password is the
// case those limits exist for).
//
// Rates are SlidingWindow counters (sliding_window.h): "N per hour" means
// at most about N in any hour. What is counted follows Postfix's anvil(8):
// every connection attempt (refused ones too, so a client that hammers
// stays refused), every MAIL FROM and RCPT TO that was let through.
//
// Memory is bounded: an entry goes once its windows are empty and it has
// no live connection, and each table holds at most max_entries. When a
// flood of distinct addresses fills it, the least recently used entry
// without a live connection is evicted (counted in LimitCounters::evicted):
// its counts restart from zero. That is no worse than the flood itself (an
// attacker with that many addresses is past per-address limits anyway), and
// it never refuses a newcomer for the table's sake. Entries with a live
// connection are never evicted, so concurrency counts stay exact; there are
// at most two per connection (address and network), bounded by
// limits.max_connections.
//
// The clock is the caller's: each call takes `now`. Thread-compatible (the
// server calls it from its event loop only).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/sliding_window.h"
#include "tern/reply.h"

namespace tern {

// Every value 0 means "no limit". The server fills these from [limits]
// (config.h: Limits, where the defaults are).
struct AdmissionLimits {
  uint64_t connections_per_ip = 0;  // at once
  uint64_t connections_per_network = 0;
  uint64_t connection_rate_per_ip = 0;  // new connections per minute
  uint64_t connection_rate_per_network = 0;
  uint64_t messages_per_hour_per_ip = 0;
  uint64_t messages_per_hour_per_network = 0;
  uint64_t recipients_per_hour_per_ip = 0;
  uint64_t recipients_per_hour_per_network = 0;
  uint64_t messages_per_hour_per_user = 0;
  uint64_t recipients_per_hour_per_user = 0;
  uint64_t outbound_recipients_per_hour_per_user = 0;  // not to a local domain
  size_t max_entries = 100000;  // per table (clients, users); about 250 bytes each
};

// Each limit, named as its key in [limits].
enum class Limit {
  kConnectionsPerIp,
  kConnectionsPerNetwork,
  kConnectionRatePerIp,
  kConnectionRatePerNetwork,
  kMessagesPerIp,
  kMessagesPerNetwork,
  kRecipientsPerIp,
  kRecipientsPerNetwork,
  kMessagesPerUser,
  kRecipientsPerUser,
  kOutboundRecipientsPerUser,
};
inline constexpr size_t kLimitCount = 11;
// "max_connections_per_ip", "connection_rate_per_network", ...
const char* limit_name(Limit l);

// A refused connection, MAIL or RCPT: which limit, whose, how far.
struct LimitRefusal {
  Limit limit;
  std::string key;     // the address, network ("192.0.2.0/24") or user it applies to
  uint64_t value = 0;  // the count this one would have made (rates rounded up)
  uint64_t max = 0;    // the limit
  // The reply for the client: connections 421 4.7.0 (then close),
  // MAIL 451 4.7.1 (RFC 5321 4.3.2 allows no 450 there), RCPT 450 4.7.1;
  // all transient (RFC 3463 4.7.0/4.7.1: security or policy status), so a
  // legitimate sender retries later. `hostname` starts the 421's text.
  Reply reply(const std::string& hostname) const;
};

// How often each limit refused, and the table's housekeeping: one struct,
// for the metrics to export. The timeouts are counted by the server.
struct LimitCounters {
  std::array<uint64_t, kLimitCount> refused{};  // indexed by Limit
  uint64_t evicted = 0;                         // entries dropped from a full table
  uint64_t command_timeouts = 0;                // 421 4.4.2: no command line in time
  uint64_t data_timeouts = 0;                   // 421 4.4.2: no message data in time
  uint64_t session_timeouts = 0;                // 421 4.4.2: limits.session_timeout
  uint64_t& operator[](Limit l) { return refused[static_cast<size_t>(l)]; }
};

// The network a client's counts are added up under: "192.0.2.0/24",
// "2001:db8:1:2::/64"; an IPv4-mapped IPv6 address as its IPv4. Returns
// `ip` unchanged when it is not an address.
std::string client_network(std::string_view ip);

class Admission {
 public:
  using Time = std::chrono::steady_clock::time_point;

  explicit Admission(AdmissionLimits limits = {});
  // SIGHUP: new limits; the counts so far are kept.
  void set_limits(const AdmissionLimits& limits) { limits_ = limits; }
  const AdmissionLimits& limits() const { return limits_; }

  // A new connection from `ip` (a limited client). nullopt: admitted and
  // counted as live, and the caller must call disconnect(ip) when it ends.
  std::optional<LimitRefusal> connect(std::string_view ip, Time now);
  void disconnect(std::string_view ip, Time now);
  // A MAIL FROM from `ip` ("" when exempt) by `user` ("" when not
  // authenticated). nullopt: allowed and counted.
  std::optional<LimitRefusal> mail(std::string_view ip, std::string_view user, Time now);
  // A RCPT TO the directory accepted; `outbound`: not to a local domain.
  std::optional<LimitRefusal> rcpt(std::string_view ip, std::string_view user, bool outbound,
                                   Time now);

  LimitCounters& counters() { return counters_; }
  const LimitCounters& counters() const { return counters_; }
  // Entries held, clients (addresses and networks) and users: for tests.
  size_t clients_tracked() const { return clients_.size(); }
  size_t users_tracked() const { return users_.size(); }

 private:
  // Three windows serve both tables: an address or network counts
  // connections, messages, recipients; a user messages, recipients,
  // outbound recipients.
  struct Entry {
    uint64_t live = 0;  // connections open; > 0 pins the entry
    std::array<SlidingWindow, 3> windows;
    Time last_used{};
    std::list<std::string>::iterator lru;  // valid while live == 0
  };

  // A map with an LRU list of its unpinned entries (most recent first).
  class Table {
   public:
    explicit Table(LimitCounters* counters) : counters_(counters) {}
    // The entry for `key`, made if needed (evicting when full), marked used.
    Entry& get(const std::string& key, Time now, size_t max_entries);
    Entry* find(const std::string& key);
    void pin(Entry& e);                            // live 0 -> 1
    void unpin(const std::string& key, Entry& e);  // live 1 -> 0
    // Drops entries unused for `idle` or more, from the LRU end.
    void expire(Time now, std::chrono::steady_clock::duration idle);
    size_t size() const { return map_.size(); }

   private:
    LimitCounters* counters_;
    std::unordered_map<std::string, Entry> map_;
    std::list<std::string> lru_;  // keys of entries with live == 0
  };

  // mail() and rcpt(): the windows in `client_slot` of the address and
  // network, `user_slot` (and `outbound_slot`) of the user.
  std::optional<LimitRefusal> count(std::string_view ip, std::string_view user, size_t client_slot,
                                    size_t user_slot, std::optional<size_t> outbound_slot,
                                    Time now);

  AdmissionLimits limits_;
  LimitCounters counters_;
  Table clients_{&counters_};
  Table users_{&counters_};
};

}  // namespace tern
