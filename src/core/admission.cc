#include "core/admission.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>

namespace tern {

namespace {

constexpr std::chrono::minutes kMinute{1};
constexpr std::chrono::hours kHour{1};
// An entry unused this long has nothing left in any window (the longest is
// an hour; a sliding window looks back into the previous one).
constexpr std::chrono::hours kIdle{2};

// Window slots of an address or network entry, and of a user entry.
enum { kConnSlot = 0, kMailSlot = 1, kRcptSlot = 2 };
enum { kUserMail = 0, kUserRcpt = 1, kUserOutbound = 2 };

uint64_t rounded_up(double count) { return static_cast<uint64_t>(std::ceil(count - 1e-9)); }

// A refusal when counting one more would pass `limit` (0: no limit).
std::optional<LimitRefusal> over(Limit l, const std::string& key, double count, uint64_t limit) {
  if (limit == 0 || count + 1 <= static_cast<double>(limit)) return std::nullopt;
  return LimitRefusal{l, key, rounded_up(count + 1), limit};
}

}  // namespace

const char* limit_name(Limit l) {
  switch (l) {
    case Limit::kConnectionsPerIp:
      return "max_connections_per_ip";
    case Limit::kConnectionsPerNetwork:
      return "max_connections_per_network";
    case Limit::kConnectionRatePerIp:
      return "connection_rate_per_ip";
    case Limit::kConnectionRatePerNetwork:
      return "connection_rate_per_network";
    case Limit::kMessagesPerIp:
      return "messages_per_hour_per_ip";
    case Limit::kMessagesPerNetwork:
      return "messages_per_hour_per_network";
    case Limit::kRecipientsPerIp:
      return "recipients_per_hour_per_ip";
    case Limit::kRecipientsPerNetwork:
      return "recipients_per_hour_per_network";
    case Limit::kMessagesPerUser:
      return "messages_per_hour_per_user";
    case Limit::kRecipientsPerUser:
      return "recipients_per_hour_per_user";
    case Limit::kOutboundRecipientsPerUser:
      return "outbound_recipients_per_hour_per_user";
  }
  return "?";
}

Reply LimitRefusal::reply(const std::string& hostname) const {
  const std::string later = ", try again later";
  switch (limit) {
    case Limit::kConnectionsPerIp:
      return Reply(421, "4.7.0", hostname + " Too many connections from your address" + later);
    case Limit::kConnectionsPerNetwork:
      return Reply(421, "4.7.0", hostname + " Too many connections from your network" + later);
    case Limit::kConnectionRatePerIp:
      return Reply(421, "4.7.0",
                   hostname + " Too many connections from your address this minute" + later);
    case Limit::kConnectionRatePerNetwork:
      return Reply(421, "4.7.0",
                   hostname + " Too many connections from your network this minute" + later);
    case Limit::kMessagesPerIp:
      return Reply(451, "4.7.1", "Too many messages from your address this hour" + later);
    case Limit::kMessagesPerNetwork:
      return Reply(451, "4.7.1", "Too many messages from your network this hour" + later);
    case Limit::kMessagesPerUser:
      return Reply(451, "4.7.1", "Too many messages from <" + key + "> this hour" + later);
    case Limit::kRecipientsPerIp:
      return Reply(450, "4.7.1", "Too many recipients from your address this hour" + later);
    case Limit::kRecipientsPerNetwork:
      return Reply(450, "4.7.1", "Too many recipients from your network this hour" + later);
    case Limit::kRecipientsPerUser:
      return Reply(450, "4.7.1", "Too many recipients from <" + key + "> this hour" + later);
    case Limit::kOutboundRecipientsPerUser:
      return Reply(450, "4.7.1",
                   "Too many recipients at other domains from <" + key + "> this hour" + later);
  }
  return Reply(451, "4.7.1", "Rate limit exceeded" + later);
}

std::string client_network(std::string_view ip) {
  const std::string z(ip);
  unsigned char a[16];
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, z.c_str(), a) == 1) {
    a[3] = 0;
  } else if (inet_pton(AF_INET6, z.c_str(), a) == 1) {
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped, kMapped + 12, a)) {
      unsigned char v4[4] = {a[12], a[13], a[14], 0};
      inet_ntop(AF_INET, v4, text, sizeof text);
      return std::string(text) + "/24";
    }
    std::fill(a + 8, a + 16, 0);
    inet_ntop(AF_INET6, a, text, sizeof text);
    return std::string(text) + "/64";
  } else {
    return z;
  }
  inet_ntop(AF_INET, a, text, sizeof text);
  return std::string(text) + "/24";
}

Admission::Entry& Admission::Table::get(const std::string& key, Time now, size_t max_entries) {
  if (auto it = map_.find(key); it != map_.end()) {
    Entry& e = it->second;
    e.last_used = now;
    if (e.live == 0) lru_.splice(lru_.begin(), lru_, e.lru);
    return e;
  }
  // Full: the least recently used entry without a live connection goes.
  // Never the most recent one, which a caller may be holding (connect()
  // looks up the address, then its network).
  while (map_.size() >= max_entries && lru_.size() >= 2) {
    map_.erase(lru_.back());
    lru_.pop_back();
    ++counters_->evicted;
  }
  lru_.push_front(key);
  Entry& e = map_[key];
  e.last_used = now;
  e.lru = lru_.begin();
  return e;
}

Admission::Entry* Admission::Table::find(const std::string& key) {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

void Admission::Table::pin(Entry& e) { lru_.erase(e.lru); }

void Admission::Table::unpin(const std::string& key, Entry& e) {
  lru_.push_front(key);
  e.lru = lru_.begin();
}

void Admission::Table::expire(Time now, std::chrono::steady_clock::duration idle) {
  while (!lru_.empty()) {
    auto it = map_.find(lru_.back());
    if (now - it->second.last_used < idle) return;  // the rest were used later
    map_.erase(it);
    lru_.pop_back();
  }
}

Admission::Admission(AdmissionLimits limits) : limits_(limits) {}

std::optional<LimitRefusal> Admission::connect(std::string_view ip_view, Time now) {
  clients_.expire(now, kIdle);
  const std::string ip(ip_view), net = client_network(ip_view);
  const bool has_net = net != ip;
  const size_t max = limits_.max_entries;
  Entry& a = clients_.get(ip, now, max);
  Entry* n = has_net ? &clients_.get(net, now, max) : nullptr;
  // Every attempt counts against the rate, refused or not.
  a.windows[kConnSlot].add(now, kMinute);
  if (n) n->windows[kConnSlot].add(now, kMinute);
  std::optional<LimitRefusal> r =
      over(Limit::kConnectionsPerIp, ip, static_cast<double>(a.live), limits_.connections_per_ip);
  if (!r && n)
    r = over(Limit::kConnectionsPerNetwork, net, static_cast<double>(n->live),
             limits_.connections_per_network);
  // The attempt itself is in the window already: compare the count before it.
  if (!r)
    r = over(Limit::kConnectionRatePerIp, ip, a.windows[kConnSlot].count(now, kMinute) - 1,
             limits_.connection_rate_per_ip);
  if (!r && n)
    r = over(Limit::kConnectionRatePerNetwork, net, n->windows[kConnSlot].count(now, kMinute) - 1,
             limits_.connection_rate_per_network);
  if (r) {
    ++counters_[r->limit];
    return r;
  }
  if (a.live++ == 0) clients_.pin(a);
  if (n && n->live++ == 0) clients_.pin(*n);
  return std::nullopt;
}

void Admission::disconnect(std::string_view ip_view, Time now) {
  const std::string ip(ip_view), net = client_network(ip_view);
  for (const std::string* key : {&ip, &net}) {
    if (key == &net && net == ip) break;
    Entry* e = clients_.find(*key);
    if (!e || e->live == 0) continue;  // not counted: a caller's bug, not worth a crash
    e->last_used = now;
    if (--e->live == 0) clients_.unpin(*key, *e);
  }
}

std::optional<LimitRefusal> Admission::mail(std::string_view ip, std::string_view user, Time now) {
  return count(ip, user, kMailSlot, kUserMail, std::nullopt, now);
}

std::optional<LimitRefusal> Admission::rcpt(std::string_view ip, std::string_view user,
                                            bool outbound, Time now) {
  return count(ip, user, kRcptSlot, kUserRcpt,
               outbound ? std::optional<size_t>(kUserOutbound) : std::nullopt, now);
}

// Checks every applicable window first and counts in all of them only when
// none refuses, so a refused MAIL or RCPT uses up nothing.
std::optional<LimitRefusal> Admission::count(std::string_view ip_view, std::string_view user_view,
                                             size_t client_slot, size_t user_slot,
                                             std::optional<size_t> outbound_slot, Time now) {
  clients_.expire(now, kIdle);
  users_.expire(now, kIdle);
  const bool mail = client_slot == kMailSlot;
  const Limit ip_limit = mail ? Limit::kMessagesPerIp : Limit::kRecipientsPerIp;
  const Limit net_limit = mail ? Limit::kMessagesPerNetwork : Limit::kRecipientsPerNetwork;
  const Limit user_limit = mail ? Limit::kMessagesPerUser : Limit::kRecipientsPerUser;
  const uint64_t ip_max =
      mail ? limits_.messages_per_hour_per_ip : limits_.recipients_per_hour_per_ip;
  const uint64_t net_max =
      mail ? limits_.messages_per_hour_per_network : limits_.recipients_per_hour_per_network;
  const uint64_t user_max =
      mail ? limits_.messages_per_hour_per_user : limits_.recipients_per_hour_per_user;

  struct Use {
    SlidingWindow* window;
    Limit limit;
    const std::string* key;
    uint64_t max;
  };
  std::array<Use, 4> uses;
  size_t n = 0;
  const std::string ip(ip_view), net = client_network(ip_view), user(user_view);
  const size_t max = limits_.max_entries;
  if (!ip.empty()) {
    uses[n++] = {&clients_.get(ip, now, max).windows[client_slot], ip_limit, &ip, ip_max};
    if (net != ip)
      uses[n++] = {&clients_.get(net, now, max).windows[client_slot], net_limit, &net, net_max};
  }
  if (!user.empty()) {
    Entry& u = users_.get(user, now, max);
    uses[n++] = {&u.windows[user_slot], user_limit, &user, user_max};
    if (outbound_slot)
      uses[n++] = {&u.windows[*outbound_slot], Limit::kOutboundRecipientsPerUser, &user,
                   limits_.outbound_recipients_per_hour_per_user};
  }
  for (size_t i = 0; i < n; ++i) {
    if (auto r =
            over(uses[i].limit, *uses[i].key, uses[i].window->count(now, kHour), uses[i].max)) {
      ++counters_[r->limit];
      return r;
    }
  }
  for (size_t i = 0; i < n; ++i) uses[i].window->add(now, kHour);
  return std::nullopt;
}

}  // namespace tern
