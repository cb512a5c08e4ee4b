// TtlCache: what was learnt about a client address (DNSBL answers,
// reverse DNS), kept until its DNS TTL runs out, in bounded memory: past
// `capacity` entries the one that expires first goes (after any already
// expired), so a flood of new addresses cannot grow it.
//
// Time comes in as an argument (unix seconds), so tests need no clock.
// Thread-compatible: the server's event loop owns its one instance.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace tern {

template <typename V>
class TtlCache {
 public:
  explicit TtlCache(size_t capacity) : capacity_(capacity) {}

  // The value for `key` if it is still fresh at `now`.
  std::optional<V> get(const std::string& key, int64_t now) {
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    if (it->second.expires <= now) {
      erase(it);
      return std::nullopt;
    }
    return it->second.value;
  }

  // Keeps `value` for `key` until now + ttl (replacing what was there).
  // A capacity of 0 keeps nothing.
  void put(const std::string& key, V value, int64_t now, uint32_t ttl) {
    if (capacity_ == 0 || ttl == 0) return;
    if (auto it = map_.find(key); it != map_.end()) erase(it);
    while (map_.size() >= capacity_) {
      auto first = by_expiry_.begin();  // expired ones sort first too
      map_.erase(first->second);
      by_expiry_.erase(first);
    }
    const int64_t expires = now + ttl;
    auto pos = by_expiry_.emplace(expires, key);
    map_.emplace(key, Entry{std::move(value), expires, pos});
  }

  size_t size() const { return map_.size(); }

 private:
  struct Entry {
    V value;
    int64_t expires;
    std::multimap<int64_t, std::string>::iterator pos;
  };
  void erase(typename std::unordered_map<std::string, Entry>::iterator it) {
    by_expiry_.erase(it->second.pos);
    map_.erase(it);
  }

  size_t capacity_;
  std::unordered_map<std::string, Entry> map_;
  std::multimap<int64_t, std::string> by_expiry_;  // expiry -> key
};

}  // namespace tern
