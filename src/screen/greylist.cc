#include "screen/greylist.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>

namespace tern {

namespace {

std::string encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == '%')
      out += fmt::format("%{:02X}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

bool decode(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      *out += s[i];
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= s.size()) return false;
    auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc() || p != s.data() + i + 3) return false;
    *out += static_cast<char>(v);
    i += 2;
  }
  return !out->empty();
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> f;
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == ' ') {
      f.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  }
  return f;
}

template <typename T>
bool number(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

const char* greylist_result_name(GreylistResult r) {
  switch (r) {
    case GreylistResult::kNew:
      return "new";
    case GreylistResult::kEarly:
      return "early";
    case GreylistResult::kPassed:
      return "passed";
    case GreylistResult::kKnown:
      return "known";
    case GreylistResult::kAllowed:
      return "allowed";
  }
  return "new";
}

std::string greylist_network(std::string_view ip) {
  std::string s(ip);
  unsigned char b[16];
  if (inet_pton(AF_INET, s.c_str(), b) == 1) return fmt::format("{}.{}.{}.0/24", b[0], b[1], b[2]);
  if (inet_pton(AF_INET6, s.c_str(), b) != 1) return {};
  // An IPv4-mapped address is its IPv4 network.
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMapped, kMapped + 12, b))
    return fmt::format("{}.{}.{}.0/24", b[12], b[13], b[14]);
  for (int i = 8; i < 16; ++i) b[i] = 0;
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, b, text, sizeof text);
  return std::string(text) + "/64";
}

bool Greylist::expired(const Triplet& t, int64_t now) const {
  if (t.passed) return now - t.last > options_.expiry;
  return now - t.first > options_.retry_window;
}

bool Greylist::network_allowed(const std::string& network, int64_t now) const {
  if (options_.auto_allow_after == 0) return false;
  auto it = networks_.find(network);
  return it != networks_.end() && it->second.passes >= options_.auto_allow_after &&
         now - it->second.last <= options_.expiry;
}

std::string Greylist::triplet_record(const Key& k, const Triplet& t) {
  return fmt::format("t {} {} {} {} {} {}\n", t.first, t.last, t.passed ? 1 : 0,
                     encode(std::get<0>(k)), encode(std::get<1>(k)), encode(std::get<2>(k)));
}

std::string Greylist::network_record(const std::string& n, const Network& net) {
  return fmt::format("n {} {} {}\n", net.passes, net.last, encode(n));
}

GreylistDecision Greylist::check(const std::string& network, const std::string& sender,
                                 const std::string& recipient, int64_t now, std::string* records) {
  if (network_allowed(network, now)) {
    Network& net = networks_[network];
    // Refreshed at most daily in the log: an allowed busy network would
    // otherwise write a line per recipient.
    if (now - net.last > 86400) {
      net.last = now;
      *records += network_record(network, net);
    }
    return {GreylistResult::kAllowed, 0};
  }
  Key key{network, sender, recipient};
  auto it = triplets_.find(key);
  if (it == triplets_.end() || expired(it->second, now)) {
    if (it == triplets_.end()) {
      make_room(now, records);
      it = triplets_.emplace(key, Triplet{}).first;
    }
    it->second = Triplet{now, now, false};
    *records += triplet_record(key, it->second);
    return {GreylistResult::kNew, options_.delay};
  }
  Triplet& t = it->second;
  if (t.passed) {
    if (now - t.last > 86400) {  // as above: the log learns of use daily
      t.last = now;
      *records += triplet_record(key, t);
    }
    return {GreylistResult::kKnown, 0};
  }
  if (now - t.first < options_.delay)
    return {GreylistResult::kEarly, options_.delay - (now - t.first)};
  t.passed = true;
  t.last = now;
  *records += triplet_record(key, t);
  Network& net = networks_[network];
  ++net.passes;
  net.last = now;
  *records += network_record(network, net);
  return {GreylistResult::kPassed, 0};
}

void Greylist::make_room(int64_t now, std::string* records) {
  if (size() < options_.max_entries) return;
  prune(now, records);
  while (size() >= options_.max_entries && !triplets_.empty()) {
    // The triplet least recently seen goes: an O(n) scan, only when full.
    auto oldest = triplets_.begin();
    for (auto i = triplets_.begin(); i != triplets_.end(); ++i)
      if (i->second.last < oldest->second.last) oldest = i;
    const Key& k = oldest->first;
    *records += fmt::format("- t {} {} {}\n", encode(std::get<0>(k)), encode(std::get<1>(k)),
                            encode(std::get<2>(k)));
    triplets_.erase(oldest);
  }
}

void Greylist::prune(int64_t now, std::string* records) {
  for (auto i = triplets_.begin(); i != triplets_.end();) {
    if (!expired(i->second, now)) {
      ++i;
      continue;
    }
    if (records) {
      const Key& k = i->first;
      *records += fmt::format("- t {} {} {}\n", encode(std::get<0>(k)), encode(std::get<1>(k)),
                              encode(std::get<2>(k)));
    }
    i = triplets_.erase(i);
  }
  for (auto i = networks_.begin(); i != networks_.end();) {
    if (now - i->second.last <= options_.expiry) {
      ++i;
      continue;
    }
    if (records) *records += fmt::format("- n {}\n", encode(i->first));
    i = networks_.erase(i);
  }
}

bool Greylist::apply(std::string_view line) {
  std::vector<std::string_view> f = fields(line);
  std::string a, b, c;
  if (f.size() == 7 && f[0] == "t") {
    Triplet t;
    int passed = 0;
    if (!number(f[1], &t.first) || !number(f[2], &t.last) || !number(f[3], &passed) || passed < 0 ||
        passed > 1 || !decode(f[4], &a) || !decode(f[5], &b) || !decode(f[6], &c))
      return false;
    t.passed = passed == 1;
    Key key{a, b, c};
    if (!triplets_.count(key) && size() >= options_.max_entries) return true;  // over the bound
    triplets_[key] = t;
    return true;
  }
  if (f.size() == 4 && f[0] == "n") {
    Network n;
    if (!number(f[1], &n.passes) || !number(f[2], &n.last) || !decode(f[3], &a)) return false;
    networks_[a] = n;
    return true;
  }
  if (f.size() == 5 && f[0] == "-" && f[1] == "t") {
    if (!decode(f[2], &a) || !decode(f[3], &b) || !decode(f[4], &c)) return false;
    triplets_.erase(Key{a, b, c});
    return true;
  }
  if (f.size() == 3 && f[0] == "-" && f[1] == "n") {
    if (!decode(f[2], &a)) return false;
    networks_.erase(a);
    return true;
  }
  return false;
}

std::string Greylist::snapshot() const {
  std::string out;
  for (const auto& [n, net] : networks_) out += network_record(n, net);
  for (const auto& [k, t] : triplets_) out += triplet_record(k, t);
  return out;
}

}  // namespace tern
