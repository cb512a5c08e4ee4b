#include <gtest/gtest.h>

#include "screen/dnsbl.h"
#include "screen/ttl_cache.h"

namespace tern {
namespace {

asio::ip::address ip(const char* s) { return asio::ip::make_address(s); }

DnsblSite site(const char* spec) {
  std::string error;
  std::optional<DnsblSite> s = parse_dnsbl_site(spec, &error);
  EXPECT_TRUE(s) << spec << ": " << error;
  return s ? *s : DnsblSite{};
}

AddressResult listed(std::vector<const char*> addrs, uint32_t ttl = 300) {
  AddressResult r;
  r.status = DnsStatus::kOk;
  for (const char* a : addrs) r.records.push_back(ip(a));
  r.ttl = ttl;
  return r;
}

AddressResult not_listed(uint32_t ttl = 900) {
  AddressResult r;
  r.status = DnsStatus::kNxDomain;
  r.ttl = ttl;
  return r;
}

TEST(DnsblSite, ParsesPostscreenSyntax) {
  DnsblSite s = site("zen.spamhaus.org=127.0.0.[2..11]*3");
  EXPECT_EQ(s.zone, "zen.spamhaus.org");
  EXPECT_EQ(s.weight, 3);
  ASSERT_EQ(s.filter.size(), 4u);
  EXPECT_TRUE(s.matches(ip("127.0.0.2")));
  EXPECT_TRUE(s.matches(ip("127.0.0.11")));
  EXPECT_FALSE(s.matches(ip("127.0.0.12")));
  EXPECT_FALSE(s.matches(ip("127.0.1.2")));

  DnsblSite wl = site("List.DNSWL.org.=127.0.[0..255].[1;3]*-5");
  EXPECT_EQ(wl.zone, "list.dnswl.org");
  EXPECT_EQ(wl.weight, -5);
  EXPECT_TRUE(wl.matches(ip("127.0.15.3")));
  EXPECT_FALSE(wl.matches(ip("127.0.15.2")));

  DnsblSite any = site("bl.example.org");
  EXPECT_EQ(any.weight, 1);
  EXPECT_TRUE(any.filter.empty());
  EXPECT_TRUE(any.matches(ip("127.0.0.4")));
  EXPECT_FALSE(any.matches(ip("192.0.2.1")));  // RFC 5782 2.3: only 127/8 counts
  EXPECT_FALSE(any.matches(ip("::1")));

  EXPECT_EQ(site("bl.example.org*2").weight, 2);
  EXPECT_TRUE(site("bl.example.org=127.0.0.2").matches(ip("127.0.0.2")));
}

TEST(DnsblSite, RefusesBadSpecs) {
  for (const char* bad :
       {"", "org", "bl.example.org*0", "bl.example.org*x", "bl.example.org*", "bl..org",
        "bl.example.org=", "bl.example.org=127.0.0", "bl.example.org=127.0.0.0.1",
        "bl.example.org=127.0.0.256", "bl.example.org=127.0.0.[5..2]",
        "bl.example.org=127.0.0.[2..]", "bl.example.org=127.0.0.-1", "bl example.org"}) {
    std::string error;
    EXPECT_FALSE(parse_dnsbl_site(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(DnsblQueryName, ReversesOctetsAndNibbles) {
  // RFC 5782 2.1 and 2.4.
  EXPECT_EQ(dnsbl_query_name(ip("192.0.2.99"), "bl.example"), "99.2.0.192.bl.example");
  EXPECT_EQ(dnsbl_query_name(ip("::ffff:192.0.2.99"), "bl.example"), "99.2.0.192.bl.example");
  EXPECT_EQ(dnsbl_query_name(ip("2001:db8:1:2:3:4:567:89ab"), "ugly.example.com"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com");
}

TEST(DnsblScore, WeightsAddUpAgainstTheThreshold) {
  std::vector<DnsblSite> sites = {site("a.bl.test*1"), site("b.bl.test=127.0.0.[2..11]*2"),
                                  site("wl.test*-5")};
  EXPECT_EQ(dnsbl_zones(sites), (std::vector<std::string>{"a.bl.test", "b.bl.test", "wl.test"}));
  // One list of weight 1, below a threshold of 2.
  DnsblVerdict v = score_dnsbl(sites, 2,
                               {{"a.bl.test", listed({"127.0.0.2"})},
                                {"b.bl.test", not_listed()},
                                {"wl.test", not_listed()}});
  EXPECT_EQ(v.score, 1);
  EXPECT_FALSE(v.refused);
  EXPECT_EQ(v.top_zone, "a.bl.test");
  // Two lists: refused, the heavier named.
  v = score_dnsbl(sites, 2,
                  {{"a.bl.test", listed({"127.0.0.2"})},
                   {"b.bl.test", listed({"127.0.0.4", "127.0.0.10"})},
                   {"wl.test", not_listed()}});
  EXPECT_EQ(v.score, 3);
  EXPECT_TRUE(v.refused);
  EXPECT_EQ(v.top_zone, "b.bl.test");
  EXPECT_EQ(v.hits, (std::vector<std::string>{"a.bl.test*1", "b.bl.test*2"}));
  EXPECT_FALSE(v.allowlisted);
  // An allow list cancels them.
  v = score_dnsbl(sites, 2,
                  {{"a.bl.test", listed({"127.0.0.2"})},
                   {"b.bl.test", listed({"127.0.0.4"})},
                   {"wl.test", listed({"127.0.10.1"})}});
  EXPECT_EQ(v.score, -2);
  EXPECT_FALSE(v.refused);
  EXPECT_TRUE(v.allowlisted);
  // A code outside the filter does not count.
  v = score_dnsbl(sites, 2,
                  {{"a.bl.test", not_listed()},
                   {"b.bl.test", listed({"127.0.0.12"})},
                   {"wl.test", not_listed()}});
  EXPECT_EQ(v.score, 0);
  EXPECT_TRUE(v.top_zone.empty());
}

TEST(DnsblScore, FailuresCountAsNotListedAndShortenTheTtl) {
  std::vector<DnsblSite> sites = {site("a.bl.test*2"), site("b.bl.test*2")};
  AddressResult fail;
  fail.status = DnsStatus::kTempFail;
  fail.error = "SERVFAIL";
  DnsblVerdict v = score_dnsbl(sites, 2, {{"a.bl.test", fail}});  // b: no answer in time
  EXPECT_EQ(v.score, 0);
  EXPECT_FALSE(v.refused);
  EXPECT_EQ(v.failures,
            (std::vector<std::string>{"a.bl.test: SERVFAIL", "b.bl.test: no answer in time"}));
  EXPECT_EQ(v.ttl, 60u);
  // The smallest TTL of the answers, within the bounds.
  v = score_dnsbl(sites, 2,
                  {{"a.bl.test", listed({"127.0.0.2"}, 120)}, {"b.bl.test", not_listed(900)}});
  EXPECT_EQ(v.ttl, 120u);
  v = score_dnsbl(sites, 2,
                  {{"a.bl.test", listed({"127.0.0.2"}, 5)}, {"b.bl.test", not_listed(9)}});
  EXPECT_EQ(v.ttl, 60u);
  v = score_dnsbl(sites, 2, {{"a.bl.test", not_listed(86400)}, {"b.bl.test", not_listed(86400)}});
  EXPECT_EQ(v.ttl, 3600u);
  EXPECT_FALSE(score_dnsbl({}, 1, {}).refused);  // no sites: never refused
}

TEST(DnsblRefusal, NamesTheZoneAndTheReason) {
  Reply r = dnsbl_refusal("192.0.2.1", "b.bl.test", "");
  EXPECT_EQ(r.brief(), "554 5.7.1 Service unavailable; client [192.0.2.1] blocked using b.bl.test");
  TxtResult txt;
  txt.status = DnsStatus::kOk;
  txt.records = {{"Listed: see ", "https://bl.test/q?192.0.2.1\r\n"}};
  std::string reason = dnsbl_reason_text(txt);
  EXPECT_EQ(reason, "Listed: see https://bl.test/q?192.0.2.1");
  EXPECT_EQ(dnsbl_refusal("192.0.2.1", "b.bl.test", reason).brief(),
            "554 5.7.1 Service unavailable; client [192.0.2.1] blocked using b.bl.test; "
            "Listed: see https://bl.test/q?192.0.2.1");
  txt.records = {{std::string(500, 'x')}};
  EXPECT_EQ(dnsbl_reason_text(txt).size(), 200u);
  EXPECT_EQ(dnsbl_reason_text(TxtResult{}), "");
}

TEST(TtlCache, ExpiresAndStaysBounded) {
  TtlCache<int> c(2);
  c.put("a", 1, 1000, 60);
  EXPECT_EQ(c.get("a", 1059), 1);
  EXPECT_EQ(c.get("a", 1060), std::nullopt);  // expired
  EXPECT_EQ(c.size(), 0u);
  c.put("a", 1, 1000, 100);
  c.put("b", 2, 1000, 50);
  c.put("c", 3, 1000, 200);  // full: b, which expires first, goes
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.get("b", 1001), std::nullopt);
  EXPECT_EQ(c.get("a", 1001), 1);
  EXPECT_EQ(c.get("c", 1001), 3);
  c.put("a", 9, 1001, 500);  // replaced, not duplicated
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.get("a", 1400), 9);
  TtlCache<int> none(0);
  none.put("a", 1, 0, 60);
  EXPECT_EQ(none.get("a", 1), std::nullopt);
}

}  // namespace
}  // namespace tern
