// The set-up doctor (`tern check`) against a fake DNS.
#include <gtest/gtest.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "check/doctor.h"
#include "testlib.h"

namespace tern::check {
namespace {

using asio::ip::make_address;

// Answers from maps. A name that appears anywhere (as an owner) exists:
// asking it for another type gives NODATA; other names give NXDOMAIN.
// Names in `servfail` fail for now.
class FakeDns : public DnsLookup {
 public:
  void Mx(const std::string& name, std::vector<MxRecord> records) {
    mx_[name] = std::move(records);
    names_.insert(name);
  }
  void Addr(const std::string& name, const std::string& address) {
    addresses_[name].push_back(make_address(address));
    names_.insert(name);
  }
  void Cname(const std::string& alias, const std::string& target) {
    cnames_[alias] = target;
    names_.insert(alias);
  }
  void Txt(const std::string& name, TxtRecord record) {
    txt_[name].push_back(std::move(record));
    names_.insert(name);
  }
  void Ptr(const std::string& address, const std::string& name) {
    ptr_[make_address(address).to_string()].push_back(name);
  }
  // TLSA records at `name`, signed (DNSSEC secure) or not.
  void Tlsa(const std::string& name, TlsaRecord record, bool signed_zone) {
    tlsa_[name].push_back(std::move(record));
    names_.insert(name);
    if (signed_zone) secure_.insert(name);
  }
  std::set<std::string> servfail;
  std::vector<std::string> queries;

  asio::awaitable<MxResult> mx(std::string name) override {
    queries.push_back("MX " + name);
    co_return Answer(name, mx_);
  }
  asio::awaitable<AddressResult> a(std::string name) override {
    queries.push_back("A " + name);
    co_return Addresses(name, true);
  }
  asio::awaitable<AddressResult> aaaa(std::string name) override {
    queries.push_back("AAAA " + name);
    co_return Addresses(name, false);
  }
  asio::awaitable<TxtResult> txt(std::string name) override {
    queries.push_back("TXT " + name);
    co_return Answer(name, txt_);
  }
  asio::awaitable<TlsaResult> tlsa(std::string name) override {
    queries.push_back("TLSA " + name);
    TlsaResult r = Answer(name, tlsa_);
    if (secure_.count(name)) r.security = DnsSecurity::kSecure;
    co_return r;
  }
  asio::awaitable<NameResult> ptr(asio::ip::address address) override {
    queries.push_back("PTR " + address.to_string());
    co_return Answer(address.to_string(), ptr_);
  }

 private:
  template <typename T>
  DnsResult<T> Empty(const std::string& name) const {
    DnsResult<T> r;
    r.canonical_name = name;
    if (servfail.count(name)) {
      r.status = DnsStatus::kTempFail;
      r.error = "SERVFAIL";
    } else if (names_.count(name)) {
      r.status = DnsStatus::kNoData;
      r.error = "no data";
    } else {
      r.status = DnsStatus::kNxDomain;
      r.error = "NXDOMAIN";
    }
    return r;
  }

  template <typename T>
  DnsResult<T> Answer(const std::string& name, const std::map<std::string, std::vector<T>>& m) {
    const auto it = m.find(name);
    if (servfail.count(name) || it == m.end()) return Empty<T>(name);
    DnsResult<T> r;
    r.status = DnsStatus::kOk;
    r.records = it->second;
    r.canonical_name = name;
    return r;
  }

  AddressResult Addresses(const std::string& name, bool v4) {
    const auto alias = cnames_.find(name);
    const std::string target = alias == cnames_.end() ? name : alias->second;
    AddressResult r = Empty<asio::ip::address>(target);
    r.canonical_name = target;
    const auto it = addresses_.find(target);
    if (servfail.count(name) || it == addresses_.end()) return r;
    for (const asio::ip::address& a : it->second) {
      if (a.is_v4() == v4) r.records.push_back(a);
    }
    if (!r.records.empty()) {
      r.status = DnsStatus::kOk;
      r.error.clear();
    } else {
      r.status = DnsStatus::kNoData;
    }
    return r;
  }

  std::set<std::string> names_;
  std::map<std::string, std::vector<MxRecord>> mx_;
  std::map<std::string, std::vector<asio::ip::address>> addresses_;
  std::map<std::string, std::string> cnames_;
  std::map<std::string, std::vector<TxtRecord>> txt_;
  std::map<std::string, std::vector<std::string>> ptr_;
  std::map<std::string, std::vector<TlsaRecord>> tlsa_;
  std::set<std::string> secure_;
};

std::vector<Finding> Check(FakeDns& dns, const std::string& domain, DoctorOptions options) {
  asio::io_context io;
  std::vector<Finding> out;
  asio::co_spawn(io, run_checks(dns, domain, std::move(options)),
                 [&](std::exception_ptr e, std::vector<Finding> f) {
                   if (e) std::rethrow_exception(e);
                   out = std::move(f);
                 });
  io.run();
  return out;
}

std::string Dump(const std::vector<Finding>& findings) {
  std::string out;
  for (const Finding& f : findings) {
    out += std::string(level_name(f.level)) + " " + f.topic + " " + f.summary + "\n";
    for (const std::string& n : f.notes) out += "    " + n + "\n";
    for (const std::string& p : f.publish) out += "    publish: " + p + "\n";
  }
  return out;
}

// The first finding of `topic` whose summary holds `text`, or null.
const Finding* Find(const std::vector<Finding>& findings, const std::string& topic,
                    const std::string& text) {
  for (const Finding& f : findings) {
    if (f.topic == topic && f.summary.find(text) != std::string::npos) return &f;
  }
  return nullptr;
}

size_t Count(const std::vector<Finding>& findings, Level level) {
  size_t n = 0;
  for (const Finding& f : findings) n += f.level == level;
  return n;
}

dkim::PrivateKey NewKey(dkim::KeyType type = dkim::KeyType::kEd25519) {
  dkim::PrivateKey k;
  EXPECT_TRUE(dkim::PrivateKey::generate(type, 1024, &k).ok());
  return k;
}

// A domain set up as it should be, served by mail.good.test
// (192.0.2.10, 2001:db8::10).
struct GoodDomain {
  FakeDns dns;
  DoctorOptions options;
  dkim::PrivateKey key = NewKey();

  GoodDomain() {
    dns.Mx("good.test", {{10, "mail.good.test"}});
    dns.Addr("mail.good.test", "192.0.2.10");
    dns.Addr("mail.good.test", "2001:db8::10");
    dns.Ptr("192.0.2.10", "mail.good.test");
    dns.Ptr("2001:db8::10", "mail.good.test");
    dns.Txt("good.test", {"v=spf1 mx -all"});
    dns.Txt("good.test", {"google-site-verification=abc"});
    dns.Txt("sel._domainkey.good.test", {dkim::key_record_text(key)});
    dns.Txt("_dmarc.good.test", {"v=DMARC1; p=reject; ", "rua=mailto:dmarc@good.test"});
    dns.Txt("_smtp._tls.good.test", {"v=TLSRPTv1; rua=mailto:tls@good.test"});
    options.hostname = "mail.good.test";
    options.dkim_keys.push_back({"sel", key, "/data/dkim/good.test/sel.key", true});
    options.now = 1767225600;
  }
};

TEST(CheckDoctor, AllGood) {
  GoodDomain g;
  const std::vector<Finding> f = Check(g.dns, "Good.Test", g.options);
  EXPECT_FALSE(any_failed(f)) << Dump(f);
  EXPECT_EQ(Count(f, Level::kWarn), 0u) << Dump(f);
  EXPECT_NE(Find(f, "mx", "good.test has MX 10 mail.good.test"), nullptr) << Dump(f);
  EXPECT_NE(Find(f, "host", "192.0.2.10, 2001:db8::10"), nullptr) << Dump(f);
  EXPECT_NE(Find(f, "ptr", "192.0.2.10 has reverse DNS mail.good.test"), nullptr) << Dump(f);
  EXPECT_NE(Find(f, "ptr", "2001:db8::10 has reverse DNS mail.good.test"), nullptr) << Dump(f);
  EXPECT_NE(Find(f, "spf", "passes for this server's address 192.0.2.10 (mx"), nullptr) << Dump(f);
  EXPECT_NE(Find(f, "spf", "passes for this server's address 2001:db8::10"), nullptr) << Dump(f);
  EXPECT_NE(Find(f, "dkim", "selector sel (ed25519 key"), nullptr) << Dump(f);
  EXPECT_NE(Find(f, "dmarc", "p=reject"), nullptr) << Dump(f);
  for (const Finding& x : f) EXPECT_TRUE(x.publish.empty()) << Dump(f);
}

// issue 15: `tern check --bulk`, the requirements of Gmail, Yahoo and
// Outlook.com for bulk senders, summed up from the other checks.
TEST(CheckDoctor, BulkSection) {
  GoodDomain g;
  std::vector<Finding> f = Check(g.dns, "good.test", g.options);
  EXPECT_EQ(Find(f, "bulk", ""), nullptr) << "only with DoctorOptions::bulk";
  g.options.bulk = true;
  f = Check(g.dns, "good.test", g.options);
  EXPECT_FALSE(any_failed(f)) << Dump(f);
  size_t bulk = 0;
  for (const Finding& x : f) bulk += x.topic == "bulk";
  EXPECT_EQ(bulk, 6u) << Dump(f);
  EXPECT_EQ(f.back().topic, "bulk");
  EXPECT_NE(Find(f, "bulk", "(2 of 2 addresses), aligned"), nullptr) << Dump(f);
  EXPECT_NE(Find(f, "bulk", "2 of 2 addresses of this server have a PTR"), nullptr) << Dump(f);

  // DMARC p=none is enough; a PTR that is not the EHLO name is not; no
  // DKIM key is not.
  FakeDns dns;
  DoctorOptions o = g.options;
  o.dkim_keys.clear();
  dns.Mx("good.test", {{10, "mail.good.test"}});
  dns.Addr("mail.good.test", "192.0.2.10");
  dns.Addr("other.good.test", "192.0.2.10");
  dns.Ptr("192.0.2.10", "other.good.test");
  dns.Txt("good.test", {"v=spf1 mx -all"});
  dns.Txt("_dmarc.good.test", {"v=DMARC1; p=none; rua=mailto:d@good.test"});
  f = Check(dns, "good.test", o);
  const Finding* head = Find(f, "bulk", "misses 2 of the requirements");
  ASSERT_NE(head, nullptr) << Dump(f);
  EXPECT_EQ(head->level, Level::kFail);
  EXPECT_NE(head->notes.front().find("List-Unsubscribe-Post"), std::string::npos);
  EXPECT_EQ(Find(f, "bulk", "DMARC: good.test has p=none")->level, Level::kOk);
  EXPECT_EQ(Find(f, "bulk", "0 of 1 addresses of this server have a PTR")->level, Level::kFail);
  EXPECT_EQ(Find(f, "bulk", "DKIM: mail from good.test")->level, Level::kFail);
  EXPECT_EQ(Find(f, "bulk", "SPF of good.test passes")->level, Level::kOk);
  o.smarthost = "smtp.provider.example:587";
  f = Check(dns, "good.test", o);
  EXPECT_NE(Find(f, "bulk", "through the smarthost smtp.provider.example:587"), nullptr) << Dump(f);
}

TEST(CheckDoctor, EverythingMissing) {
  FakeDns dns;
  dns.Txt("bare.test", {"some other text"});  // the name exists, without MX or address
  DoctorOptions o;
  o.hostname = "mail.bare.test";
  o.dkim_dir = "/data/dkim";
  const std::vector<Finding> f = Check(dns, "bare.test", o);
  EXPECT_TRUE(any_failed(f));
  const Finding* mx = Find(f, "mx", "no MX record and no address");
  ASSERT_NE(mx, nullptr) << Dump(f);
  EXPECT_EQ(mx->level, Level::kFail);
  EXPECT_EQ(mx->publish, std::vector<std::string>{"bare.test. IN MX 10 mail.bare.test."});
  const Finding* host = Find(f, "host", "hostname mail.bare.test has no address");
  ASSERT_NE(host, nullptr) << Dump(f);
  EXPECT_EQ(host->level, Level::kWarn);
  const Finding* spf = Find(f, "spf", "bare.test has no SPF record");
  ASSERT_NE(spf, nullptr) << Dump(f);
  EXPECT_EQ(spf->level, Level::kFail);
  EXPECT_EQ(spf->publish, std::vector<std::string>{"bare.test. IN TXT \"v=spf1 mx -all\""});
  const Finding* dkim = Find(f, "dkim", "no DKIM key for bare.test in /data/dkim/bare.test");
  ASSERT_NE(dkim, nullptr) << Dump(f);
  EXPECT_EQ(dkim->level, Level::kFail);
  EXPECT_NE(Dump(f).find("tern dkim keygen bare.test"), std::string::npos);
  const Finding* dmarc = Find(f, "dmarc", "bare.test has no DMARC record");
  ASSERT_NE(dmarc, nullptr) << Dump(f);
  EXPECT_EQ(dmarc->level, Level::kFail);
  EXPECT_EQ(dmarc->publish, std::vector<std::string>{"_dmarc.bare.test. IN TXT \"v=DMARC1; "
                                                     "p=none; rua=mailto:postmaster@bare.test\""});
  EXPECT_NE(Dump(f).find("p=quarantine, then p=reject"), std::string::npos);
}

TEST(CheckDoctor, DomainThatDoesNotExist) {
  FakeDns dns;
  DoctorOptions o;
  o.hostname = "mail.example.org";
  const std::vector<Finding> f = Check(dns, "nowhere.test", o);
  const Finding* mx = Find(f, "mx", "nowhere.test does not exist in DNS");
  ASSERT_NE(mx, nullptr) << Dump(f);
  EXPECT_EQ(mx->level, Level::kFail);
}

TEST(CheckDoctor, WrongDkimKey) {
  GoodDomain g;
  const dkim::PrivateKey other = NewKey();
  const dkim::PrivateKey rsa = NewKey(dkim::KeyType::kRsa);
  FakeDns& dns = g.dns;
  dns.Txt("wrong._domainkey.good.test", {dkim::key_record_text(other)});
  dns.Txt("revoked._domainkey.good.test", {"v=DKIM1; k=ed25519; p="});
  dns.Txt("broken._domainkey.good.test", {"v=DKIM1; k=ed25519; p=!!!"});
  // The RSA key split into 255-octet strings, as published: joined again.
  TxtRecord split;
  for (const std::string& s : dkim::split_txt_strings(dkim::key_record_text(rsa))) {
    split.push_back(s);
  }
  dns.Txt("rsa._domainkey.good.test", split);
  dns.servfail.insert("flaky._domainkey.good.test");
  g.options.dkim_keys = {
      {"broken", g.key, "/k/broken.key", true},   {"flaky", g.key, "/k/flaky.key", true},
      {"missing", g.key, "/k/missing.key", true}, {"old", g.key, "/k/old.key", false},
      {"revoked", g.key, "/k/revoked.key", true}, {"rsa", rsa, "/k/rsa.key", true},
      {"wrong", g.key, "/k/wrong.key", true}};
  const std::vector<Finding> f = Check(dns, "good.test", g.options);

  const Finding* wrong = Find(f, "dkim", "selector wrong");
  ASSERT_NE(wrong, nullptr) << Dump(f);
  EXPECT_EQ(wrong->level, Level::kFail);
  EXPECT_NE(wrong->summary.find("is not this key"), std::string::npos);
  EXPECT_EQ(wrong->publish,
            std::vector<std::string>{dkim::dns_txt_record("good.test", "wrong", g.key)});
  const Finding* missing = Find(f, "dkim", "selector missing");
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->level, Level::kFail);
  EXPECT_NE(missing->summary.find("nothing published at missing._domainkey.good.test"),
            std::string::npos);
  EXPECT_EQ(missing->publish,
            std::vector<std::string>{dkim::dns_txt_record("good.test", "missing", g.key)});
  // A key no longer used for signing: only a warning.
  const Finding* old = Find(f, "dkim", "selector old");
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->level, Level::kWarn);
  EXPECT_NE(Find(f, "dkim", "selector revoked")->summary.find("revokes"), std::string::npos);
  EXPECT_EQ(Find(f, "dkim", "selector revoked")->level, Level::kFail);
  EXPECT_NE(Find(f, "dkim", "selector broken")->summary.find("does not parse"), std::string::npos);
  const Finding* flaky = Find(f, "dkim", "could not look up flaky._domainkey.good.test");
  ASSERT_NE(flaky, nullptr) << Dump(f);
  const Finding* ok = Find(f, "dkim", "selector rsa (rsa key");
  ASSERT_NE(ok, nullptr) << Dump(f);
  EXPECT_EQ(ok->level, Level::kOk) << Dump(f);
}

TEST(CheckDoctor, TwoSpfRecords) {
  GoodDomain g;
  g.dns.Txt("good.test", {"v=spf1 ", "ip4:192.0.2.10 -all"});
  std::vector<Finding> f = Check(g.dns, "good.test", g.options);
  const Finding* spf = Find(f, "spf", "more than one SPF record");
  ASSERT_NE(spf, nullptr) << Dump(f);
  EXPECT_EQ(spf->level, Level::kFail);
  // Merged: the terms of both, "mx" already covering this server.
  EXPECT_EQ(spf->publish,
            std::vector<std::string>{"good.test. IN TXT \"v=spf1 mx ip4:192.0.2.10 -all\""});
  EXPECT_NE(Dump(f).find("found: v=spf1 ip4:192.0.2.10 -all"), std::string::npos) << Dump(f);
  EXPECT_EQ(Find(f, "spf", "passes"), nullptr);

  // Sent from elsewhere (this server is no MX host): its addresses join the
  // terms of both, and the strictest "all" stays.
  g.dns.Mx("two.test", {{10, "mx.two.test"}});
  g.dns.Addr("mx.two.test", "198.51.100.7");
  g.dns.Txt("two.test", {"v=spf1 a:mx.two.test ~all"});
  g.dns.Txt("two.test", {"v=spf1 include:_spf.mailer.example ?all"});
  f = Check(g.dns, "two.test", g.options);
  spf = Find(f, "spf", "more than one SPF record");
  ASSERT_NE(spf, nullptr) << Dump(f);
  EXPECT_EQ(spf->publish, std::vector<std::string>{
                              "two.test. IN TXT \"v=spf1 a:mx.two.test include:_spf.mailer.example "
                              "ip4:192.0.2.10 ip6:2001:db8::10 ~all\""});
}

TEST(CheckDoctor, SpfThatDoesNotCoverUs) {
  GoodDomain g;
  FakeDns& dns = g.dns;
  dns.Mx("good.test", {{10, "mx.elsewhere.test"}});
  dns.Addr("mx.elsewhere.test", "198.51.100.1");
  dns.Ptr("198.51.100.1", "mx.elsewhere.test");
  g.options.hostname = "out.good.test";  // sends, does not receive
  dns.Addr("out.good.test", "192.0.2.20");
  dns.Ptr("192.0.2.20", "out.good.test");
  const std::vector<Finding> f = Check(dns, "good.test", g.options);
  const Finding* none_ours = Find(f, "mx", "none of the MX hosts of good.test is this server");
  ASSERT_NE(none_ours, nullptr) << Dump(f);
  EXPECT_EQ(none_ours->level, Level::kWarn);
  EXPECT_EQ(none_ours->publish, std::vector<std::string>{"good.test. IN MX 10 out.good.test."});
  const Finding* spf = Find(f, "spf", "does not authorise this server's address 192.0.2.20");
  ASSERT_NE(spf, nullptr) << Dump(f);
  EXPECT_EQ(spf->level, Level::kFail);
  EXPECT_NE(spf->summary.find("result fail, -all"), std::string::npos) << spf->summary;
  EXPECT_EQ(spf->publish,
            std::vector<std::string>{"good.test. IN TXT \"v=spf1 ip4:192.0.2.20 mx -all\""});
  EXPECT_NE(Find(f, "ptr", "192.0.2.20 has reverse DNS out.good.test"), nullptr) << Dump(f);
}

TEST(CheckDoctor, SpfPolicyProblems) {
  {
    GoodDomain g;
    g.dns.Txt("plusall.test", {"v=spf1 +all"});
    g.dns.Mx("plusall.test", {{10, "mail.good.test"}});
    const std::vector<Finding> f = Check(g.dns, "plusall.test", g.options);
    const Finding* all = Find(f, "spf", "ends in +all");
    ASSERT_NE(all, nullptr) << Dump(f);
    EXPECT_EQ(all->level, Level::kFail);
  }
  {
    GoodDomain g;
    for (int i = 0; i < 11; ++i) {
      g.dns.Txt("l" + std::to_string(i) + ".good.test",
                {"v=spf1 include:l" + std::to_string(i + 1) + ".good.test -all"});
    }
    g.dns.Txt("l11.good.test", {"v=spf1 +all"});
    g.dns.Mx("deep.test", {{10, "mail.good.test"}});
    g.dns.Txt("deep.test", {"v=spf1 include:l0.good.test -all"});
    const std::vector<Finding> f = Check(g.dns, "deep.test", g.options);
    const Finding* broken = Find(f, "spf", "the SPF record of deep.test is broken");
    ASSERT_NE(broken, nullptr) << Dump(f);
    EXPECT_EQ(broken->level, Level::kFail);
    EXPECT_NE(broken->summary.find("10"), std::string::npos) << broken->summary;
  }
  {
    GoodDomain g;
    g.dns.Mx("syntax.test", {{10, "mail.good.test"}});
    g.dns.Txt("syntax.test", {"v=spf1 ip4:192.0.2.300 -all"});
    const std::vector<Finding> f = Check(g.dns, "syntax.test", g.options);
    const Finding* bad = Find(f, "spf", "does not parse");
    ASSERT_NE(bad, nullptr) << Dump(f);
    EXPECT_EQ(bad->level, Level::kFail);
    EXPECT_EQ(bad->publish, std::vector<std::string>{"syntax.test. IN TXT \"v=spf1 mx -all\""});
  }
  {
    GoodDomain g;
    g.dns.Mx("neutral.test", {{10, "mail.good.test"}});
    g.dns.Txt("neutral.test", {"v=spf1 mx ?all"});
    const std::vector<Finding> f = Check(g.dns, "neutral.test", g.options);
    const Finding* q = Find(f, "spf", "ends in ?all");
    ASSERT_NE(q, nullptr) << Dump(f);
    EXPECT_EQ(q->level, Level::kWarn);
    EXPECT_NE(Find(f, "spf", "passes for this server's address 192.0.2.10"), nullptr);
  }
}

TEST(CheckDoctor, NullMx) {
  GoodDomain g;
  g.dns.Mx("good.test", {{0, "."}});
  std::vector<Finding> f = Check(g.dns, "good.test", g.options);
  const Finding* null_mx = Find(f, "mx", "has a null MX (RFC 7505)");
  ASSERT_NE(null_mx, nullptr) << Dump(f);
  EXPECT_EQ(null_mx->level, Level::kFail);
  EXPECT_EQ(null_mx->publish, std::vector<std::string>{"good.test. IN MX 10 mail.good.test."});

  g.dns.Mx("good.test", {{10, "mail.good.test"}, {0, "."}});
  f = Check(g.dns, "good.test", g.options);
  const Finding* mixed = Find(f, "mx", "null MX among other MX records (10 mail.good.test)");
  ASSERT_NE(mixed, nullptr) << Dump(f);
  EXPECT_EQ(mixed->level, Level::kFail);
  EXPECT_NE(Find(f, "host", "MX host mail.good.test has address"), nullptr) << Dump(f);
}

TEST(CheckDoctor, MxHostProblems) {
  GoodDomain g;
  g.dns.Mx("good.test", {{10, "mx-alias.good.test"}, {20, "192.0.2.99"}, {30, "gone.good.test"}});
  g.dns.Cname("mx-alias.good.test", "mail.good.test");
  const std::vector<Finding> f = Check(g.dns, "good.test", g.options);
  const Finding* alias = Find(f, "mx", "MX host mx-alias.good.test is an alias (CNAME)");
  ASSERT_NE(alias, nullptr) << Dump(f);
  EXPECT_EQ(alias->level, Level::kWarn);
  EXPECT_EQ(alias->publish, std::vector<std::string>{"good.test. IN MX 10 mail.good.test."});
  const Finding* literal = Find(f, "mx", "MX host 192.0.2.99 is an IP address");
  ASSERT_NE(literal, nullptr) << Dump(f);
  EXPECT_EQ(literal->level, Level::kFail);
  const Finding* gone = Find(f, "host", "MX host gone.good.test has no address");
  ASSERT_NE(gone, nullptr) << Dump(f);
  EXPECT_EQ(gone->level, Level::kFail);
  // The alias leads to this server: its addresses count as ours.
  EXPECT_NE(Find(f, "spf", "passes for this server's address 192.0.2.10"), nullptr) << Dump(f);
  EXPECT_EQ(Find(f, "mx", "none of the MX hosts"), nullptr) << Dump(f);
}

TEST(CheckDoctor, PtrMismatch) {
  GoodDomain g;  // for its options and key; the DNS is this one
  FakeDns dns;
  dns.Mx("good.test", {{10, "mail.good.test"}});
  dns.Addr("mail.good.test", "192.0.2.10");
  dns.Addr("mail.good.test", "192.0.2.11");
  dns.Addr("mail.good.test", "2001:db8::10");
  dns.Ptr("192.0.2.10", "static-10.isp.example");  // does not resolve back
  dns.Ptr("192.0.2.11", "vps11.isp.example");      // resolves back, but is not our name
  dns.Addr("vps11.isp.example", "192.0.2.11");
  // 2001:db8::10: no PTR at all
  dns.Txt("good.test", {"v=spf1 mx -all"});
  dns.Txt("sel._domainkey.good.test", {dkim::key_record_text(g.key)});
  dns.Txt("_dmarc.good.test", {"v=DMARC1; p=quarantine; rua=mailto:d@good.test"});
  const std::vector<Finding> f = Check(dns, "good.test", g.options);

  const Finding* back = Find(f, "ptr", "192.0.2.10 has reverse DNS static-10.isp.example, but");
  ASSERT_NE(back, nullptr) << Dump(f);
  EXPECT_EQ(back->level, Level::kFail);
  EXPECT_EQ(back->publish, std::vector<std::string>{"static-10.isp.example. IN A 192.0.2.10"});
  const Finding* name = Find(f, "ptr", "192.0.2.11 has reverse DNS vps11.isp.example, not");
  ASSERT_NE(name, nullptr) << Dump(f);
  EXPECT_EQ(name->level, Level::kWarn);
  EXPECT_EQ(name->publish,
            std::vector<std::string>{"11.2.0.192.in-addr.arpa. IN PTR mail.good.test."});
  const Finding* none = Find(f, "ptr", "2001:db8::10 (mail.good.test) has no reverse DNS");
  ASSERT_NE(none, nullptr) << Dump(f);
  EXPECT_EQ(none->level, Level::kFail);
  ASSERT_EQ(none->publish.size(), 1u);
  EXPECT_TRUE(none->publish[0].ends_with(".8.b.d.0.1.0.0.2.ip6.arpa. IN PTR mail.good.test."))
      << none->publish[0];
}

TEST(CheckDoctor, DmarcFindings) {
  {
    GoodDomain h;
    FakeDns& dns = h.dns;
    dns.Mx("watch.test", {{10, "mail.good.test"}});
    dns.Txt("watch.test", {"v=spf1 mx -all"});
    dns.Txt("_dmarc.watch.test", {"v=DMARC1; p=none; pct=50"});
    h.options.dkim_keys.clear();
    const std::vector<Finding> f = Check(dns, "watch.test", h.options);
    const Finding* none = Find(f, "dmarc", "DMARC of watch.test is p=none");
    ASSERT_NE(none, nullptr) << Dump(f);
    EXPECT_EQ(none->level, Level::kWarn);
    EXPECT_EQ(none->publish, std::vector<std::string>{"_dmarc.watch.test. IN TXT \"v=DMARC1; "
                                                      "p=quarantine; "
                                                      "rua=mailto:postmaster@watch.test\""});
    const Finding* pct = Find(f, "dmarc", "pct=50");
    ASSERT_NE(pct, nullptr) << Dump(f);
    EXPECT_EQ(pct->level, Level::kWarn);
    const Finding* rua = Find(f, "dmarc", "no rua=");
    ASSERT_NE(rua, nullptr) << Dump(f);
    EXPECT_EQ(rua->publish, std::vector<std::string>{"_dmarc.watch.test. IN TXT \"v=DMARC1; "
                                                     "p=none; pct=50; "
                                                     "rua=mailto:postmaster@watch.test\""});
  }
  {
    GoodDomain g;
    g.dns.Txt("_dmarc.two.test", {"v=DMARC1; p=reject"});
    g.dns.Txt("_dmarc.two.test", {"v=DMARC1; p=none"});
    g.dns.Txt("_dmarc.two.test", {"not dmarc"});
    const std::vector<Finding> f = Check(g.dns, "two.test", g.options);
    const Finding* two = Find(f, "dmarc", "has 2 DMARC records");
    ASSERT_NE(two, nullptr) << Dump(f);
    EXPECT_EQ(two->level, Level::kFail);
  }
  {
    // A subdomain without a record of its own: the organizational domain's
    // record applies, with its sp=.
    GoodDomain g;
    g.dns.Txt("_dmarc.org.test", {"v=DMARC1; p=reject; sp=none; rua=mailto:d@org.test"});
    std::vector<Finding> f = Check(g.dns, "sub.org.test", g.options);
    const Finding* sub =
        Find(f, "dmarc", "DMARC of sub.org.test (the record of org.test applies, its sp=)");
    ASSERT_NE(sub, nullptr) << Dump(f);
    EXPECT_EQ(sub->level, Level::kWarn);
    EXPECT_NE(sub->summary.find("p=none"), std::string::npos);
    EXPECT_EQ(sub->publish,
              std::vector<std::string>{"_dmarc.sub.org.test. IN TXT \"v=DMARC1; p=quarantine; "
                                       "rua=mailto:d@org.test\""});
    // Without sp=, p= covers subdomains too.
    g.dns.Txt("_dmarc.org2.test", {"v=DMARC1; p=reject; rua=mailto:d@org2.test"});
    f = Check(g.dns, "a.b.org2.test", g.options);
    const Finding* deep =
        Find(f, "dmarc", "DMARC of a.b.org2.test (the record of org2.test applies): p=reject");
    ASSERT_NE(deep, nullptr) << Dump(f);
    EXPECT_EQ(deep->level, Level::kOk);
  }
  {
    GoodDomain g;
    g.dns.servfail.insert("_dmarc.good.test");
    const std::vector<Finding> f = Check(g.dns, "good.test", g.options);
    const Finding* temp = Find(f, "dmarc", "could not look up _dmarc.good.test: SERVFAIL");
    ASSERT_NE(temp, nullptr) << Dump(f);
    EXPECT_EQ(temp->level, Level::kFail);
  }
}

TEST(CheckDoctor, DnsFailuresAreFindings) {
  GoodDomain g;
  g.dns.servfail = {"good.test"};
  const std::vector<Finding> f = Check(g.dns, "good.test", g.options);
  const Finding* mx = Find(f, "mx", "could not look up the MX records of good.test: SERVFAIL");
  ASSERT_NE(mx, nullptr) << Dump(f);
  EXPECT_EQ(mx->level, Level::kFail);
  EXPECT_NE(Find(f, "spf", "could not look up the TXT records of good.test"), nullptr) << Dump(f);
}

TEST(CheckDoctor, LocalKeys) {
  testlib::TempDir tmp;
  namespace fs = std::filesystem;
  fs::create_directories(tmp.path() + "/dkim/Good.Test");
  fs::create_directories(tmp.path() + "/dkim/other.test");
  const auto write = [&](const std::string& rel, const std::string& text) {
    std::ofstream(tmp.path() + "/dkim/" + rel) << text;
  };
  const dkim::PrivateKey a = NewKey(), b = NewKey(), r = NewKey(dkim::KeyType::kRsa);
  write("Good.Test/ed-old.key", a.pem());
  write("Good.Test/ed-new.key", b.pem());
  write("Good.Test/rsa.key", r.pem());
  write("Good.Test/junk.key", "not a key");
  write("Good.Test/notes.txt", "ignored");
  write("other.test/x.key", a.pem());
  const auto now = fs::file_time_type::clock::now();
  fs::last_write_time(tmp.path() + "/dkim/Good.Test/ed-old.key", now - std::chrono::hours(48));
  fs::last_write_time(tmp.path() + "/dkim/Good.Test/ed-new.key", now - std::chrono::hours(1));

  std::vector<std::string> problems;
  const std::vector<LocalKey> keys = load_local_keys(tmp.path(), "good.test", &problems);
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].selector, "ed-new");
  EXPECT_TRUE(keys[0].signing);
  EXPECT_EQ(keys[1].selector, "ed-old");
  EXPECT_FALSE(keys[1].signing);  // a newer Ed25519 key signs
  EXPECT_EQ(keys[2].selector, "rsa");
  EXPECT_TRUE(keys[2].signing);
  EXPECT_EQ(keys[2].key.public_key_data(), r.public_key_data());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("junk.key"), std::string::npos);

  problems.clear();
  EXPECT_TRUE(load_local_keys(tmp.path(), "none.test", &problems).empty());
  EXPECT_TRUE(load_local_keys(tmp.path() + "/nothing", "good.test", &problems).empty());
  EXPECT_TRUE(problems.empty());
}

// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) findings, with a fake fetch.
TEST(CheckDoctor, MtaStsAndTlsRpt) {
  GoodDomain g;
  g.dns.Mx("good.test", {{10, "mail.good.test"}, {20, "backup.other.test"}});
  g.dns.Addr("backup.other.test", "192.0.2.20");
  g.dns.Txt("_mta-sts.good.test", {"v=STSv1; id=abc1"});
  g.dns.Txt("_smtp._tls.good.test", {"v=TLSRPTv1; rua=ftp://x"});
  sts::Policy served;
  served.mode = sts::Mode::kEnforce;
  served.mx = {"mail.good.test"};
  served.max_age = 86400;
  g.options.served_sts_policy = served;
  g.options.fetch_sts_policy =
      [served](std::string domain, std::string*) -> asio::awaitable<std::optional<sts::Policy>> {
    EXPECT_EQ(domain, "good.test");
    co_return served;
  };
  const std::vector<Finding> f = Check(g.dns, "good.test", g.options);
  EXPECT_NE(Find(f, "sts", "has MTA-STS id=abc1"), nullptr) << Dump(f);
  const Finding* stale = Find(f, "sts", "the published id abc1 is not the id");
  ASSERT_NE(stale, nullptr) << Dump(f);
  EXPECT_EQ(stale->level, Level::kWarn);
  const Finding* mx = Find(f, "sts", "MX host backup.other.test is not in the policy");
  ASSERT_NE(mx, nullptr) << Dump(f);
  EXPECT_EQ(mx->level, Level::kFail);
  EXPECT_EQ(Find(f, "sts", "MX host mail.good.test"), nullptr) << Dump(f);
  const Finding* rpt = Find(f, "tlsrpt", "has 2 TLS-RPT records");  // GoodDomain has one
  ASSERT_NE(rpt, nullptr) << Dump(f);
  EXPECT_EQ(rpt->level, Level::kFail);
}

TEST(CheckDoctor, MtaStsFetchFailsAndDaneNextKey) {
  GoodDomain g;
  g.dns.Txt("_mta-sts.good.test", {"v=STSv1; id=abc1"});
  g.options.fetch_sts_policy =
      [](std::string, std::string* error) -> asio::awaitable<std::optional<sts::Policy>> {
    *error = "HTTP 404";
    co_return std::nullopt;
  };
  g.options.tlsa_current = std::string(64, 'a');
  g.options.tlsa_next = std::string(64, 'b');
  const std::vector<Finding> f = Check(g.dns, "good.test", g.options);
  const Finding* fetch = Find(f, "sts", "cannot be fetched: HTTP 404");
  ASSERT_NE(fetch, nullptr) << Dump(f);
  EXPECT_EQ(fetch->level, Level::kFail);
  const Finding* key = Find(f, "dane", "_25._tcp.mail.good.test. IN TLSA 3 1 1 aaaa");
  ASSERT_NE(key, nullptr) << Dump(f);
  EXPECT_EQ(key->level, Level::kOk);
  const Finding* next = Find(f, "dane", "the key is about to change");
  ASSERT_NE(next, nullptr) << Dump(f);
  EXPECT_EQ(next->level, Level::kWarn);
  EXPECT_EQ(next->publish, std::vector<std::string>{"_25._tcp.mail.good.test. IN TLSA 3 1 1 " +
                                                    std::string(64, 'b')});
}

// TLSA 3 1 1 with SHA-256 data of 32 octets `fill` (hex: `fill` twice, 64 times).
TlsaRecord Tlsa311(char fill) { return TlsaRecord{3, 1, 1, std::string(32, fill)}; }

TEST(CheckDoctor, DanePublishedSigned) {
  GoodDomain g;
  g.options.tlsa_current = std::string(64, 'a');  // the octet 0xaa, 32 times
  g.dns.Tlsa("_25._tcp.mail.good.test", Tlsa311('\xaa'), true);
  const std::vector<Finding> f = Check(g.dns, "good.test", g.options);
  const Finding* key =
      Find(f, "dane", "this server's key: _25._tcp.mail.good.test. IN TLSA 3 1 1 aaaa");
  ASSERT_NE(key, nullptr) << Dump(f);
  EXPECT_EQ(key->level, Level::kOk);
  EXPECT_NE(key->summary.find("(published, signed)"), std::string::npos) << key->summary;
  EXPECT_TRUE(key->publish.empty());
  EXPECT_NE(std::find(g.dns.queries.begin(), g.dns.queries.end(), "TLSA _25._tcp.mail.good.test"),
            g.dns.queries.end());
}

TEST(CheckDoctor, DanePublishedUnsignedOrOtherKey) {
  GoodDomain g;
  g.options.tlsa_current = std::string(64, 'a');
  g.dns.Tlsa("_25._tcp.mail.good.test", Tlsa311('\xaa'), false);
  std::vector<Finding> f = Check(g.dns, "good.test", g.options);
  const Finding* key = Find(f, "dane", "this server's key:");
  ASSERT_NE(key, nullptr) << Dump(f);
  EXPECT_EQ(key->level, Level::kWarn);
  EXPECT_NE(key->summary.find("not DNSSEC-signed"), std::string::npos) << key->summary;

  // A signed RRset without our key: DANE senders defer everything.
  GoodDomain h;
  h.options.tlsa_current = std::string(64, 'a');
  h.options.tlsa_next = std::string(64, 'b');
  h.dns.Tlsa("_25._tcp.mail.good.test", Tlsa311('\xbb'), true);
  f = Check(h.dns, "good.test", h.options);
  key = Find(f, "dane", "this server's key:");
  ASSERT_NE(key, nullptr) << Dump(f);
  EXPECT_EQ(key->level, Level::kFail);
  EXPECT_NE(key->summary.find("none for this key"), std::string::npos) << key->summary;
  EXPECT_EQ(key->publish, std::vector<std::string>{"_25._tcp.mail.good.test. IN TLSA 3 1 1 " +
                                                   std::string(64, 'a')});
  // The next key is the one published: no warning about it.
  EXPECT_EQ(Find(f, "dane", "the key is about to change"), nullptr) << Dump(f);
  EXPECT_NE(Find(f, "dane", "the next key (tern acme rollkey) is published too"), nullptr)
      << Dump(f);
}

TEST(CheckDoctor, DaneLookupFails) {
  GoodDomain g;
  g.options.tlsa_current = std::string(64, 'a');
  g.dns.servfail.insert("_25._tcp.mail.good.test");
  const std::vector<Finding> f = Check(g.dns, "good.test", g.options);
  const Finding* key = Find(f, "dane", "this server's key:");
  ASSERT_NE(key, nullptr) << Dump(f);
  EXPECT_EQ(key->level, Level::kWarn);
  EXPECT_NE(key->summary.find("TLSA lookup failed: SERVFAIL"), std::string::npos) << key->summary;
}

}  // namespace
}  // namespace tern::check
