// check_host() over a fake DNS: hand-written cases for each mechanism, the
// limits and explanations, then every case of the RFC 7208 test suite
// (openspf.org release 2014.04, tests/data/spf/rfc7208-tests.json, made by
// tests/tools/spf_suite_to_json.py; see tests/data/spf/README.md).
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "spf/check.h"

namespace tern::spf {
namespace {

// One resource record of the fake zone, or a timeout marker.
struct Rr {
  std::string type;                  // "A", "AAAA", "MX", "PTR", "CNAME", "TXT", "TIMEOUT"
  std::vector<std::string> strings;  // TXT: the character-strings; others: the value
  int preference = 0;                // MX
  bool timeout = false;              // queries of `type` time out
};

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string reverse_name(const asio::ip::address& ip) {
  std::string out;
  if (ip.is_v4()) {
    const auto b = ip.to_v4().to_bytes();
    for (int i = 3; i >= 0; --i) out += std::to_string(b[i]) + ".";
    return out + "in-addr.arpa";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const auto b = ip.to_v6().to_bytes();
  for (int i = 15; i >= 0; --i) {
    out += kHex[b[i] & 0xf];
    out += '.';
    out += kHex[b[i] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

// A DnsLookup over a map of names to records, with the semantics of pyspf's
// suite driver (testspf.py): unknown names are NXDOMAIN, except those
// starting with "error." (a timeout); a bare TIMEOUT entry makes queries for
// types the name has no records of time out; a CNAME is followed one level.
// Counts queries.
class FakeDns : public DnsLookup {
 public:
  std::map<std::string, std::vector<Rr>> zone;
  int queries = 0;

  void Add(const std::string& name, const std::string& type, const std::string& value) {
    zone[lower(name)].push_back(Rr{type, {value}});
  }
  void Txt(const std::string& name, std::vector<std::string> strings) {
    zone[lower(name)].push_back(Rr{"TXT", std::move(strings)});
  }
  void Mx(const std::string& name, int preference, const std::string& host) {
    zone[lower(name)].push_back(Rr{"MX", {host}, preference});
  }
  void Timeout(const std::string& name, const std::string& type = "TIMEOUT") {
    zone[lower(name)].push_back(Rr{type, {}, 0, true});
  }

  asio::awaitable<MxResult> mx(std::string name) override {
    MxResult r;
    Fill(name, "MX", r, [](const Rr& rr, MxResult& out) {
      out.records.push_back(MxRecord{static_cast<uint16_t>(rr.preference), rr.strings.at(0)});
    });
    co_return r;
  }
  asio::awaitable<AddressResult> a(std::string name) override { co_return Addresses(name, "A"); }
  asio::awaitable<AddressResult> aaaa(std::string name) override {
    co_return Addresses(name, "AAAA");
  }
  asio::awaitable<TxtResult> txt(std::string name) override {
    TxtResult r;
    Fill(name, "TXT", r, [](const Rr& rr, TxtResult& out) { out.records.push_back(rr.strings); });
    co_return r;
  }
  asio::awaitable<NameResult> ptr(asio::ip::address address) override {
    NameResult r;
    Fill(reverse_name(address), "PTR", r,
         [](const Rr& rr, NameResult& out) { out.records.push_back(rr.strings.at(0)); });
    co_return r;
  }

 private:
  AddressResult Addresses(const std::string& name, const char* type) {
    AddressResult r;
    Fill(name, type, r, [](const Rr& rr, AddressResult& out) {
      out.records.push_back(asio::ip::make_address(rr.strings.at(0)));
    });
    return r;
  }

  template <typename R, typename Add>
  void Fill(std::string name, const std::string& type, R& out, Add add, int level = 0) {
    if (level == 0) ++queries;
    out.status = DnsStatus::kOk;
    if (!name.empty() && name.back() == '.') name.pop_back();
    name = lower(name);
    for (size_t start = 0;;) {  // labels of 1-63 octets, as Resolver requires
      const size_t dot = name.find('.', start);
      const size_t len = (dot == std::string::npos ? name.size() : dot) - start;
      if (len == 0 || len > 63) {
        out.status = DnsStatus::kNxDomain;
        return;
      }
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    const auto it = zone.find(name);
    if (it == zone.end()) {
      out.status = name.starts_with("error.") ? DnsStatus::kTempFail : DnsStatus::kNxDomain;
      out.error = "not in the zone";
      return;
    }
    bool none_yet = true;
    for (const Rr& rr : it->second) {
      if (rr.type == "TIMEOUT") {
        if (none_yet) out.status = DnsStatus::kTempFail;
        out.error = "timed out";
        if (none_yet) out.records.clear();
        return;
      }
      if (rr.type == type) {
        if (rr.timeout) {
          out.status = DnsStatus::kTempFail;
          out.error = "timed out";
          out.records.clear();
          return;
        }
        none_yet = false;
        add(rr, out);
      } else if (rr.type == "CNAME" && level == 0 && !rr.timeout) {
        R target;
        Fill(rr.strings.at(0), type, target, add, 1);
        if (target.status == DnsStatus::kTempFail) {
          out = target;
          return;
        }
        for (auto& x : target.records) out.records.push_back(x);
      }
    }
    if (out.records.empty()) out.status = DnsStatus::kNoData;
  }
};

CheckResult Check(FakeDns& dns, const std::string& ip, const std::string& mail_from,
                  const std::string& helo, CheckOptions options = {}) {
  asio::io_context io;
  CheckResult result;
  bool done = false;
  asio::co_spawn(
      io, check_mail_from(dns, asio::ip::make_address(ip), mail_from, helo, std::move(options)),
      [&](std::exception_ptr e, CheckResult r) {
        if (e) std::rethrow_exception(e);
        result = std::move(r);
        done = true;
      });
  io.run();
  EXPECT_TRUE(done);
  return result;
}

// --- hand-written cases --------------------------------------------------

TEST(SpfCheck, Ip4PassAndFallThroughToAll) {
  FakeDns dns;
  dns.Txt("example.com", {"v=spf1 ip4:192.0.2.0/24 -all"});
  CheckResult r = Check(dns, "192.0.2.9", "alice@example.com", "mx.example.com");
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_EQ(r.mechanism, "ip4:192.0.2.0/24");
  r = Check(dns, "198.51.100.1", "alice@example.com", "mx.example.com");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.mechanism, "-all");
  EXPECT_EQ(r.explanation, "198.51.100.1 is not one of example.com's designated mail servers");
}

TEST(SpfCheck, NoRecordIsNoneAndDnsFailureTempError) {
  FakeDns dns;
  dns.Txt("example.com", {"some other text"});
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@example.com", "h").result, Result::kNone);
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@nowhere.example", "h").result, Result::kNone);
  dns.Timeout("slow.example");
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@slow.example", "h").result, Result::kTempError);
}

TEST(SpfCheck, TwoRecordsArePermError) {
  FakeDns dns;
  dns.Txt("example.com", {"v=spf1 -all"});
  dns.Txt("example.com", {"v=spf1 +all"});
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@example.com", "h").result, Result::kPermError);
}

TEST(SpfCheck, AMxAndDualCidr) {
  FakeDns dns;
  dns.Txt("example.com", {"v=spf1 a/24//64 mx:mail.example.com -all"});
  dns.Add("example.com", "A", "192.0.2.10");
  dns.Add("example.com", "AAAA", "2001:db8::1");
  dns.Mx("mail.example.com", 10, "mx1.example.com");
  dns.Add("mx1.example.com", "A", "198.51.100.7");
  EXPECT_EQ(Check(dns, "192.0.2.200", "a@example.com", "h").result, Result::kPass);
  EXPECT_EQ(Check(dns, "2001:db8::ffff:1", "a@example.com", "h").result, Result::kPass);
  EXPECT_EQ(Check(dns, "2001:db8:1::1", "a@example.com", "h").result, Result::kFail);
  const CheckResult mx = Check(dns, "198.51.100.7", "a@example.com", "h");
  EXPECT_EQ(mx.result, Result::kPass);
  EXPECT_EQ(mx.mechanism, "mx:mail.example.com");
  // IPv4-mapped IPv6 clients are IPv4 clients.
  EXPECT_EQ(Check(dns, "::ffff:198.51.100.7", "a@example.com", "h").result, Result::kPass);
}

TEST(SpfCheck, IncludeResultsMap) {
  FakeDns dns;
  dns.Txt("example.com", {"v=spf1 include:pass.test include:fail.test ~all"});
  dns.Txt("pass.test", {"v=spf1 ip4:192.0.2.1 -all"});
  dns.Txt("fail.test", {"v=spf1 -all"});
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@example.com", "h").result, Result::kPass);
  const CheckResult r = Check(dns, "192.0.2.2", "a@example.com", "h");
  EXPECT_EQ(r.result, Result::kSoftFail);  // a fail inside include is "no match"
  EXPECT_EQ(r.mechanism, "~all");
  dns.Txt("none.test", {"v=spf1 include:nothing.test"});
  EXPECT_EQ(Check(dns, "192.0.2.2", "a@none.test", "h").result, Result::kPermError);
  dns.Txt("temp.test", {"v=spf1 include:error.x.test"});
  EXPECT_EQ(Check(dns, "192.0.2.2", "a@temp.test", "h").result, Result::kTempError);
}

TEST(SpfCheck, RedirectAndItsExplanation) {
  FakeDns dns;
  dns.Txt("example.com", {"v=spf1 exp=ignored.example.com redirect=_spf.example.net"});
  dns.Txt("_spf.example.net", {"v=spf1 ip4:192.0.2.0/24 -all exp=why.example.net"});
  dns.Txt("why.example.net", {"%{i} may not send for %{o} (via %{d})"});
  dns.Txt("ignored.example.com", {"wrong explanation"});
  CheckResult r = Check(dns, "198.51.100.1", "a@example.com", "h");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.domain, "_spf.example.net");
  EXPECT_EQ(r.explanation, "198.51.100.1 may not send for example.com (via _spf.example.net)");
  dns.Txt("noredir.test", {"v=spf1 redirect=nothing.test"});
  EXPECT_EQ(Check(dns, "192.0.2.2", "a@noredir.test", "h").result, Result::kPermError);
  // redirect= is ignored when the record has "all".
  dns.Txt("withall.test", {"v=spf1 ?all redirect=_spf.example.net"});
  EXPECT_EQ(Check(dns, "198.51.100.1", "a@withall.test", "h").result, Result::kNeutral);
}

TEST(SpfCheck, ExistsWithMacrosAndPtr) {
  FakeDns dns;
  dns.Txt("example.com", {"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} ptr -all"});
  dns.Add("9.2.0.192.john._spf.example.com", "A", "127.0.0.2");
  EXPECT_EQ(Check(dns, "192.0.2.9", "john-doe@example.com", "h").result, Result::kPass);
  // ptr: the PTR name must resolve back to the client.
  dns.Add("1.100.51.198.in-addr.arpa", "PTR", "host.example.com");
  dns.Add("host.example.com", "A", "198.51.100.1");
  dns.Add("2.100.51.198.in-addr.arpa", "PTR", "liar.example.com");
  dns.Add("liar.example.com", "A", "203.0.113.1");
  const CheckResult r = Check(dns, "198.51.100.1", "x@example.com", "h");
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_EQ(r.mechanism, "ptr");
  EXPECT_EQ(Check(dns, "198.51.100.2", "x@example.com", "h").result, Result::kFail);
}

TEST(SpfCheck, NeutralWhenNothingMatches) {
  FakeDns dns;
  dns.Txt("example.com", {"v=spf1 ip4:192.0.2.1"});
  const CheckResult r = Check(dns, "192.0.2.2", "a@example.com", "h");
  EXPECT_EQ(r.result, Result::kNeutral);
  EXPECT_EQ(r.mechanism, "");
}

TEST(SpfCheck, NullSenderUsesHelo) {
  FakeDns dns;
  dns.Txt("mx.example.com", {"v=spf1 -all exp=e.example.com"});
  dns.Txt("e.example.com", {"%{s} %{l} %{o} %{h}"});
  const CheckResult r = Check(dns, "192.0.2.2", "", "mx.example.com");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.explanation, "postmaster@mx.example.com postmaster mx.example.com mx.example.com");
}

// --- limits (RFC 7208 4.6.4) ---------------------------------------------

TEST(SpfLimits, TenDnsMechanismsAllowedEleventhIsPermError) {
  FakeDns dns;
  std::string ten = "v=spf1";
  for (int i = 0; i < 10; ++i) ten += " a:h" + std::to_string(i) + ".example.com";
  for (int i = 0; i < 11; ++i) dns.Add("h" + std::to_string(i) + ".example.com", "A", "10.0.0.1");
  dns.Txt("ten.test", {ten + " ip4:192.0.2.1 -all"});
  dns.Txt("eleven.test", {ten + " a:h10.example.com ip4:192.0.2.1 -all"});
  CheckResult r = Check(dns, "192.0.2.1", "a@ten.test", "h");
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_EQ(r.dns_mechanisms, 10);
  r = Check(dns, "192.0.2.1", "a@eleven.test", "h");
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_NE(r.problem.find("more than 10"), std::string::npos) << r.problem;
  // ip4 and all cost nothing; a match before the limit ends the check.
  dns.Txt("early.test", {"v=spf1 ip4:192.0.2.1 " + ten.substr(7) + " a:h10.example.com -all"});
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@early.test", "h").result, Result::kPass);
}

TEST(SpfLimits, IncludeLoopIsPermError) {
  FakeDns dns;
  dns.Txt("loop.test", {"v=spf1 include:loop2.test -all"});
  dns.Txt("loop2.test", {"v=spf1 include:loop.test -all"});
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@loop.test", "h").result, Result::kPermError);
}

TEST(SpfLimits, ThirdVoidLookupIsPermError) {
  FakeDns dns;
  dns.Txt("two.test", {"v=spf1 a:n1.test a:n2.test ip4:192.0.2.1 -all"});
  dns.Txt("three.test", {"v=spf1 a:n1.test a:n2.test mx:n3.test ip4:192.0.2.1 -all"});
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@two.test", "h").result, Result::kPass);
  const CheckResult r = Check(dns, "192.0.2.1", "a@three.test", "h");
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_EQ(r.void_lookups, 3);
  // The limits are parameters.
  CheckOptions lax;
  lax.limits.void_lookups = 3;
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@three.test", "h", lax).result, Result::kPass);
}

TEST(SpfLimits, MoreThanTenMxNamesIsPermError) {
  FakeDns dns;
  dns.Txt("example.com", {"v=spf1 mx -all"});
  for (int i = 0; i < 11; ++i) dns.Mx("example.com", i, "mx" + std::to_string(i) + ".test");
  dns.Add("mx0.test", "A", "192.0.2.1");
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@example.com", "h").result, Result::kPermError);
}

TEST(SpfLimits, OnlyTenPtrNamesAreLookedAt) {
  FakeDns dns;
  dns.Txt("example.com", {"v=spf1 ptr -all"});
  for (int i = 0; i < 11; ++i) {
    const std::string name = "p" + std::to_string(i) + ".example.com";
    dns.Add("1.2.0.192.in-addr.arpa", "PTR", name);
    if (i == 10) dns.Add(name, "A", "192.0.2.1");  // only the 11th validates
  }
  // p0..p9 have no A: 10 void lookups would pass the void limit, so lift it.
  CheckOptions options;
  options.limits.void_lookups = 100;
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@example.com", "h", options).result, Result::kFail);
  options.limits.ptr_names = 11;
  EXPECT_EQ(Check(dns, "192.0.2.1", "a@example.com", "h", options).result, Result::kPass);
}

// --- the RFC 7208 test suite ---------------------------------------------

struct SuiteCase {
  std::string scenario;
  std::string id;
  std::string host, mailfrom, helo;
  std::vector<std::string> results;
  std::optional<std::string> explanation;
  std::map<std::string, std::vector<Rr>> zone;
};

std::filesystem::path SuitePath() {
  return std::filesystem::path(TERN_SOURCE_DIR) / "tests/data/spf/rfc7208-tests.json";
}

std::vector<SuiteCase> LoadSuite() {
  std::ifstream in(SuitePath());
  if (!in) return {};
  const nlohmann::json scenarios = nlohmann::json::parse(in);
  std::vector<SuiteCase> cases;
  for (const auto& s : scenarios) {
    std::map<std::string, std::vector<Rr>> zone;
    for (const auto& [name, records] : s["zonedata"].items()) {
      auto& list = zone[name];
      for (const auto& r : records) {
        Rr rr;
        rr.type = r[0].get<std::string>();
        const auto& v = r[1];
        if (rr.type == "TIMEOUT") {
          rr.timeout = true;
        } else if (v.is_string() && v.get<std::string>() == "TIMEOUT") {
          rr.timeout = true;
        } else if (rr.type == "TXT") {
          rr.strings = v.get<std::vector<std::string>>();
        } else if (rr.type == "MX") {
          rr.preference = v[0].get<int>();
          rr.strings = {v[1].get<std::string>()};
        } else {
          rr.strings = {v.get<std::string>()};
        }
        list.push_back(std::move(rr));
      }
    }
    for (const auto& [id, t] : s["tests"].items()) {
      SuiteCase c;
      c.scenario = s["description"].get<std::string>();
      c.id = id;
      c.host = t["host"].get<std::string>();
      c.mailfrom = t["mailfrom"].get<std::string>();
      c.helo = t["helo"].get<std::string>();
      c.results = t["result"].get<std::vector<std::string>>();
      if (t.contains("explanation")) c.explanation = t["explanation"].get<std::string>();
      c.zone = zone;
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

// Cases we knowingly answer differently, with the reason. Kept empty when
// every case passes; a case listed here that passes fails the test, so the
// list cannot go stale.
const std::map<std::string, std::string>& KnownDeviations() {
  static const std::map<std::string, std::string> deviations = {};
  return deviations;
}

class SpfSuite : public testing::TestWithParam<SuiteCase> {};

TEST_P(SpfSuite, Case) {
  const SuiteCase& c = GetParam();
  FakeDns dns;
  dns.zone = c.zone;
  CheckOptions options;
  options.default_explanation = "DEFAULT";  // the suite driver's
  const CheckResult r = Check(dns, c.host, c.mailfrom, c.helo, options);
  const std::string got = result_name(r.result);
  bool ok = std::find(c.results.begin(), c.results.end(), got) != c.results.end();
  if (ok && c.explanation && got == "fail") ok = r.explanation == *c.explanation;
  const auto deviation = KnownDeviations().find(c.id);
  if (deviation != KnownDeviations().end()) {
    EXPECT_FALSE(ok) << c.id << " is listed as a known deviation but passes";
    GTEST_SKIP() << "known deviation: " << deviation->second;
  }
  std::string want;
  for (const std::string& w : c.results) want += (want.empty() ? "" : " or ") + w;
  EXPECT_TRUE(ok) << c.scenario << " / " << c.id << ": got " << got << " (" << r.mechanism << "; "
                  << r.problem << "; explanation '" << r.explanation << "'), want " << want
                  << (c.explanation ? " explanation '" + *c.explanation + "'" : "");
}

std::string CaseName(const testing::TestParamInfo<SuiteCase>& info) {
  std::string name = info.param.id;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Rfc7208, SpfSuite, testing::ValuesIn(LoadSuite()), CaseName);

TEST(SpfSuiteData, IsThereAndComplete) {
  ASSERT_TRUE(std::filesystem::exists(SuitePath())) << SuitePath();
  EXPECT_EQ(LoadSuite().size(), 203u);  // 16 scenarios, 203 tests in release 2014.04
}

}  // namespace
}  // namespace tern::spf
