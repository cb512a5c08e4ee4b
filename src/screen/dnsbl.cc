#include "screen/dnsbl.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/ascii.h"
#include "core/domain.h"

namespace tern {

namespace {

bool parse_int(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_octet_value(std::string_view s, uint8_t* out) {
  int v = 0;
  if (s.empty() || s.size() > 3 || s[0] == '-' || s[0] == '+' || !parse_int(s, &v) || v > 255)
    return false;
  *out = static_cast<uint8_t>(v);
  return true;
}

// "2", "[2..11]" or "[2;4;6]" (postscreen's forms; a list item may be a range).
bool parse_octet(std::string_view s, OctetMatch* m) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
    s = s.substr(1, s.size() - 2);
    for (;;) {
      size_t semi = s.find(';');
      std::string_view item = s.substr(0, semi);
      uint8_t lo = 0, hi = 0;
      if (size_t dots = item.find(".."); dots != std::string_view::npos) {
        if (!parse_octet_value(item.substr(0, dots), &lo) ||
            !parse_octet_value(item.substr(dots + 2), &hi) || lo > hi)
          return false;
      } else {
        if (!parse_octet_value(item, &lo)) return false;
        hi = lo;
      }
      m->ranges.emplace_back(lo, hi);
      if (semi == std::string_view::npos) return true;
      s.remove_prefix(semi + 1);
    }
  }
  uint8_t v = 0;
  if (!parse_octet_value(s, &v)) return false;
  m->ranges.emplace_back(v, v);
  return true;
}

// Text safe for a reply line: printable ASCII, no more than `max` octets.
std::string reply_safe(std::string_view s, size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) break;
    out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

bool OctetMatch::matches(uint8_t v) const {
  for (auto [lo, hi] : ranges)
    if (v >= lo && v <= hi) return true;
  return false;
}

bool DnsblSite::matches(const asio::ip::address& answer) const {
  if (!answer.is_v4()) return false;
  auto bytes = answer.to_v4().to_bytes();
  if (bytes[0] != 127) return false;  // RFC 5782 2.3
  if (filter.empty()) return true;
  for (size_t i = 0; i < 4; ++i)
    if (!filter[i].matches(bytes[i])) return false;
  return true;
}

std::optional<DnsblSite> parse_dnsbl_site(std::string_view spec, std::string* error) {
  DnsblSite site;
  site.spec = std::string(spec);
  std::string_view rest = spec;
  if (size_t star = rest.rfind('*'); star != std::string_view::npos) {
    if (!parse_int(rest.substr(star + 1), &site.weight) || site.weight == 0 ||
        site.weight < -1000 || site.weight > 1000) {
      *error = "the weight after '*' must be a non-zero integer from -1000 to 1000";
      return std::nullopt;
    }
    rest = rest.substr(0, star);
  }
  std::string_view filter;
  bool has_filter = false;
  if (size_t eq = rest.find('='); eq != std::string_view::npos) {
    filter = rest.substr(eq + 1);
    rest = rest.substr(0, eq);
    has_filter = true;
  }
  std::string zone = ascii_lower(rest);
  if (!zone.empty() && zone.back() == '.') zone.pop_back();
  if (!valid_domain_name(zone, DomainRules{2, true})) {
    *error = fmt::format("'{}' is not a DNS zone such as \"zen.spamhaus.org\"", zone);
    return std::nullopt;
  }
  site.zone = std::move(zone);
  if (!has_filter) return site;
  // Split at the dots outside brackets (those inside belong to "..").
  std::vector<std::string_view> octets;
  size_t start = 0;
  int depth = 0;
  for (size_t i = 0; i <= filter.size(); ++i) {
    if (i == filter.size() || (filter[i] == '.' && depth == 0)) {
      octets.push_back(filter.substr(start, i - start));
      start = i + 1;
    } else if (filter[i] == '[') {
      ++depth;
    } else if (filter[i] == ']') {
      --depth;
    }
  }
  for (std::string_view o : octets) {
    OctetMatch m;
    if (octets.size() != 4 || !parse_octet(o, &m)) {
      *error = fmt::format(
          "filter '{}' must be four octets, each a number, [lo..hi] or [a;b], such as "
          "127.0.0.[2..11]",
          filter);
      return std::nullopt;
    }
    site.filter.push_back(std::move(m));
  }
  return site;
}

std::string dnsbl_query_name(const asio::ip::address& client, std::string_view zone) {
  std::string name;
  asio::ip::address a = client;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    name = fmt::format("{}.{}.{}.{}", b[3], b[2], b[1], b[0]);
  } else {
    auto b = a.to_v6().to_bytes();
    static const char kHex[] = "0123456789abcdef";
    for (size_t i = b.size(); i-- > 0;) {
      if (!name.empty()) name += '.';
      name += kHex[b[i] & 0xf];
      name += '.';
      name += kHex[b[i] >> 4];
    }
  }
  name += '.';
  name += zone;
  return name;
}

std::vector<std::string> dnsbl_zones(const std::vector<DnsblSite>& sites) {
  std::vector<std::string> zones;
  for (const DnsblSite& s : sites)
    if (std::find(zones.begin(), zones.end(), s.zone) == zones.end()) zones.push_back(s.zone);
  return zones;
}

DnsblVerdict score_dnsbl(const std::vector<DnsblSite>& sites, int threshold,
                         const std::map<std::string, AddressResult>& answers, const DnsblTtl& ttl) {
  DnsblVerdict v;
  uint32_t min_ttl = ttl.max_ttl;
  bool failed = false;
  for (const std::string& zone : dnsbl_zones(sites)) {
    auto it = answers.find(zone);
    if (it == answers.end()) {
      v.failures.push_back(zone + ": no answer in time");
      failed = true;
    } else if (it->second.status == DnsStatus::kTempFail) {
      v.failures.push_back(zone + ": " +
                           (it->second.error.empty() ? "temporary failure" : it->second.error));
      failed = true;
    } else {
      min_ttl = std::min(min_ttl, it->second.ttl);
    }
  }
  int top_weight = 0;
  for (const DnsblSite& site : sites) {
    auto it = answers.find(site.zone);
    if (it == answers.end() || !it->second.ok()) continue;
    bool listed = std::any_of(it->second.records.begin(), it->second.records.end(),
                              [&](const asio::ip::address& a) { return site.matches(a); });
    if (!listed) continue;
    v.score += site.weight;
    v.hits.push_back(fmt::format("{}*{}", site.zone, site.weight));
    if (site.weight < 0) v.allowlisted = true;
    if (site.weight > top_weight) {
      top_weight = site.weight;
      v.top_zone = site.zone;
    }
  }
  v.refused = !sites.empty() && v.score >= threshold;
  v.ttl = std::clamp(min_ttl, ttl.min_ttl, ttl.max_ttl);
  if (failed) v.ttl = std::min(v.ttl, ttl.failed_ttl);
  return v;
}

Reply dnsbl_refusal(std::string_view client_ip, std::string_view zone, std::string_view reason) {
  std::string text = fmt::format("Service unavailable; client [{}] blocked using {}",
                                 reply_safe(client_ip, 64), reply_safe(zone, 255));
  std::string why = reply_safe(reason, 200);
  if (!why.empty()) text += "; " + why;
  return Reply(554, "5.7.1", std::move(text));
}

std::string dnsbl_reason_text(const TxtResult& txt) {
  if (!txt.ok()) return {};
  return reply_safe(txt_text(txt.records.front()), 200);
}

}  // namespace tern
