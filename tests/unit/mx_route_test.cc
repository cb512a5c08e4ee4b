#include "dns/mx_route.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace tern {
namespace {

asio::ip::address Ip(const char* s) { return asio::ip::make_address(s); }

template <typename T>
DnsResult<T> Ok(std::vector<T> records, std::string canonical = "") {
  DnsResult<T> r;
  r.status = DnsStatus::kOk;
  r.records = std::move(records);
  r.canonical_name = std::move(canonical);
  r.ttl = 300;
  return r;
}

template <typename T = asio::ip::address>
DnsResult<T> Failed(DnsStatus status, std::string error) {
  DnsResult<T> r;
  r.status = status;
  r.error = std::move(error);
  return r;
}

// A DnsLookup answering from maps; unknown names are NXDOMAIN. Records
// every query as "TYPE name".
class FakeDns : public DnsLookup {
 public:
  std::map<std::string, MxResult> mx_answers;
  std::map<std::string, AddressResult> a_answers, aaaa_answers;
  std::vector<std::string> queries;

  void Host(const std::string& name, std::vector<asio::ip::address> v6,
            std::vector<asio::ip::address> v4) {
    aaaa_answers[name] = v6.empty() ? Failed(DnsStatus::kNoData, "no AAAA record") : Ok(v6, name);
    a_answers[name] = v4.empty() ? Failed(DnsStatus::kNoData, "no A record") : Ok(v4, name);
  }

  asio::awaitable<MxResult> mx(std::string name) override {
    co_return Find(mx_answers, "MX", name);
  }
  asio::awaitable<AddressResult> a(std::string name) override {
    co_return Find(a_answers, "A", name);
  }
  asio::awaitable<AddressResult> aaaa(std::string name) override {
    co_return Find(aaaa_answers, "AAAA", name);
  }
  asio::awaitable<TxtResult> txt(std::string name) override {
    queries.push_back("TXT " + name);
    co_return Failed<TxtRecord>(DnsStatus::kNxDomain, "NXDOMAIN");
  }
  asio::awaitable<NameResult> ptr(asio::ip::address address) override {
    queries.push_back("PTR " + address.to_string());
    co_return Failed<std::string>(DnsStatus::kNxDomain, "NXDOMAIN");
  }

 private:
  template <typename R>
  R Find(const std::map<std::string, R>& answers, const char* type, const std::string& name) {
    queries.push_back(std::string(type) + " " + name);
    const auto it = answers.find(name);
    if (it != answers.end()) return it->second;
    return Failed<typename decltype(R::records)::value_type>(DnsStatus::kNxDomain, "NXDOMAIN");
  }
};

// Always picks the same end of the range.
size_t First(size_t) { return 0; }
size_t Last(size_t n) { return n - 1; }

Route Resolve(FakeDns& dns, const std::string& domain, RandomBelow random = Last,
              RouteOptions options = {}) {
  asio::io_context io;
  Route out;
  asio::co_spawn(io, resolve_route(dns, domain, std::move(random), options),
                 [&](std::exception_ptr e, Route r) {
                   if (e) std::rethrow_exception(e);
                   out = std::move(r);
                 });
  io.run();
  return out;
}

std::vector<std::string> Names(const Route& r) {
  std::vector<std::string> out;
  for (const auto& h : r.hosts) out.push_back(h.name);
  return out;
}

TEST(MxRouteTest, SortsByPreferenceAndListsIpv6First) {
  FakeDns dns;
  dns.mx_answers["example.org"] =
      Ok<MxRecord>({{20, "b.example.org"}, {10, "a.example.org"}, {30, "c.example.org"}});
  dns.Host("a.example.org", {Ip("2001:db8::a")}, {Ip("192.0.2.1"), Ip("192.0.2.2")});
  dns.Host("b.example.org", {}, {Ip("192.0.2.3")});
  dns.Host("c.example.org", {Ip("2001:db8::c")}, {});
  const Route r = Resolve(dns, "example.org");
  ASSERT_EQ(r.status, RouteStatus::kOk);
  EXPECT_EQ(r.domain, "example.org");
  EXPECT_FALSE(r.implicit_mx);
  ASSERT_EQ(r.hosts.size(), 3u);
  EXPECT_EQ(
      r.hosts[0],
      (RouteHost{"a.example.org", 10, {Ip("2001:db8::a"), Ip("192.0.2.1"), Ip("192.0.2.2")}}));
  EXPECT_EQ(r.hosts[1], (RouteHost{"b.example.org", 20, {Ip("192.0.2.3")}}));
  EXPECT_EQ(r.hosts[2], (RouteHost{"c.example.org", 30, {Ip("2001:db8::c")}}));
}

TEST(MxRouteTest, CarriesDnssecSecurity) {
  // RFC 7672 2.2: DANE needs a secure MX RRset and secure host addresses.
  auto secure = [](auto r) {
    r.security = DnsSecurity::kSecure;
    return r;
  };
  FakeDns dns;
  dns.mx_answers["example.org"] =
      secure(Ok<MxRecord>({{10, "a.example.org"}, {20, "b.example.org"}, {30, "c.example.org"}}));
  dns.aaaa_answers["a.example.org"] = secure(Failed(DnsStatus::kNoData, "no AAAA record"));
  dns.a_answers["a.example.org"] = secure(Ok<asio::ip::address>({Ip("192.0.2.1")}));
  dns.Host("b.example.org", {}, {Ip("192.0.2.2")});  // an unsigned zone
  dns.aaaa_answers["c.example.org"] = secure(Failed(DnsStatus::kNoData, "no AAAA record"));
  dns.a_answers["c.example.org"] = Ok<asio::ip::address>({Ip("192.0.2.3")});  // one family insecure
  const Route r = Resolve(dns, "example.org");
  ASSERT_EQ(r.status, RouteStatus::kOk);
  EXPECT_TRUE(r.mx_secure);
  ASSERT_EQ(r.hosts.size(), 3u);
  EXPECT_TRUE(r.hosts[0].secure);
  EXPECT_FALSE(r.hosts[1].secure);
  EXPECT_FALSE(r.hosts[2].secure);
  // Without validation nothing is secure.
  FakeDns plain;
  plain.mx_answers["example.org"] = Ok<MxRecord>({{10, "a.example.org"}});
  plain.Host("a.example.org", {}, {Ip("192.0.2.1")});
  const Route p = Resolve(plain, "example.org");
  EXPECT_FALSE(p.mx_secure);
  EXPECT_FALSE(p.hosts.at(0).secure);
}

TEST(MxRouteTest, Ipv4FirstWhenAsked) {
  FakeDns dns;
  dns.mx_answers["example.org"] = Ok<MxRecord>({{10, "a.example.org"}});
  dns.Host("a.example.org", {Ip("2001:db8::a")}, {Ip("192.0.2.1")});
  RouteOptions options;
  options.ipv6_first = false;
  const Route r = Resolve(dns, "example.org", Last, options);
  ASSERT_EQ(r.hosts.size(), 1u);
  EXPECT_EQ(r.hosts[0].addresses, (std::vector{Ip("192.0.2.1"), Ip("2001:db8::a")}));
}

TEST(MxRouteTest, EqualPreferencesInRandomOrder) {
  FakeDns dns;
  dns.mx_answers["example.org"] = Ok<MxRecord>({{10, "a.example.org"}, {10, "b.example.org"}});
  dns.Host("a.example.org", {}, {Ip("192.0.2.1")});
  dns.Host("b.example.org", {}, {Ip("192.0.2.2")});
  // The injected choice decides the order...
  EXPECT_EQ(Names(Resolve(dns, "example.org", Last)),
            (std::vector<std::string>{"a.example.org", "b.example.org"}));
  EXPECT_EQ(Names(Resolve(dns, "example.org", First)),
            (std::vector<std::string>{"b.example.org", "a.example.org"}));
  // ...and a real generator gives both.
  std::mt19937 engine(42);
  RandomBelow random = [&](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(engine);
  };
  std::map<std::vector<std::string>, int> seen;
  for (int i = 0; i < 100; ++i) ++seen[Names(Resolve(dns, "example.org", random))];
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& [order, count] : seen) EXPECT_GT(count, 25);
}

TEST(MxRouteTest, ShuffleIsUniformAndStaysWithinAPreference) {
  MxResult mx = Ok<MxRecord>({{20, "d"}, {10, "a"}, {10, "b"}, {10, "c"}, {20, "e"}});
  std::mt19937 engine(7);
  RandomBelow random = [&](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(engine);
  };
  std::map<std::string, int> firsts;  // order of a, b, c
  for (int i = 0; i < 600; ++i) {
    const MxPlan plan = plan_mx("example.org", mx, random, 10);
    ASSERT_EQ(plan.targets.size(), 5u);
    std::string head, tail;
    for (size_t k = 0; k < 3; ++k) head += plan.targets[k].host;
    for (size_t k = 3; k < 5; ++k) tail += plan.targets[k].host;
    ASSERT_TRUE(tail == "de" || tail == "ed") << tail;
    ++firsts[head];
  }
  ASSERT_EQ(firsts.size(), 6u);  // every permutation of three
  for (const auto& [order, count] : firsts) EXPECT_GT(count, 60) << order;
}

TEST(MxRouteTest, DuplicateHostsAndAddressesOnce) {
  FakeDns dns;
  dns.mx_answers["example.org"] =
      Ok<MxRecord>({{30, "a.example.org"}, {10, "a.example.org"}, {20, "b.example.org"}});
  dns.Host("a.example.org", {}, {Ip("192.0.2.1")});
  dns.Host("b.example.org", {}, {Ip("192.0.2.1"), Ip("192.0.2.2")});
  const Route r = Resolve(dns, "example.org");
  ASSERT_EQ(r.status, RouteStatus::kOk);
  ASSERT_EQ(r.hosts.size(), 2u);
  EXPECT_EQ(r.hosts[0], (RouteHost{"a.example.org", 10, {Ip("192.0.2.1")}}));
  EXPECT_EQ(r.hosts[1], (RouteHost{"b.example.org", 20, {Ip("192.0.2.2")}}));
}

TEST(MxRouteTest, ImplicitMxIsTheDomain) {
  FakeDns dns;
  dns.mx_answers["example.org"] = Failed<MxRecord>(DnsStatus::kNoData, "no MX record");
  dns.Host("example.org", {Ip("2001:db8::7")}, {Ip("192.0.2.7")});
  const Route r = Resolve(dns, "Example.ORG.");
  ASSERT_EQ(r.status, RouteStatus::kOk);
  EXPECT_TRUE(r.implicit_mx);
  ASSERT_EQ(r.hosts.size(), 1u);
  EXPECT_EQ(r.hosts[0], (RouteHost{"example.org", 0, {Ip("2001:db8::7"), Ip("192.0.2.7")}}));
  EXPECT_EQ(dns.queries,
            (std::vector<std::string>{"MX example.org", "AAAA example.org", "A example.org"}));
}

TEST(MxRouteTest, AnEmptyMxListIsAnImplicitMxToo) {
  FakeDns dns;
  dns.mx_answers["example.org"] = Ok<MxRecord>({});
  dns.Host("example.org", {}, {Ip("192.0.2.7")});
  const Route r = Resolve(dns, "example.org");
  ASSERT_EQ(r.status, RouteStatus::kOk);
  EXPECT_TRUE(r.implicit_mx);
  EXPECT_EQ(r.hosts, (std::vector{RouteHost{"example.org", 0, {Ip("192.0.2.7")}}}));
}

TEST(MxRouteTest, ImplicitMxFollowsTheCname) {
  FakeDns dns;
  MxResult none = Failed<MxRecord>(DnsStatus::kNoData, "no MX record");
  none.canonical_name = "real.example.net";  // example.org CNAME real.example.net
  dns.mx_answers["example.org"] = none;
  dns.Host("real.example.net", {}, {Ip("192.0.2.8")});
  const Route r = Resolve(dns, "example.org");
  ASSERT_EQ(r.status, RouteStatus::kOk);
  EXPECT_EQ(r.hosts, (std::vector{RouteHost{"real.example.net", 0, {Ip("192.0.2.8")}}}));
}

TEST(MxRouteTest, ImplicitMxWithoutAddressIsPermanent) {
  FakeDns dns;
  dns.mx_answers["example.org"] = Failed<MxRecord>(DnsStatus::kNoData, "no MX record");
  dns.Host("example.org", {}, {});
  const Route r = Resolve(dns, "example.org");
  EXPECT_EQ(r.status, RouteStatus::kFail);
  EXPECT_TRUE(r.hosts.empty());
  EXPECT_EQ(r.reply.brief(), "550 5.1.2 Domain example.org has no MX and no address");
}

TEST(MxRouteTest, NullMxFailsWithoutAddressLookups) {
  FakeDns dns;
  dns.mx_answers["example.org"] = Ok<MxRecord>({{0, "."}});
  const Route r = Resolve(dns, "example.org");
  EXPECT_EQ(r.status, RouteStatus::kNullMx);
  EXPECT_TRUE(r.hosts.empty());
  EXPECT_EQ(r.reply.code, 556);
  EXPECT_EQ(r.reply.enhanced, "5.1.10");
  EXPECT_EQ(r.reply.brief(), "556 5.1.10 Recipient address has null MX (example.org)");
  EXPECT_EQ(dns.queries, std::vector<std::string>{"MX example.org"});
}

TEST(MxRouteTest, NullMxAmongOtherRecordsStillMeansNoMail) {
  FakeDns dns;
  dns.mx_answers["example.org"] = Ok<MxRecord>({{10, "mx.example.org"}, {0, "."}});
  dns.Host("mx.example.org", {}, {Ip("192.0.2.1")});
  EXPECT_EQ(Resolve(dns, "example.org").status, RouteStatus::kNullMx);
  dns.mx_answers["example.org"] = Ok<MxRecord>({{10, "."}});
  EXPECT_EQ(Resolve(dns, "example.org").status, RouteStatus::kNullMx);
}

TEST(MxRouteTest, NxDomainIsPermanent) {
  FakeDns dns;  // knows nothing
  const Route r = Resolve(dns, "nowhere.example");
  EXPECT_EQ(r.status, RouteStatus::kFail);
  EXPECT_EQ(r.reply.brief(), "550 5.1.2 Domain nowhere.example does not exist");
  EXPECT_EQ(dns.queries, std::vector<std::string>{"MX nowhere.example"});
}

TEST(MxRouteTest, MxTempFailIsTransient) {
  for (const char* why : {"SERVFAIL", "timed out after 10s"}) {
    FakeDns dns;
    dns.mx_answers["example.org"] = Failed<MxRecord>(DnsStatus::kTempFail, why);
    const Route r = Resolve(dns, "example.org");
    EXPECT_EQ(r.status, RouteStatus::kRetry);
    EXPECT_TRUE(r.hosts.empty());
    EXPECT_EQ(r.reply.brief(), std::string("451 4.4.3 MX lookup for example.org failed: ") + why);
    EXPECT_EQ(dns.queries.size(), 1u);
  }
}

TEST(MxRouteTest, HostsWithoutAddressesAreSkipped) {
  FakeDns dns;
  dns.mx_answers["example.org"] =
      Ok<MxRecord>({{10, "gone.example.org"}, {20, "slow.example.org"}, {30, "ok.example.org"}});
  // gone: NXDOMAIN (unknown to the fake); slow: AAAA times out, A has nothing.
  dns.aaaa_answers["slow.example.org"] = Failed(DnsStatus::kTempFail, "timed out after 10s");
  dns.a_answers["slow.example.org"] = Failed(DnsStatus::kNoData, "no A record");
  dns.Host("ok.example.org", {}, {Ip("192.0.2.9")});
  const Route r = Resolve(dns, "example.org");
  ASSERT_EQ(r.status, RouteStatus::kOk);
  EXPECT_EQ(r.hosts, (std::vector{RouteHost{"ok.example.org", 30, {Ip("192.0.2.9")}}}));
}

TEST(MxRouteTest, AHostWithOneFamilyFailingKeepsTheOther) {
  FakeDns dns;
  dns.mx_answers["example.org"] = Ok<MxRecord>({{10, "mx.example.org"}});
  dns.aaaa_answers["mx.example.org"] = Failed(DnsStatus::kTempFail, "SERVFAIL");
  dns.a_answers["mx.example.org"] = Ok<asio::ip::address>({Ip("192.0.2.1")});
  const Route r = Resolve(dns, "example.org");
  ASSERT_EQ(r.status, RouteStatus::kOk);
  EXPECT_EQ(r.hosts[0].addresses, std::vector{Ip("192.0.2.1")});
}

TEST(MxRouteTest, NoHostWithAnAddress) {
  FakeDns dns;
  dns.mx_answers["example.org"] = Ok<MxRecord>({{10, "a.example.org"}, {20, "b.example.org"}});
  dns.Host("b.example.org", {}, {});
  // Both hard failures: permanent.
  Route r = Resolve(dns, "example.org");
  EXPECT_EQ(r.status, RouteStatus::kFail);
  EXPECT_EQ(r.reply.brief(),
            "550 5.4.4 No MX host of example.org has an address (a.example.org: NXDOMAIN)");
  // One of them temporary: try again later.
  dns.a_answers["b.example.org"] = Failed(DnsStatus::kTempFail, "SERVFAIL");
  r = Resolve(dns, "example.org");
  EXPECT_EQ(r.status, RouteStatus::kRetry);
  EXPECT_EQ(r.reply.brief(),
            "451 4.4.3 Address lookup for example.org failed: b.example.org: "
            "SERVFAIL");
  EXPECT_TRUE(r.hosts.empty());
}

TEST(MxRouteTest, InvalidMxHostIsSkipped) {
  FakeDns dns;
  dns.mx_answers["example.org"] =
      Ok<MxRecord>({{10, "bad\\032host.example.org"}, {20, "mx.example.org"}});
  dns.Host("mx.example.org", {}, {Ip("192.0.2.1")});
  const Route r = Resolve(dns, "example.org");
  ASSERT_EQ(r.status, RouteStatus::kOk);
  EXPECT_EQ(Names(r), std::vector<std::string>{"mx.example.org"});
  for (const auto& q : dns.queries) EXPECT_EQ(q.find("bad"), std::string::npos) << q;
}

TEST(MxRouteTest, AddressLiteralsNeedNoDns) {
  FakeDns dns;
  Route r = Resolve(dns, "[192.0.2.1]");
  ASSERT_EQ(r.status, RouteStatus::kOk);
  EXPECT_EQ(r.hosts, (std::vector{RouteHost{"[192.0.2.1]", 0, {Ip("192.0.2.1")}}}));
  r = Resolve(dns, "[IPv6:2001:DB8::1]");
  ASSERT_EQ(r.status, RouteStatus::kOk);
  EXPECT_EQ(r.hosts, (std::vector{RouteHost{"[ipv6:2001:db8::1]", 0, {Ip("2001:db8::1")}}}));
  for (const char* bad :
       {"[300.1.1.1]", "[2001:db8::1]", "[IPv6:zz::1]", "[IPv6:fe80::1%eth0]", "[]", "[1.2.3]"}) {
    r = Resolve(dns, bad);
    EXPECT_EQ(r.status, RouteStatus::kFail) << bad;
    EXPECT_EQ(r.reply.brief(), std::string("550 5.1.2 Invalid address literal ") + bad);
  }
  EXPECT_TRUE(dns.queries.empty());
}

TEST(MxRouteTest, InvalidDomainsNeedNoDns) {
  FakeDns dns;
  const std::string u_label =
      "b\xC3\xBC"
      "cher.example";  // needs IDNA first
  for (const std::string& bad : {std::string(), std::string("exa mple.org"), u_label,
                                 std::string("a..b"), std::string("-a.org")}) {
    const Route r = Resolve(dns, bad);
    EXPECT_EQ(r.status, RouteStatus::kFail) << bad;
    EXPECT_EQ(r.reply.code, 550);
    EXPECT_EQ(r.reply.enhanced, "5.1.2");
  }
  EXPECT_TRUE(dns.queries.empty());
}

TEST(MxRouteTest, HostLimit) {
  FakeDns dns;
  dns.mx_answers["example.org"] =
      Ok<MxRecord>({{10, "a.example.org"}, {20, "b.example.org"}, {30, "c.example.org"}});
  for (const char* h : {"a.example.org", "b.example.org", "c.example.org"}) dns.Host(h, {}, {});
  dns.Host("c.example.org", {}, {Ip("192.0.2.3")});
  RouteOptions options;
  options.max_hosts = 2;
  const Route r = Resolve(dns, "example.org", Last, options);
  EXPECT_EQ(r.status, RouteStatus::kFail);  // c, the only one with an address, is beyond the limit
  for (const auto& q : dns.queries) EXPECT_EQ(q.find("c.example.org"), std::string::npos) << q;
}

TEST(MxRouteTest, AddressLimit) {
  FakeDns dns;
  dns.mx_answers["example.org"] =
      Ok<MxRecord>({{10, "a.example.org"}, {20, "b.example.org"}, {30, "c.example.org"}});
  dns.Host("a.example.org", {Ip("2001:db8::1")}, {Ip("192.0.2.1")});
  dns.Host("b.example.org", {Ip("2001:db8::2")}, {Ip("192.0.2.2")});
  dns.Host("c.example.org", {}, {Ip("192.0.2.3")});
  RouteOptions options;
  options.max_addresses = 3;
  const Route r = Resolve(dns, "example.org", Last, options);
  ASSERT_EQ(r.status, RouteStatus::kOk);
  EXPECT_EQ(r.hosts,
            (std::vector{RouteHost{"a.example.org", 10, {Ip("2001:db8::1"), Ip("192.0.2.1")}},
                         RouteHost{"b.example.org", 20, {Ip("2001:db8::2")}}}));
  // Once the limit is reached, no further host is looked up.
  for (const auto& q : dns.queries) EXPECT_EQ(q.find("c.example.org"), std::string::npos) << q;
}

TEST(MxRouteTest, StatusNames) {
  EXPECT_STREQ(route_status_name(RouteStatus::kOk), "ok");
  EXPECT_STREQ(route_status_name(RouteStatus::kRetry), "retry");
  EXPECT_STREQ(route_status_name(RouteStatus::kFail), "fail");
  EXPECT_STREQ(route_status_name(RouteStatus::kNullMx), "null MX");
}

TEST(MxRouteTest, SystemRandomStaysInRange) {
  RandomBelow random = system_random();
  std::set<size_t> seen;
  for (int i = 0; i < 200; ++i) {
    const size_t v = random(3);
    ASSERT_LT(v, 3u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(random(1), 0u);
}

}  // namespace
}  // namespace tern
