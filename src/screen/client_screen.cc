#include "screen/client_screen.h"

#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <map>

#include "base/clock.h"
#include "base/log.h"
#include "base/log_fields.h"
#include "core/cidr.h"
#include "metrics/registry.h"
#include "net/awaitable.h"

namespace tern {

namespace {

metrics::Family<metrics::Counter>& dnsbl_rejections() {
  static auto& f = metrics::registry().counter(
      "tern_dnsbl_rejections_total",
      "Connections refused at the greeting by the DNS block lists ([dnsbl]), by the listing "
      "zone of the highest weight.",
      {"zone"});
  return f;
}

metrics::Family<metrics::Counter>& greylist_results() {
  static auto& f = metrics::registry().counter(
      "tern_greylist_results_total",
      "Greylisting decisions at RCPT TO by result (new and early: deferred with 451 4.7.1; "
      "passed, known, allowed: accepted).",
      {"result"});
  return f;
}

metrics::Family<metrics::Counter>& early_rejections() {
  static auto& f = metrics::registry().counter(
      "tern_early_check_rejections_total",
      "MAIL FROM refused by an early check ([checks]): helo, reverse_dns, own_domain_sender.",
      {"check"});
  return f;
}

// Lookups under way for one client; shared with the lookups, which may
// outlive the wait (they end with the resolver's own deadline).
struct Gather {
  explicit Gather(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  size_t left = 0;
  std::map<std::string, AddressResult> answers;  // zone -> A lookup
  std::optional<NameResult> ptr;
  std::optional<TxtResult> txt;

  void done() {
    if (--left == 0) timer.cancel();
  }
};

// Waits until every lookup of `g` is in or `deadline` passes.
asio::awaitable<void> wait_for(std::shared_ptr<Gather> g,
                               std::chrono::steady_clock::time_point deadline) {
  if (g->left == 0) co_return;
  g->timer.expires_at(deadline);
  co_await g->timer.async_wait(use_tuple);
}

std::string lower_address(const Address& a) {
  return "<" + a.local + (a.domain.empty() ? "" : "@" + a.domain_lower()) + ">";
}

}  // namespace

ClientScreen::ClientScreen(const Config& config) : cache_(config.dnsbl.cache_size) {
  if (!config.greylist.enabled) return;
  GreylistOptions o;
  o.delay = config.greylist.delay.count();
  o.retry_window = config.greylist.retry_window.count();
  o.expiry = config.greylist.expiry.count();
  o.auto_allow_after = config.greylist.auto_allow_after;
  o.max_entries = config.greylist.max_entries;
  greylist_ = std::make_unique<GreylistStore>(config.data_dir + "/greylist.log", o);
}

void ClientScreen::open(int64_t now) {
  if (!greylist_) return;
  if (Status st = greylist_->open(now); !st.ok())
    log_warn("greylist {}: {} (greylisting goes on in memory)", greylist_->path(), st.message());
  else
    log_info("greylist {}: {} entries", greylist_->path(), greylist_->size());
}

bool ClientScreen::wanted(const Config& config) {
  return !config.dnsbl.sites.empty() || config.checks.reverse_dns != ChecksConfig::ReverseDns::kOff;
}

asio::awaitable<ClientFacts> ClientScreen::connect(const Config& config, DnsLookup& dns,
                                                   std::string ip, std::string session_id) {
  const int64_t now = unix_seconds();
  if (std::optional<ClientFacts> cached = cache_.get(ip, now)) {
    log_info("session={} screen client={} cached=yes score={} rdns={}", session_id, ip,
             cached->dnsbl.score, reverse_dns_name(cached->rdns));
    co_return *cached;
  }
  ClientFacts facts;
  std::error_code ec;
  const asio::ip::address address = asio::ip::make_address(ip, ec);
  if (ec) co_return facts;  // "unknown": nothing to ask
  std::vector<DnsblSite> sites;
  for (const std::string& spec : config.dnsbl.sites) {
    std::string error;
    if (std::optional<DnsblSite> s = parse_dnsbl_site(spec, &error)) sites.push_back(*s);
  }
  const bool rdns = config.checks.reverse_dns != ChecksConfig::ReverseDns::kOff;
  auto ex = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + config.dnsbl.timeout;
  auto g = std::make_shared<Gather>(ex);
  // Every zone and the PTR at once; each lookup reports into `g`.
  for (const std::string& zone : dnsbl_zones(sites)) {
    ++g->left;
    asio::co_spawn(ex, dns.a(dnsbl_query_name(address, zone)),
                   [g, zone](std::exception_ptr e, AddressResult r) {
                     if (!e) g->answers[zone] = std::move(r);
                     g->done();
                   });
  }
  if (rdns) {
    ++g->left;
    asio::co_spawn(ex, dns.ptr(address), [g](std::exception_ptr e, NameResult r) {
      if (!e) g->ptr = std::move(r);
      g->done();
    });
  }
  co_await wait_for(g, deadline);
  facts.dnsbl = score_dnsbl(sites, config.dnsbl.threshold, g->answers);
  uint32_t ttl = sites.empty() ? 3600 : facts.dnsbl.ttl;
  if (rdns) {
    if (!g->ptr || g->ptr->status == DnsStatus::kTempFail) {
      facts.rdns = ReverseDns::kTempFail;
      ttl = std::min<uint32_t>(ttl, 60);
    } else if (g->ptr->ok()) {
      facts.rdns = ReverseDns::kFound;
      facts.ptr = g->ptr->records.front();
      ttl = std::min(ttl, std::max<uint32_t>(g->ptr->ttl, 60));
    } else {
      facts.rdns = ReverseDns::kMissing;
    }
  }
  // RFC 5782 2.2: the list's reason, for the refusal text, in the time left.
  if (facts.dnsbl.refused && !facts.dnsbl.top_zone.empty()) {
    auto t = std::make_shared<Gather>(ex);
    t->left = 1;
    asio::co_spawn(ex, dns.txt(dnsbl_query_name(address, facts.dnsbl.top_zone)),
                   [t](std::exception_ptr e, TxtResult r) {
                     if (!e) t->txt = std::move(r);
                     t->done();
                   });
    co_await wait_for(t, deadline);
    if (t->txt) facts.reason = dnsbl_reason_text(*t->txt);
  }
  std::string hits;
  for (const std::string& h : facts.dnsbl.hits) hits += (hits.empty() ? "" : ",") + h;
  log_info("session={} screen client={} score={} listed={} rdns={}{}{}", session_id, ip,
           facts.dnsbl.score, hits.empty() ? "-" : hits, reverse_dns_name(facts.rdns),
           facts.ptr.empty() ? "" : " ptr=" + log_value(facts.ptr),
           config.checks.reverse_dns == ChecksConfig::ReverseDns::kMark &&
                   facts.rdns == ReverseDns::kMissing
               ? " marked=no_reverse_dns"
               : "");
  // A lookup failure counts as not listed (postscreen does the same), and is logged.
  for (const std::string& f : facts.dnsbl.failures)
    log_warn("session={} screen client={} dnsbl lookup failed: {}", session_id, ip, log_quoted(f));
  cache_.put(ip, facts, now, ttl);
  co_return facts;
}

std::optional<Reply> ClientScreen::greeting(const ClientFacts& facts, const std::string& ip) {
  if (!facts.dnsbl.refused) return std::nullopt;
  std::string zone = facts.dnsbl.top_zone.empty() ? "DNSBL" : facts.dnsbl.top_zone;
  dnsbl_rejections().with({zone}).inc();
  return dnsbl_refusal(ip, zone, facts.reason);
}

std::optional<Reply> ClientScreen::check_mail(const Config& config, const ClientFacts& facts,
                                              const std::string& ip, const std::string& helo,
                                              const Address& from) {
  EarlyCheckOptions o;
  o.helo_reject = config.checks.helo_reject;
  using R = ChecksConfig::ReverseDns;
  o.reverse_dns = config.checks.reverse_dns == R::kReject ? EarlyCheckOptions::Rdns::kReject
                  : config.checks.reverse_dns == R::kMark ? EarlyCheckOptions::Rdns::kMark
                                                          : EarlyCheckOptions::Rdns::kOff;
  o.own_domain_reject = config.checks.own_domain_sender_reject;
  std::string from_str = from.str();
  EarlyCheckInput in{ip, helo, from_str,
                     !from.is_null() && is_local_domain(config, from.domain_lower()), facts.rdns};
  std::optional<EarlyRefusal> r = early_check_mail(o, in);
  if (!r) return std::nullopt;
  early_rejections().with({r->check}).inc();
  return std::move(r->reply);
}

std::string ClientScreen::mark_header(const Config& config, const ClientFacts& facts,
                                      const std::string& ip) {
  if (config.checks.reverse_dns != ChecksConfig::ReverseDns::kMark ||
      facts.rdns != ReverseDns::kMissing)
    return {};
  return fmt::format("X-Tern-Reverse-DNS: missing (client [{}] has no PTR record)\r\n", ip);
}

std::optional<Reply> ClientScreen::greylist(const std::string& ip, const Address& from,
                                            const Address& rcpt, int64_t now,
                                            const std::string& session_id) {
  if (!greylist_) return std::nullopt;
  std::string network = greylist_network(ip);
  if (network.empty()) return std::nullopt;
  std::string error;
  GreylistDecision d =
      greylist_->check(network, lower_address(from), lower_address(rcpt), now, &error);
  if (!error.empty()) log_warn("greylist {}: {}", greylist_->path(), error);
  greylist_results().with({greylist_result_name(d.result)}).inc();
  if (!d.deferred()) {
    if (d.result == GreylistResult::kPassed)
      log_info("session={} greylist client={} network={} from={} to={} result=passed", session_id,
               ip, network, log_value(lower_address(from)), log_value(lower_address(rcpt)));
    return std::nullopt;
  }
  // Logged as the refusal (on_refusal); RFC 6647 4.2: a 4xx the sender retries.
  return Reply(451, "4.7.1", fmt::format("Greylisted, try again in {} seconds", d.retry_in));
}

}  // namespace tern
