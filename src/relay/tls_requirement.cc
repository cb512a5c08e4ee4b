#include "relay/tls_requirement.h"

#include <fmt/format.h>

#include <array>
#include <utility>

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
    if (e.domain == domain) return &e;  // an exact entry beats every parent
    if (e.domain.size() > 1 && e.domain.front() == '.' && domain.size() > e.domain.size() &&
        domain.ends_with(e.domain)) {
      if (!best || e.domain.size() > best->domain.size()) best = &e;
    }
  }
  return best;
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
