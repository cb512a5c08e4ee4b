#include "relay/sts_fetch.h"

#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>

#include "base/log.h"
#include "core/ascii.h"
#include "fs/atomic_file.h"
#include "fs/file_io.h"

namespace tern {
namespace {

// A domain name that is safe as a file name: LDH labels, dots between.
bool file_safe(const std::string& d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.') return false;
  if (d.find("..") != std::string::npos) return false;
  for (char c : d) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// "text/plain; charset=utf-8" -> true (3.2: the media type is text/plain).
bool is_text_plain(const std::string& content_type) {
  std::string type = ascii_lower(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.erase(0, 1);
  return type == "text/plain";
}

std::optional<sts::CachedPolicy> read_cache(const std::string& path) {
  std::string text;
  bool missing = false;
  Status s = read_file(path, &text, &missing);
  if (!s.ok()) {
    log_warn("mta-sts: cannot read the cached policy: {}", s.message());
    return std::nullopt;
  }
  if (missing) return std::nullopt;
  std::optional<sts::CachedPolicy> c = sts::parse_cache_entry(text);
  if (!c) log_warn("mta-sts: {} is not a policy cache file of ours; ignored", path);
  return c;
}

}  // namespace

StsPolicies::StsPolicies(asio::io_context& io, asio::any_io_executor blocking, DnsLookup* dns,
                         StsSettings settings, std::function<int64_t()> clock)
    : blocking_(std::move(blocking)),
      dns_(dns),
      settings_(std::move(settings)),
      clock_(std::move(clock)),
      client_(io) {}

std::string StsPolicies::cache_path(const std::string& domain) const {
  if (settings_.cache_dir.empty() || !file_safe(domain)) return "";
  return settings_.cache_dir + "/" + domain;
}

asio::awaitable<std::optional<sts::CachedPolicy>> StsPolicies::cached(const std::string& domain) {
  if (auto it = memory_.find(domain); it != memory_.end()) co_return it->second;
  const std::string path = cache_path(domain);
  if (path.empty()) co_return std::nullopt;
  auto read = [path]() -> asio::awaitable<std::optional<sts::CachedPolicy>> {
    co_return read_cache(path);
  };
  std::optional<sts::CachedPolicy> c =
      co_await asio::co_spawn(blocking_, read, asio::use_awaitable);
  if (c) memory_[domain] = *c;
  co_return c;
}

asio::awaitable<void> StsPolicies::store(const std::string& domain, const sts::CachedPolicy& c) {
  memory_[domain] = c;
  const std::string path = cache_path(domain);
  if (path.empty()) co_return;
  const std::string dir = settings_.cache_dir;
  auto write = [path, dir, text = sts::cache_entry(c)]() -> asio::awaitable<void> {
    Status s = make_dirs(dir, 0700);
    if (s.ok()) s = write_file_atomic(path, text, 0600);
    if (!s.ok()) log_warn("mta-sts: cannot cache the policy: {}", s.message());
    co_return;
  };
  co_await asio::co_spawn(blocking_, write, asio::use_awaitable);
}

asio::awaitable<std::optional<sts::Policy>> StsPolicies::fetch(std::string domain,
                                                               std::string* error,
                                                               bool* webpki_invalid) {
  const std::string host = "mta-sts." + domain;
  AddressResult a4 = co_await dns_->a(host);
  AddressResult a6 = co_await dns_->aaaa(host);
  std::string addresses;
  for (const AddressResult* r : {&a6, &a4}) {
    for (const asio::ip::address& a : r->records) {
      if (!addresses.empty()) addresses += ',';
      addresses += a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
    }
  }
  if (addresses.empty()) {
    *error = fmt::format("{} has no address ({})", host,
                         a4.status == DnsStatus::kTempFail ? a4.error : dns_status_name(a4.status));
    co_return std::nullopt;
  }
  http::ClientRequest req;
  req.url = settings_.https_port == 443
                ? fmt::format("https://{}/.well-known/mta-sts.txt", host)
                : fmt::format("https://{}:{}/.well-known/mta-sts.txt", host, settings_.https_port);
  http::ClientLimits limits;
  limits.max_response = kMaxPolicySize;
  limits.timeout = settings_.fetch_timeout;
  limits.follow_redirects = false;  // 3.3: "MUST NOT follow redirects"
  limits.ca_file = settings_.ca_file;
  limits.resolve.push_back(fmt::format("{}:{}:{}", host, settings_.https_port, addresses));
  http::ClientResponse resp = co_await client_.request(req, limits);
  if (!resp.ok()) {
    *error = resp.error;
    if (webpki_invalid) *webpki_invalid = resp.certificate_failed;
    co_return std::nullopt;
  }
  if (resp.status != 200) {
    *error = resp.status >= 300 && resp.status < 400
                 ? fmt::format("HTTP {} (redirects are not followed)", resp.status)
                 : fmt::format("HTTP {}", resp.status);
    co_return std::nullopt;
  }
  const std::string type = resp.header("content-type");
  if (!is_text_plain(type)) {
    *error = fmt::format("media type '{}' is not text/plain", type.substr(0, 60));
    co_return std::nullopt;
  }
  std::string why;
  std::optional<sts::Policy> p = sts::parse_policy(resp.body, &why);
  if (!p) *error = "invalid policy: " + why;
  co_return p;
}

asio::awaitable<StsState> StsPolicies::lookup(std::string domain) {
  StsState out;
  if (!settings_.enabled) co_return out;
  domain = ascii_lower(domain);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  const std::string record_name = "_mta-sts." + domain;  // named: GCC 12 and prvalue arguments
  TxtResult txt = co_await dns_->txt(record_name);
  sts::RecordState state = sts::RecordState::kAbsent;
  sts::RecordResult record;
  if (txt.status == DnsStatus::kTempFail) {
    state = sts::RecordState::kTempFail;
  } else if (txt.ok()) {
    record = sts::select_record(txt.records);
    if (record.kind == sts::RecordResult::Kind::kFound) state = sts::RecordState::kFound;
    if (record.kind == sts::RecordResult::Kind::kInvalid)
      log_warn("mta-sts: _mta-sts.{}: invalid record ({}); treated as none", domain, record.error);
  }
  std::optional<sts::CachedPolicy> c = co_await cached(domain);
  const int64_t now = clock_();
  const sts::Action action =
      sts::decide(c ? &*c : nullptr, state, record.id, now, settings_.refresh_after);
  switch (action) {
    case sts::Action::kNoPolicy:
      out.source =
          state == sts::RecordState::kTempFail ? "no record (DNS: " + txt.error + ")" : "no record";
      co_return out;
    case sts::Action::kUseCached:
      out.policy = c->policy;
      out.id = c->id;
      out.source = "cached";
      co_return out;
    case sts::Action::kFetch:
    case sts::Action::kRefresh:
      break;
  }
  std::string error;
  bool webpki_invalid = false;
  std::optional<sts::Policy> p = co_await fetch(domain, &error, &webpki_invalid);
  if (p) {
    log_info("mta-sts: {} policy id={} mode={} max_age={} fetched", domain, record.id,
             sts::mode_name(p->mode), p->max_age);
    // A named object, not a temporary in the co_await expression: GCC 12
    // destroys some of those twice (remote_courier.cc copies for the same reason).
    const sts::CachedPolicy fresh{record.id, *p, now};
    co_await store(domain, fresh);
    out.policy = std::move(p);
    out.id = record.id;
    out.source = "fetched";
    co_return out;
  }
  if (action == sts::Action::kRefresh) {
    // 5.1: a valid cached policy stays in force when the fetch fails.
    log_warn("mta-sts: {} policy fetch failed ({}); the cached policy (id={}) stays in force",
             domain, error, c->id);
    out.policy = c->policy;
    out.id = c->id;
    out.source = "cached, fetch failed";
    co_return out;
  }
  log_warn("mta-sts: {} policy fetch failed ({}); delivering without MTA-STS", domain, error);
  out.source = "fetch failed: " + error;
  out.webpki_invalid = webpki_invalid;
  co_return out;
}

}  // namespace tern
