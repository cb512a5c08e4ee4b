// The TLS requirement of each MX host (relay/dane.h): RFC 7672's rules
// and the [[tls_policy]] levels, with DNS answers made up in memory.
#include "relay/dane.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <map>
#include <string>
#include <vector>

#include "dns/mx_route.h"

namespace tern {
namespace {

TlsaRecord Tlsa(uint8_t usage, uint8_t selector, uint8_t matching, size_t size = 32) {
  return TlsaRecord{usage, selector, matching, std::string(size, '\x5a')};
}

TlsaResult Answer(DnsStatus status, DnsSecurity security, std::vector<TlsaRecord> records = {}) {
  TlsaResult r;
  r.status = status;
  r.security = security;
  r.records = std::move(records);
  r.canonical_name = "_25._tcp.mx.example.org";
  if (security == DnsSecurity::kBogus)
    r.error = "DNSSEC validation failed for TLSA: signature expired";
  return r;
}

// A route whose MX answer and host addresses are secure or not.
Route SecureRoute(bool mx_secure = true, bool host_secure = true) {
  Route r;
  r.status = RouteStatus::kOk;
  r.domain = "example.org";
  r.mx_secure = mx_secure;
  r.hosts.push_back(
      RouteHost{"mx.example.org", 10, {asio::ip::make_address("192.0.2.25")}, host_secure});
  return r;
}

DestinationTls Level(TlsPolicyLevel level, std::vector<std::string> match = {}) {
  DestinationTls d;
  d.level = level;
  d.match = std::move(match);
  return d;
}

TEST(DaneTest, UsableRecordsFollowRfc7672) {
  EXPECT_TRUE(tlsa_usable(Tlsa(3, 1, 1)));
  EXPECT_TRUE(tlsa_usable(Tlsa(3, 0, 1)));
  EXPECT_TRUE(tlsa_usable(Tlsa(2, 0, 1)));
  EXPECT_TRUE(tlsa_usable(Tlsa(2, 1, 2, 64)));
  EXPECT_TRUE(tlsa_usable(Tlsa(3, 1, 0, 294)));  // a whole SPKI
  // 3.1.3: PKIX-TA(0) and PKIX-EE(1) are not for SMTP.
  EXPECT_FALSE(tlsa_usable(Tlsa(0, 0, 1)));
  EXPECT_FALSE(tlsa_usable(Tlsa(1, 1, 1)));
  // Unknown selector or matching type; digests of the wrong size.
  EXPECT_FALSE(tlsa_usable(Tlsa(3, 2, 1)));
  EXPECT_FALSE(tlsa_usable(Tlsa(3, 1, 3)));
  EXPECT_FALSE(tlsa_usable(Tlsa(3, 1, 1, 31)));
  EXPECT_FALSE(tlsa_usable(Tlsa(3, 1, 2, 32)));
}

TEST(DaneTest, TlsaName) { EXPECT_EQ(tlsa_name("mx.example.org", 25), "_25._tcp.mx.example.org"); }

TEST(DaneTest, SecureUsableTlsaMakesDaneMandatory) {
  const Route route = SecureRoute();
  const TlsaResult tlsa =
      Answer(DnsStatus::kOk, DnsSecurity::kSecure, {Tlsa(3, 1, 1), Tlsa(1, 1, 1)});
  ASSERT_TRUE(wants_tlsa(Level(TlsPolicyLevel::kDane), route, route.hosts[0]));
  const TlsRequirement r =
      host_requirement(Level(TlsPolicyLevel::kDane), route, route.hosts[0], &tlsa);
  EXPECT_EQ(r.level, TlsLevel::kDane);
  EXPECT_EQ(r.source, TlsSource::kDane);
  EXPECT_TRUE(r.failure.empty());
  ASSERT_EQ(r.tlsa.size(), 1u);  // the PKIX-EE record is dropped
  EXPECT_EQ(r.tlsa[0].usage, 3);
  EXPECT_EQ(r.names, std::vector<std::string>{"mx.example.org"});
  EXPECT_TRUE(tls_mandatory(r));
  EXPECT_TRUE(tls_authenticated(r));
  EXPECT_EQ(requirement_text(r), "policy=dane(dane) dane=usable");
}

TEST(DaneTest, SecureButUnusableTlsaMeansEncryptWithoutAuthentication) {
  const Route route = SecureRoute();
  const TlsaResult tlsa = Answer(DnsStatus::kOk, DnsSecurity::kSecure, {Tlsa(1, 1, 1)});
  const TlsRequirement r =
      host_requirement(Level(TlsPolicyLevel::kDane), route, route.hosts[0], &tlsa);
  EXPECT_EQ(r.level, TlsLevel::kEncrypt);
  EXPECT_EQ(r.dane, "unusable");
  EXPECT_TRUE(r.failure.empty());
  // dane-only gives such a host up.
  const TlsRequirement only =
      host_requirement(Level(TlsPolicyLevel::kDaneOnly), route, route.hosts[0], &tlsa);
  EXPECT_FALSE(only.failure.empty());
}

TEST(DaneTest, BogusTlsaSkipsTheHostNeverPlaintext) {
  const Route route = SecureRoute();
  const TlsaResult bogus = Answer(DnsStatus::kTempFail, DnsSecurity::kBogus);
  const TlsRequirement r =
      host_requirement(Level(TlsPolicyLevel::kDane), route, route.hosts[0], &bogus);
  EXPECT_EQ(r.dane, "bogus");
  EXPECT_NE(r.failure.find("signature expired"), std::string::npos);
  EXPECT_TRUE(tls_mandatory(r));
  const Reply reply = requirement_failure_reply("mx.example.org", r);
  EXPECT_EQ(reply.code, 451);
  EXPECT_EQ(reply.enhanced, "4.7.5");
  // A TLSA lookup that timed out is no better (RFC 7672 2.2.3).
  TlsaResult timeout = Answer(DnsStatus::kTempFail, DnsSecurity::kInsecure);
  timeout.error = "timed out after 2s";
  const TlsRequirement t =
      host_requirement(Level(TlsPolicyLevel::kDane), route, route.hosts[0], &timeout);
  EXPECT_EQ(t.dane, "failed");
  EXPECT_FALSE(t.failure.empty());
}

TEST(DaneTest, SecureDenialOrInsecureTlsaIsOpportunistic) {
  const Route route = SecureRoute();
  for (const TlsaResult& tlsa : {Answer(DnsStatus::kNoData, DnsSecurity::kSecure),
                                 Answer(DnsStatus::kNxDomain, DnsSecurity::kSecure),
                                 Answer(DnsStatus::kOk, DnsSecurity::kInsecure, {Tlsa(3, 1, 1)})}) {
    const TlsRequirement r =
        host_requirement(Level(TlsPolicyLevel::kDane), route, route.hosts[0], &tlsa);
    EXPECT_EQ(r.level, TlsLevel::kMay);
    EXPECT_TRUE(r.failure.empty());
    EXPECT_FALSE(tls_mandatory(r));
    const TlsRequirement only =
        host_requirement(Level(TlsPolicyLevel::kDaneOnly), route, route.hosts[0], &tlsa);
    EXPECT_FALSE(only.failure.empty());
  }
}

TEST(DaneTest, InsecureMxOrInsecureHostGetsNoTlsaLookup) {
  // RFC 7672 2.2.1: an insecure MX RRset: no DANE for any host.
  const Route insecure_mx = SecureRoute(false, true);
  EXPECT_FALSE(wants_tlsa(Level(TlsPolicyLevel::kDane), insecure_mx, insecure_mx.hosts[0]));
  TlsRequirement r =
      host_requirement(Level(TlsPolicyLevel::kDane), insecure_mx, insecure_mx.hosts[0], nullptr);
  EXPECT_EQ(r.level, TlsLevel::kMay);
  EXPECT_EQ(r.dane, "insecure");
  // 2.2.2: a secure MX RRset, but the host's addresses are unsigned.
  const Route insecure_host = SecureRoute(true, false);
  EXPECT_FALSE(wants_tlsa(Level(TlsPolicyLevel::kDane), insecure_host, insecure_host.hosts[0]));
  r = host_requirement(Level(TlsPolicyLevel::kDane), insecure_host, insecure_host.hosts[0],
                       nullptr);
  EXPECT_EQ(r.level, TlsLevel::kMay);
  EXPECT_EQ(r.dane, "insecure");
  // No MX at all: the domain is its own host, its addresses decide.
  Route implicit = SecureRoute(false, true);
  implicit.implicit_mx = true;
  EXPECT_TRUE(wants_tlsa(Level(TlsPolicyLevel::kDane), implicit, implicit.hosts[0]));
  // Address literals have no TLSA records.
  Route literal = SecureRoute();
  literal.hosts[0].name = "[192.0.2.25]";
  EXPECT_FALSE(wants_tlsa(Level(TlsPolicyLevel::kDane), literal, literal.hosts[0]));
}

TEST(DaneTest, OtherLevelsNeedNoDns) {
  const Route route = SecureRoute(false, false);
  for (TlsPolicyLevel l : {TlsPolicyLevel::kNone, TlsPolicyLevel::kMay, TlsPolicyLevel::kEncrypt,
                           TlsPolicyLevel::kVerify, TlsPolicyLevel::kSecure}) {
    EXPECT_FALSE(wants_tlsa(Level(l), SecureRoute(), SecureRoute().hosts[0]));
  }
  EXPECT_EQ(host_requirement(Level(TlsPolicyLevel::kNone), route, route.hosts[0], nullptr).level,
            TlsLevel::kNone);
  EXPECT_EQ(host_requirement(Level(TlsPolicyLevel::kEncrypt), route, route.hosts[0], nullptr).level,
            TlsLevel::kEncrypt);
  TlsRequirement v =
      host_requirement(Level(TlsPolicyLevel::kVerify), route, route.hosts[0], nullptr);
  EXPECT_EQ(v.level, TlsLevel::kVerify);
  EXPECT_EQ(v.names, std::vector<std::string>{"mx.example.org"});
  v = host_requirement(Level(TlsPolicyLevel::kSecure), route, route.hosts[0], nullptr);
  EXPECT_EQ(v.names, (std::vector<std::string>{"example.org", ".example.org"}));
  v = host_requirement(Level(TlsPolicyLevel::kVerify, {"nexthop", "Mail.Example.NET", "hostname"}),
                       route, route.hosts[0], nullptr);
  EXPECT_EQ(v.names,
            (std::vector<std::string>{"example.org", "mail.example.net", "mx.example.org"}));
}

TEST(DaneTest, ConfiguredPolicyWinsAndIsNamed) {
  std::vector<TlsPolicyEntry> entries = {
      {"example.org", TlsPolicyLevel::kEncrypt, {}},
      {".example.org", TlsPolicyLevel::kVerify, {}},
      {".sub.example.org", TlsPolicyLevel::kNone, {}},
  };
  EXPECT_EQ(destination_tls(entries, "example.org", TlsPolicyLevel::kDane).level,
            TlsPolicyLevel::kEncrypt);
  EXPECT_EQ(destination_tls(entries, "a.example.org", TlsPolicyLevel::kDane).level,
            TlsPolicyLevel::kVerify);
  // The longest parent wins.
  EXPECT_EQ(destination_tls(entries, "x.sub.example.org", TlsPolicyLevel::kDane).level,
            TlsPolicyLevel::kNone);
  const DestinationTls other = destination_tls(entries, "example.net", TlsPolicyLevel::kDane);
  EXPECT_EQ(other.level, TlsPolicyLevel::kDane);
  EXPECT_FALSE(other.configured);
  // A configured "encrypt" is not raised to DANE by TLSA records.
  const Route route = SecureRoute();
  const DestinationTls d = destination_tls(entries, "example.org", TlsPolicyLevel::kDane);
  EXPECT_FALSE(wants_tlsa(d, route, route.hosts[0]));
  const TlsRequirement r = host_requirement(d, route, route.hosts[0], nullptr);
  EXPECT_EQ(requirement_text(r), "policy=encrypt(config example.org) dane=none");
}

// Next-hop entries ("[host]", "[host]:port"): matched against the MX host
// and the relay port; a next-hop entry beats the domain's.
TEST(DaneTest, NextHopEntriesMatchTheHostAndBeatTheDomain) {
  TlsPolicyEntry domain{"example.org", TlsPolicyLevel::kVerify, {}};
  TlsPolicyEntry any_port{"", TlsPolicyLevel::kEncrypt, {}, "mx.example.org", 0};
  TlsPolicyEntry port_2525{"", TlsPolicyLevel::kNone, {}, "mx.example.org", 2525};
  const std::vector<TlsPolicyEntry> entries = {domain, any_port, port_2525};
  EXPECT_EQ(find_next_hop_policy(entries, "mx.example.org", 25), &entries[1]);
  EXPECT_EQ(find_next_hop_policy(entries, "mx.example.org", 2525), &entries[2]);
  EXPECT_EQ(find_next_hop_policy(entries, "mx2.example.org", 25), nullptr);
  EXPECT_EQ(find_host_policy(entries, "example.org", "mx.example.org", 25), &entries[1]);
  EXPECT_EQ(find_host_policy(entries, "example.org", "mx2.example.org", 25), &entries[0]);
  EXPECT_EQ(find_host_policy(entries, "example.net", "mx2.example.org", 25), nullptr);
  // Next-hop entries never match as domains (their domain is "").
  EXPECT_EQ(find_tls_policy(entries, "mx.example.org"), nullptr);
  EXPECT_EQ(next_hop_text(entries[1]), "[mx.example.org]");
  EXPECT_EQ(next_hop_text(entries[2]), "[mx.example.org]:2525");

  const Route route = SecureRoute();
  const DestinationTls d = destination_tls(entries, "example.org", TlsPolicyLevel::kDane);
  const DestinationTls h = host_tls(entries, d, "mx.example.org", 25);
  EXPECT_EQ(h.level, TlsPolicyLevel::kEncrypt);
  EXPECT_FALSE(wants_tlsa(h, route, route.hosts[0]));
  EXPECT_EQ(requirement_text(host_requirement(h, route, route.hosts[0], nullptr)),
            "policy=encrypt(config [mx.example.org]) dane=none");
  EXPECT_EQ(host_tls(entries, d, "mx2.example.org", 25).level, TlsPolicyLevel::kVerify);
  // "nexthop" in a next-hop entry's match is its host, as Postfix's "[host]".
  std::vector<TlsPolicyEntry> verify = {
      {"", TlsPolicyLevel::kVerify, {"nexthop", "dot-nexthop"}, "mx.example.org", 0}};
  const TlsRequirement v =
      host_requirement(host_tls(verify, d, "mx.example.org", 25), route, route.hosts[0], nullptr);
  EXPECT_EQ(v.names, (std::vector<std::string>{"mx.example.org", ".mx.example.org"}));
  EXPECT_EQ(v.source, TlsSource::kConfig);
}

TEST(DaneTest, ParseNextHop) {
  std::string host;
  uint16_t port = 1;
  EXPECT_EQ(parse_next_hop("[MX.Example.org]", &host, &port), "");
  EXPECT_EQ(host, "mx.example.org");
  EXPECT_EQ(port, 0);
  EXPECT_EQ(parse_next_hop("[mx.example.org]:2525", &host, &port), "");
  EXPECT_EQ(port, 2525);
  for (std::string_view bad :
       {"mx.example.org", "[mx.example.org", "[mx.example.org]:", "[mx.example.org]:70000",
        "[mx.example.org]:-1", "[mx.example.org]x", "[]", "[192.0.2.1]", "[2001:db8::1]",
        "[IPv6:2001:db8::1]", "[a_b c]"}) {
    EXPECT_NE(parse_next_hop(bad, &host, &port), "") << bad;
  }
}

// Answers TLSA queries from a map (unknown names: secure NODATA) and
// records them; nothing else is asked by route_requirements().
class TlsaDns : public DnsLookup {
 public:
  std::map<std::string, TlsaResult> answers;
  std::vector<std::string> asked;
  asio::awaitable<MxResult> mx(std::string) override { co_return MxResult{}; }
  asio::awaitable<AddressResult> a(std::string) override { co_return AddressResult{}; }
  asio::awaitable<AddressResult> aaaa(std::string) override { co_return AddressResult{}; }
  asio::awaitable<TxtResult> txt(std::string) override { co_return TxtResult{}; }
  asio::awaitable<NameResult> ptr(asio::ip::address) override { co_return NameResult{}; }
  asio::awaitable<TlsaResult> tlsa(std::string name) override {
    asked.push_back(name);
    auto it = answers.find(name);
    co_return it != answers.end() ? it->second : Answer(DnsStatus::kNoData, DnsSecurity::kSecure);
  }
};

TEST(DaneTest, RouteRequirementsLookUpOnlySecureHosts) {
  Route route = SecureRoute();
  route.hosts.push_back(
      RouteHost{"mx2.example.org", 20, {asio::ip::make_address("192.0.2.26")}, false});
  route.hosts.push_back(
      RouteHost{"mx3.example.org", 30, {asio::ip::make_address("192.0.2.27")}, true});
  TlsaDns dns;
  dns.answers["_25._tcp.mx.example.org"] =
      Answer(DnsStatus::kOk, DnsSecurity::kSecure, {Tlsa(3, 1, 1)});
  std::map<std::string, TlsRequirement> out;
  asio::io_context io;
  asio::co_spawn(io, route_requirements(dns, route, Level(TlsPolicyLevel::kDane), 25),
                 [&](std::exception_ptr e, std::map<std::string, TlsRequirement> r) {
                   if (e) std::rethrow_exception(e);
                   out = std::move(r);
                 });
  io.run();
  EXPECT_EQ(dns.asked,
            (std::vector<std::string>{"_25._tcp.mx.example.org", "_25._tcp.mx3.example.org"}));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out["mx.example.org"].level, TlsLevel::kDane);
  EXPECT_EQ(out["mx2.example.org"].dane, "insecure");
  EXPECT_EQ(out["mx3.example.org"].dane, "none");  // secure denial
  EXPECT_EQ(out["mx3.example.org"].level, TlsLevel::kMay);
  EXPECT_TRUE(sts_may_decide(out["mx3.example.org"]));
  EXPECT_FALSE(sts_may_decide(out["mx.example.org"]));
}

TEST(DaneTest, RouteRequirementsApplyNextHopEntries) {
  Route route = SecureRoute();
  route.hosts.push_back(
      RouteHost{"mx2.example.org", 20, {asio::ip::make_address("192.0.2.26")}, true});
  TlsaDns dns;
  dns.answers["_25._tcp.mx.example.org"] =
      Answer(DnsStatus::kOk, DnsSecurity::kSecure, {Tlsa(3, 1, 1)});
  // "[mx.example.org]" says "none": no TLSA lookup for it, plaintext; mx2
  // keeps the domain's level (dane), looked up as before.
  const std::vector<TlsPolicyEntry> entries = {
      {"", TlsPolicyLevel::kNone, {}, "mx.example.org", 0}};
  std::map<std::string, TlsRequirement> out;
  asio::io_context io;
  asio::co_spawn(io, route_requirements(dns, route, Level(TlsPolicyLevel::kDane), 25, entries),
                 [&](std::exception_ptr e, std::map<std::string, TlsRequirement> r) {
                   if (e) std::rethrow_exception(e);
                   out = std::move(r);
                 });
  io.run();
  EXPECT_EQ(dns.asked, (std::vector<std::string>{"_25._tcp.mx2.example.org"}));
  EXPECT_EQ(out["mx.example.org"].level, TlsLevel::kNone);
  EXPECT_EQ(out["mx.example.org"].origin, "config [mx.example.org]");
  EXPECT_FALSE(sts_may_decide(out["mx.example.org"]));  // MTA-STS has no say either
  EXPECT_EQ(out["mx2.example.org"].level, TlsLevel::kMay);
  EXPECT_EQ(out["mx2.example.org"].origin, "default");
}

TEST(DaneTest, LevelNames) {
  for (const char* name : {"none", "may", "encrypt", "dane", "dane-only", "verify", "secure"}) {
    const auto l = parse_tls_policy_level(name);
    ASSERT_TRUE(l) << name;
    EXPECT_STREQ(tls_policy_level_name(*l), name);
  }
  EXPECT_FALSE(parse_tls_policy_level("DANE"));
  EXPECT_FALSE(parse_tls_policy_level("fingerprint"));
}

TEST(DaneTest, HopSetupFollowsTheRequirement) {
  ClientSessionOptions o;
  ClientTlsSetup tls;
  TlsRequirement r;
  r.level = TlsLevel::kDane;
  r.tlsa = {Tlsa(3, 1, 1)};
  r.names = {"mx.example.org"};
  configure_hop_tls(r, "mx.example.org", nullptr, &o, &tls);
  EXPECT_EQ(o.tls, TlsPolicy::kRequired);
  EXPECT_FALSE(o.tls_fallback_plain);
  EXPECT_TRUE(tls.require_verified);
  EXPECT_EQ(tls.tlsa.size(), 1u);
  r = TlsRequirement{};  // may
  configure_hop_tls(r, "mx.example.org", nullptr, &o, &tls);
  EXPECT_EQ(o.tls, TlsPolicy::kOpportunistic);
  EXPECT_TRUE(o.tls_fallback_plain);
  EXPECT_FALSE(tls.require_verified);
  EXPECT_TRUE(tls.tlsa.empty());
  r.level = TlsLevel::kEncrypt;
  configure_hop_tls(r, "mx.example.org", nullptr, &o, &tls);
  EXPECT_EQ(o.tls, TlsPolicy::kRequired);
  EXPECT_FALSE(tls.require_verified);
}

}  // namespace
}  // namespace tern
