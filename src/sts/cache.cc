#include "sts/cache.h"

#include <fmt/format.h>

#include <charconv>

namespace tern::sts {

const char* action_name(Action a) {
  switch (a) {
    case Action::kNoPolicy:
      return "no-policy";
    case Action::kUseCached:
      return "use-cached";
    case Action::kFetch:
      return "fetch";
    case Action::kRefresh:
      return "refresh";
  }
  return "?";
}

Action decide(const CachedPolicy* cached, RecordState state, std::string_view id, int64_t now,
              int64_t refresh_after) {
  const bool valid = cached != nullptr && cached->valid_at(now);
  if (state != RecordState::kFound) return valid ? Action::kUseCached : Action::kNoPolicy;
  if (!valid) return Action::kFetch;
  if (cached->id != id) return Action::kRefresh;
  if (now - cached->fetched >= refresh_after) return Action::kRefresh;
  return Action::kUseCached;
}

namespace {
constexpr std::string_view kMagic = "tern-mta-sts 1\n";

// Takes one "key: value\n" line off *text; false if it is not one.
bool take_line(std::string_view* text, std::string_view key, std::string_view* value) {
  const size_t lf = text->find('\n');
  if (lf == std::string_view::npos) return false;
  std::string_view line = text->substr(0, lf);
  if (!line.starts_with(key) || line.substr(key.size(), 2) != ": ") return false;
  *value = line.substr(key.size() + 2);
  text->remove_prefix(lf + 1);
  return true;
}
}  // namespace

std::string cache_entry(const CachedPolicy& c) {
  return fmt::format("{}id: {}\nfetched: {}\n\n{}", kMagic, c.id, c.fetched, c.policy.text());
}

std::optional<CachedPolicy> parse_cache_entry(std::string_view text) {
  if (!text.starts_with(kMagic)) return std::nullopt;
  text.remove_prefix(kMagic.size());
  std::string_view id, fetched;
  if (!take_line(&text, "id", &id) || !take_line(&text, "fetched", &fetched)) return std::nullopt;
  if (!text.starts_with("\n")) return std::nullopt;
  text.remove_prefix(1);
  CachedPolicy c;
  c.id = std::string(id);
  const auto [end, ec] =
      std::from_chars(fetched.data(), fetched.data() + fetched.size(), c.fetched);
  if (ec != std::errc() || end != fetched.data() + fetched.size()) return std::nullopt;
  if (parse_record("v=STSv1; id=" + c.id).kind != RecordResult::Kind::kFound) return std::nullopt;
  std::string error;
  std::optional<Policy> p = parse_policy(text, &error);
  if (!p) return std::nullopt;
  c.policy = std::move(*p);
  return c;
}

}  // namespace tern::sts
