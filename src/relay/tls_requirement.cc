#include "relay/tls_requirement.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>
#include <charconv>
#include <utility>

#include "core/ascii.h"
#include "core/domain.h"

namespace tern {
namespace {

constexpr std::array<std::pair<TlsPolicyLevel, const char*>, 7> kLevels{{
    {TlsPolicyLevel::kNone, "none"},
    {TlsPolicyLevel::kMay, "may"},
    {TlsPolicyLevel::kEncrypt, "encrypt"},
    {TlsPolicyLevel::kDane, "dane"},
    {TlsPolicyLevel::kDaneOnly, "dane-only"},
    {TlsPolicyLevel::kVerify, "verify"},
    {TlsPolicyLevel::kSecure, "secure"},
}};

}  // namespace

const char* tls_policy_level_name(TlsPolicyLevel level) {
  for (const auto& [l, name] : kLevels) {
    if (l == level) return name;
  }
  return "?";
}

std::optional<TlsPolicyLevel> parse_tls_policy_level(std::string_view text) {
  for (const auto& [l, name] : kLevels) {
    if (text == name) return l;
  }
  return std::nullopt;
}

const TlsPolicyEntry* find_tls_policy(const std::vector<TlsPolicyEntry>& entries,
                                      std::string_view domain) {
  const TlsPolicyEntry* best = nullptr;
  for (const TlsPolicyEntry& e : entries) {
    if (e.domain.empty()) continue;     // a next-hop entry
    if (e.domain == domain) return &e;  // an exact entry beats every parent
    if (e.domain.size() > 1 && e.domain.front() == '.' && domain.size() > e.domain.size() &&
        domain.ends_with(e.domain)) {
      if (!best || e.domain.size() > best->domain.size()) best = &e;
    }
  }
  return best;
}

const TlsPolicyEntry* find_next_hop_policy(const std::vector<TlsPolicyEntry>& entries,
                                           std::string_view host, uint16_t port) {
  const TlsPolicyEntry* any_port = nullptr;
  for (const TlsPolicyEntry& e : entries) {
    if (e.next_hop_host.empty() || e.next_hop_host != host) continue;
    if (e.next_hop_port == port) return &e;  // "[host]:port" beats "[host]"
    if (e.next_hop_port == 0 && !any_port) any_port = &e;
  }
  return any_port;
}

const TlsPolicyEntry* find_host_policy(const std::vector<TlsPolicyEntry>& entries,
                                       std::string_view domain, std::string_view host,
                                       uint16_t port) {
  if (const TlsPolicyEntry* e = find_next_hop_policy(entries, host, port)) return e;
  return find_tls_policy(entries, domain);
}

std::string parse_next_hop(std::string_view text, std::string* host, uint16_t* port) {
  if (!text.starts_with('[')) return "must be \"[host]\" or \"[host]:port\"";
  const size_t close = text.find(']');
  if (close == std::string_view::npos) return "has '[' without ']'";
  const std::string name = ascii_lower(text.substr(1, close - 1));
  unsigned char buf[16];
  if (inet_pton(AF_INET, name.c_str(), buf) == 1 || name.find(':') != std::string::npos)
    return fmt::format("'{}' is an address; next_hop names an MX host by its name", name);
  if (!is_valid_domain(name)) return fmt::format("'{}' is not a host name", name);
  std::string_view rest = text.substr(close + 1);
  uint16_t p = 0;
  if (!rest.empty()) {
    if (rest.front() != ':' || rest.size() == 1) return "must be \"[host]\" or \"[host]:port\"";
    rest.remove_prefix(1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (ec != std::errc() || end != rest.data() + rest.size() || value == 0 || value > 65535)
      return fmt::format("'{}' is not a port (1-65535)", rest);
    p = static_cast<uint16_t>(value);
  }
  *host = name;
  *port = p;
  return "";
}

std::string next_hop_text(const TlsPolicyEntry& e) {
  if (e.next_hop_port == 0) return "[" + e.next_hop_host + "]";
  return fmt::format("[{}]:{}", e.next_hop_host, e.next_hop_port);
}

const char* tls_level_name(TlsLevel level) {
  switch (level) {
    case TlsLevel::kNone:
      return "none";
    case TlsLevel::kMay:
      return "may";
    case TlsLevel::kEncrypt:
      return "encrypt";
    case TlsLevel::kDane:
      return "dane";
    case TlsLevel::kVerify:
      return "verify";
  }
  return "?";
}

std::string requirement_text(const TlsRequirement& r) {
  return fmt::format("policy={}({}) dane={}", tls_level_name(r.level), r.origin, r.dane);
}

}  // namespace tern
