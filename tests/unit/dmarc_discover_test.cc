// Policy discovery (RFC 7489 6.6.3) over a fake DnsLookup.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dmarc/evaluate.h"
#include "fake_dns.h"

namespace tern::dmarc {
namespace {

using testlib::Failed;
using testlib::FakeTxtDns;
using testlib::Txt;

Discovery Discover(FakeTxtDns& dns, std::string domain) {
  asio::io_context io;
  Discovery out;
  bool done = false;
  asio::co_spawn(io, discover(dns, std::move(domain)), [&](std::exception_ptr e, Discovery d) {
    if (e) std::rethrow_exception(e);
    out = std::move(d);
    done = true;
  });
  io.run();
  EXPECT_TRUE(done);
  return out;
}

using Status = Discovery::Status;

TEST(DmarcDiscover, RecordAtTheFromDomain) {
  FakeTxtDns dns;
  dns.txt_answers["_dmarc.example.com"] = Txt({{"v=DMARC1; p=reject"}});
  const Discovery d = Discover(dns, "example.com");
  EXPECT_EQ(d.status, Status::kFound) << d.error;
  EXPECT_EQ(d.policy_domain, "example.com");
  EXPECT_FALSE(d.org_level);
  EXPECT_EQ(d.record.p, Policy::kReject);
  EXPECT_EQ(d.record_text, "v=DMARC1; p=reject");
  EXPECT_EQ(dns.queries, (std::vector<std::string>{"_dmarc.example.com"}));
}

TEST(DmarcDiscover, FromDomainIsLowerCased) {
  FakeTxtDns dns;
  dns.txt_answers["_dmarc.example.com"] = Txt({{"v=DMARC1; p=none"}});
  const Discovery d = Discover(dns, "Example.COM.");
  EXPECT_EQ(d.status, Status::kFound);
  EXPECT_EQ(d.policy_domain, "example.com");
}

TEST(DmarcDiscover, StringsOfARecordAreJoined) {
  FakeTxtDns dns;
  dns.txt_answers["_dmarc.example.com"] = Txt({{"v=DMARC1; p=quar", "antine; pct=5"}});
  const Discovery d = Discover(dns, "example.com");
  ASSERT_EQ(d.status, Status::kFound);
  EXPECT_EQ(d.record.p, Policy::kQuarantine);
  EXPECT_EQ(d.record.pct, 5);
}

TEST(DmarcDiscover, FallsBackToTheOrganizationalDomain) {
  FakeTxtDns dns;
  dns.txt_answers["_dmarc.example.co.uk"] = Txt({{"v=DMARC1; p=reject; sp=quarantine"}});
  const Discovery d = Discover(dns, "a.b.example.co.uk");
  EXPECT_EQ(d.status, Status::kFound) << d.error;
  EXPECT_EQ(d.policy_domain, "example.co.uk");
  EXPECT_TRUE(d.org_level);
  EXPECT_EQ(dns.queries,
            (std::vector<std::string>{"_dmarc.a.b.example.co.uk", "_dmarc.example.co.uk"}));
}

TEST(DmarcDiscover, NonDmarcRecordsAreDiscarded) {
  // Step 2: other TXT at _dmarc.<from> do not stop the fallback.
  FakeTxtDns dns;
  dns.txt_answers["_dmarc.mail.example.com"] =
      Txt({{"v=spf1 -all"}, {"v=DMARC2; p=reject"}, {"hello"}});
  dns.txt_answers["_dmarc.example.com"] = Txt({{"something else"}, {"v=DMARC1; p=quarantine"}});
  const Discovery d = Discover(dns, "mail.example.com");
  EXPECT_EQ(d.status, Status::kFound);
  EXPECT_EQ(d.policy_domain, "example.com");
  EXPECT_EQ(d.record.p, Policy::kQuarantine);
}

TEST(DmarcDiscover, NoDataIsLikeNxDomain) {
  FakeTxtDns dns;
  dns.txt_answers["_dmarc.mail.example.com"] = Failed(DnsStatus::kNoData);
  dns.txt_answers["_dmarc.example.com"] = Txt({{"v=DMARC1; p=none"}});
  EXPECT_EQ(Discover(dns, "mail.example.com").status, Status::kFound);
}

TEST(DmarcDiscover, NoRecordAnywhere) {
  FakeTxtDns dns;
  const Discovery d = Discover(dns, "mail.example.com");
  EXPECT_EQ(d.status, Status::kNone);
  EXPECT_NE(d.error.find("_dmarc.example.com"), std::string::npos) << d.error;
  EXPECT_EQ(dns.queries.size(), 2u);
}

TEST(DmarcDiscover, OrganizationalDomainIsNotAskedTwice) {
  FakeTxtDns dns;
  EXPECT_EQ(Discover(dns, "example.com").status, Status::kNone);
  EXPECT_EQ(dns.queries, (std::vector<std::string>{"_dmarc.example.com"}));
}

TEST(DmarcDiscover, MoreThanOneRecordIsNone) {
  // Step 5, and no fallback: the set at the From domain was not empty.
  FakeTxtDns dns;
  dns.txt_answers["_dmarc.mail.example.com"] = Txt({{"v=DMARC1; p=none"}, {"v=DMARC1; p=reject"}});
  dns.txt_answers["_dmarc.example.com"] = Txt({{"v=DMARC1; p=reject"}});
  const Discovery d = Discover(dns, "mail.example.com");
  EXPECT_EQ(d.status, Status::kNone);
  EXPECT_NE(d.error.find("2 DMARC records"), std::string::npos) << d.error;
  EXPECT_TRUE(d.policy_domain.empty());
  EXPECT_EQ(dns.queries.size(), 1u);

  FakeTxtDns org;
  org.txt_answers["_dmarc.example.com"] = Txt({{"v=DMARC1; p=none"}, {"v=DMARC1; p=none"}});
  EXPECT_EQ(Discover(org, "mail.example.com").status, Status::kNone);
}

TEST(DmarcDiscover, TemporaryFailures) {
  FakeTxtDns dns;
  dns.txt_answers["_dmarc.mail.example.com"] = Failed(DnsStatus::kTempFail, "SERVFAIL");
  dns.txt_answers["_dmarc.example.com"] = Txt({{"v=DMARC1; p=reject"}});
  Discovery d = Discover(dns, "mail.example.com");
  EXPECT_EQ(d.status, Status::kTempError);
  EXPECT_EQ(d.error, "SERVFAIL looking up TXT of _dmarc.mail.example.com");
  EXPECT_EQ(dns.queries.size(), 1u);  // no guessing from the parent

  FakeTxtDns org;
  org.txt_answers["_dmarc.example.com"] = Failed(DnsStatus::kTempFail, "timed out after 10s");
  d = Discover(org, "mail.example.com");
  EXPECT_EQ(d.status, Status::kTempError);
  EXPECT_NE(d.error.find("timed out"), std::string::npos);
}

TEST(DmarcDiscover, UnusableRecordIsPermErrorWithoutFallback) {
  FakeTxtDns dns;
  dns.txt_answers["_dmarc.mail.example.com"] = Txt({{"v=DMARC1; p=maybe"}});
  dns.txt_answers["_dmarc.example.com"] = Txt({{"v=DMARC1; p=reject"}});
  const Discovery d = Discover(dns, "mail.example.com");
  EXPECT_EQ(d.status, Status::kPermError);
  EXPECT_EQ(d.policy_domain, "mail.example.com");
  EXPECT_NE(d.error.find("p=maybe"), std::string::npos) << d.error;
  EXPECT_EQ(dns.queries.size(), 1u);
}

TEST(DmarcDiscover, InvalidPWithRuaIsFoundAsNone) {
  FakeTxtDns dns;
  dns.txt_answers["_dmarc.example.com"] = Txt({{"v=DMARC1; rua=mailto:d@example.com"}});
  const Discovery d = Discover(dns, "example.com");
  ASSERT_EQ(d.status, Status::kFound);
  EXPECT_EQ(d.record.p, Policy::kNone);
  EXPECT_TRUE(d.record.p_defaulted);
}

TEST(DmarcDiscover, EmptyFromDomain) {
  FakeTxtDns dns;
  const Discovery d = Discover(dns, "");
  EXPECT_EQ(d.status, Status::kNone);
  EXPECT_TRUE(dns.queries.empty());
}

TEST(DmarcDiscover, PublicSuffixFromDomain) {
  // "co.uk" is its own organizational domain: one query.
  FakeTxtDns dns;
  EXPECT_EQ(Discover(dns, "co.uk").status, Status::kNone);
  EXPECT_EQ(dns.queries, (std::vector<std::string>{"_dmarc.co.uk"}));
}

TEST(DmarcDiscover, StatusNames) {
  EXPECT_STREQ(discovery_status_name(Status::kFound), "found");
  EXPECT_STREQ(discovery_status_name(Status::kNone), "none");
  EXPECT_STREQ(discovery_status_name(Status::kTempError), "temperror");
  EXPECT_STREQ(discovery_status_name(Status::kPermError), "permerror");
}

}  // namespace
}  // namespace tern::dmarc
