// MX routing; the rules are listed in mx_route.h.
#include "dns/mx_route.h"

#include <fmt/format.h>

#include <algorithm>
#include <asio/experimental/awaitable_operators.hpp>
#include <memory>
#include <random>
#include <set>

#include "core/ascii.h"
#include "core/domain.h"
#include "dns/rdata.h"

namespace tern {
namespace {

Route failed(RouteStatus status, std::string domain, Reply reply) {
  Route r;
  r.status = status;
  r.domain = std::move(domain);
  r.reply = std::move(reply);
  return r;
}

Reply temporary(std::string_view what) { return Reply(451, "4.4.3", std::string(what)); }

std::optional<asio::ip::address> parse_literal(std::string_view inner) {
  std::error_code ec;
  constexpr std::string_view kTag = "ipv6:";  // RFC 5321 4.1.3; tags are case-insensitive
  if (inner.size() > kTag.size() && ascii_lower(inner.substr(0, kTag.size())) == kTag) {
    const std::string text(inner.substr(kTag.size()));
    if (text.find('%') != std::string::npos) return std::nullopt;  // no scope ids
    const auto v6 = asio::ip::make_address_v6(text, ec);
    if (ec) return std::nullopt;
    return asio::ip::address(v6);
  }
  const auto v4 = asio::ip::make_address_v4(std::string(inner), ec);
  if (ec) return std::nullopt;
  return asio::ip::address(v4);
}

// Why a host gave no address, for the reply text.
std::string host_problem(const MxTarget& t, const HostLookup& l) {
  const AddressResult& worse = l.aaaa.status == DnsStatus::kTempFail ? l.aaaa : l.a;
  return fmt::format("{}: {}", t.host, worse.error.empty() ? "no address" : worse.error);
}

}  // namespace

const char* route_status_name(RouteStatus s) {
  switch (s) {
    case RouteStatus::kOk:
      return "ok";
    case RouteStatus::kRetry:
      return "retry";
    case RouteStatus::kFail:
      return "fail";
    case RouteStatus::kNullMx:
      return "null MX";
  }
  return "?";
}

RandomBelow system_random() {
  auto engine = std::make_shared<std::mt19937>(std::random_device{}());
  return [engine](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(*engine); };
}

std::optional<Route> route_without_dns(std::string_view domain) {
  std::string d = ascii_lower(domain);
  if (d.size() >= 2 && d.front() == '[' && d.back() == ']') {
    const auto address = parse_literal(std::string_view(domain).substr(1, domain.size() - 2));
    if (!address) {
      return failed(RouteStatus::kFail, d,
                    Reply(550, "5.1.2", fmt::format("Invalid address literal {}", domain)));
    }
    Route r;
    r.status = RouteStatus::kOk;
    r.hosts.push_back(RouteHost{d, 0, {*address}});
    r.domain = std::move(d);
    return r;
  }
  if (!d.empty() && d.back() == '.') d.pop_back();  // "example.org." is example.org
  if (!is_valid_domain(d)) {
    // Also U-labels: IDNA (RFC 5891) conversion is not done yet.
    return failed(RouteStatus::kFail, d,
                  Reply(550, "5.1.2", fmt::format("Invalid destination domain {}", domain)));
  }
  return std::nullopt;
}

MxPlan plan_mx(std::string_view domain, const MxResult& mx, const RandomBelow& random,
               size_t max_hosts) {
  MxPlan plan;
  plan.mx_secure = mx.secure();
  switch (mx.status) {
    case DnsStatus::kTempFail:
      plan.status = RouteStatus::kRetry;
      plan.reply = temporary(fmt::format("MX lookup for {} failed: {}", domain, mx.error));
      return plan;
    case DnsStatus::kNxDomain:
      plan.status = RouteStatus::kFail;
      plan.reply = Reply(550, "5.1.2", fmt::format("Domain {} does not exist", domain));
      return plan;
    case DnsStatus::kNoData:
    case DnsStatus::kOk:
      break;
  }
  if (mx.records.empty()) {
    // RFC 5321 5.1: "If an empty list of MXs is returned, the address is treated as if
    // it was associated with an implicit MX RR, with a preference of 0, pointing to
    // that host."
    plan.status = RouteStatus::kOk;
    plan.implicit_mx = true;
    plan.targets.push_back(
        MxTarget{mx.canonical_name.empty() ? std::string(domain) : mx.canonical_name, 0});
    return plan;
  }
  for (const MxRecord& r : mx.records) {
    if (r.host == "." || r.host.empty()) {
      plan.status = RouteStatus::kNullMx;  // RFC 7505 3, 4.1
      plan.reply = Reply(556, "5.1.10", fmt::format("Recipient address has null MX ({})", domain));
      return plan;
    }
  }
  std::vector<MxTarget> all;
  for (const MxRecord& r : mx.records) all.push_back(MxTarget{r.host, r.preference});
  std::stable_sort(all.begin(), all.end(), [](const MxTarget& x, const MxTarget& y) {
    return x.preference < y.preference;
  });
  // Fisher-Yates within each run of equal preference.
  for (size_t begin = 0; begin < all.size();) {
    size_t end = begin;
    while (end < all.size() && all[end].preference == all[begin].preference) ++end;
    for (size_t i = end - begin; i > 1; --i) {
      std::swap(all[begin + i - 1], all[begin + random(i)]);
    }
    begin = end;
  }
  std::set<std::string> seen;
  for (MxTarget& t : all) {
    if (plan.targets.size() >= max_hosts) break;
    if (seen.insert(t.host).second) plan.targets.push_back(std::move(t));
  }
  plan.status = RouteStatus::kOk;
  return plan;
}

Route assemble_route(std::string_view domain, const MxPlan& plan,
                     const std::vector<HostLookup>& lookups, const RouteOptions& options) {
  if (plan.status != RouteStatus::kOk) {
    Route r = failed(plan.status, std::string(domain), plan.reply);
    r.implicit_mx = plan.implicit_mx;
    r.mx_secure = plan.mx_secure;
    return r;
  }
  Route route;
  route.domain = std::string(domain);
  route.implicit_mx = plan.implicit_mx;
  route.mx_secure = plan.mx_secure;
  std::set<asio::ip::address> seen;
  size_t total = 0;
  std::string temporary_problem, permanent_problem;  // the first of each, for the reply
  for (size_t i = 0; i < lookups.size() && i < plan.targets.size(); ++i) {
    const MxTarget& target = plan.targets[i];
    const HostLookup& l = lookups[i];
    RouteHost host{target.host, target.preference, {}, true};
    const AddressResult& first = options.ipv6_first ? l.aaaa : l.a;
    const AddressResult& second = options.ipv6_first ? l.a : l.aaaa;
    for (const AddressResult* result : {&first, &second}) {
      // A failed lookup proves nothing either: with one family bogus or
      // unanswered, the host is not treated as secure.
      if (!result->secure()) host.secure = false;
      if (result->status != DnsStatus::kOk) continue;
      for (const asio::ip::address& address : result->records) {
        if (total >= options.max_addresses) break;
        if (!seen.insert(address).second) continue;
        host.addresses.push_back(address);
        ++total;
      }
    }
    if (!host.addresses.empty()) {
      route.hosts.push_back(std::move(host));
    } else if (l.aaaa.status == DnsStatus::kTempFail || l.a.status == DnsStatus::kTempFail) {
      if (temporary_problem.empty()) temporary_problem = host_problem(target, l);
    } else if (l.aaaa.status != DnsStatus::kOk && l.a.status != DnsStatus::kOk) {
      if (permanent_problem.empty()) permanent_problem = host_problem(target, l);
    }  // else: its addresses were listed already, or beyond the limit
  }
  if (!route.hosts.empty()) {
    route.status = RouteStatus::kOk;
  } else if (!temporary_problem.empty()) {
    route.status = RouteStatus::kRetry;
    route.reply =
        temporary(fmt::format("Address lookup for {} failed: {}", domain, temporary_problem));
  } else if (plan.implicit_mx) {
    route.status = RouteStatus::kFail;
    route.reply = Reply(550, "5.1.2", fmt::format("Domain {} has no MX and no address", domain));
  } else {
    route.status = RouteStatus::kFail;
    route.reply =
        Reply(550, "5.4.4",
              permanent_problem.empty()
                  ? fmt::format("No MX host of {} has an address", domain)
                  : fmt::format("No MX host of {} has an address ({})", domain, permanent_problem));
  }
  return route;
}

asio::awaitable<Route> resolve_route(DnsLookup& dns, std::string domain, RandomBelow random,
                                     RouteOptions options) {
  if (std::optional<Route> direct = route_without_dns(domain)) co_return std::move(*direct);
  const std::string name = normalize_name(domain);
  MxResult mx = co_await dns.mx(name);
  co_return co_await resolve_route_from_mx(dns, name, std::move(mx), std::move(random), options);
}

asio::awaitable<Route> resolve_route_from_mx(DnsLookup& dns, std::string domain, MxResult mx,
                                             RandomBelow random, RouteOptions options) {
  using namespace asio::experimental::awaitable_operators;
  const std::string name = normalize_name(domain);
  const MxPlan plan = plan_mx(name, mx, random, options.max_hosts);
  std::vector<HostLookup> lookups;
  if (plan.status == RouteStatus::kOk) {
    size_t addresses = 0;
    for (const MxTarget& target : plan.targets) {
      if (addresses >= options.max_addresses) break;
      if (!is_valid_domain(target.host)) {
        // Not a host name (e.g. "\032" escapes): a hard failure of this host.
        HostLookup bad;
        bad.aaaa.status = bad.a.status = DnsStatus::kNxDomain;
        bad.aaaa.error = bad.a.error = "not a valid host name";
        lookups.push_back(std::move(bad));
        continue;
      }
      auto [aaaa, a] = co_await (dns.aaaa(target.host) && dns.a(target.host));
      addresses += aaaa.records.size() + a.records.size();
      lookups.push_back(HostLookup{std::move(aaaa), std::move(a)});
    }
  }
  co_return assemble_route(name, plan, lookups, options);
}

}  // namespace tern
