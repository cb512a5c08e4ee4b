// Key records through a (fake) DnsLookup.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dkim/dns_keys.h"
#include "dkim/signer.h"
#include "fake_dns.h"

namespace tern::dkim {
namespace {

using testlib::Failed;
using testlib::FakeTxtDns;
using testlib::RunSync;
using testlib::Txt;

asio::awaitable<int> Fetch(Verifier& v, DnsLookup& dns) {
  co_await fetch_keys(v, dns);
  co_return 0;
}

TEST(DkimDnsKeys, AnswersFromTxtResults) {
  const KeyAnswer found = key_answer(Txt({{"v=DKIM1; ", "k=ed25519; ", "p=abc"}, {"other"}}));
  EXPECT_EQ(found.status, KeyAnswer::Status::kFound);
  // RFC 6376 3.6.2.2: a record's strings are joined with nothing between.
  EXPECT_EQ(found.records, (std::vector<std::string>{"v=DKIM1; k=ed25519; p=abc", "other"}));
  EXPECT_EQ(key_answer(Failed(DnsStatus::kNxDomain, "NXDOMAIN")).status,
            KeyAnswer::Status::kNotFound);
  EXPECT_EQ(key_answer(Failed(DnsStatus::kNoData, "")).status, KeyAnswer::Status::kNotFound);
  const KeyAnswer temp = key_answer(Failed(DnsStatus::kTempFail, "timed out after 5s"));
  EXPECT_EQ(temp.status, KeyAnswer::Status::kTempFail);
  EXPECT_EQ(temp.error, "timed out after 5s");
}

TEST(DkimDnsKeys, VerifiesWithKeysFromDns) {
  PrivateKey rsa, ed;
  ASSERT_TRUE(PrivateKey::generate(KeyType::kRsa, 2048, &rsa).ok());
  ASSERT_TRUE(PrivateKey::generate(KeyType::kEd25519, 0, &ed).ok());
  std::string msg = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
  const std::vector<std::pair<const PrivateKey*, std::string>> signers = {
      {&rsa, "r"}, {&ed, "e"}, {&ed, "gone"}, {&ed, "broken"}};
  for (const auto& [key, selector] : signers) {
    SignOptions o;
    o.domain = "example.com";
    o.selector = selector;
    Signer s(*key, o);
    s.write(msg);
    std::string field;
    ASSERT_TRUE(s.finish(&field).ok());
    msg = field + msg;
  }
  FakeTxtDns dns;
  // The RSA record split into 255-octet strings, as published.
  TxtRecord rsa_record;
  for (const std::string& s : split_txt_strings(key_record_text(rsa))) rsa_record.push_back(s);
  ASSERT_GT(rsa_record.size(), 1u);
  dns.txt_answers["r._domainkey.example.com"] = Txt({rsa_record});
  dns.txt_answers["e._domainkey.example.com"] = Txt({{key_record_text(ed)}});
  dns.txt_answers["broken._domainkey.example.com"] = Failed(DnsStatus::kTempFail, "SERVFAIL");

  const std::vector<SignatureResult> results = RunSync(verify_with_dns(msg, dns, {}));
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].selector, "broken");
  EXPECT_EQ(results[0].result, Result::kTempError);
  EXPECT_EQ(results[1].selector, "gone");
  EXPECT_EQ(results[1].result, Result::kPermError);
  EXPECT_EQ(results[2].result, Result::kPass) << results[2].reason;
  EXPECT_EQ(results[3].result, Result::kPass) << results[3].reason;
  EXPECT_EQ(dns.queries.size(), 4u);
}

TEST(DkimDnsKeys, FetchKeysAsksEachNameOnce) {
  PrivateKey ed;
  ASSERT_TRUE(PrivateKey::generate(KeyType::kEd25519, 0, &ed).ok());
  std::string msg = "From: a@example.com\r\n\r\nbody\r\n";
  for (int i = 0; i < 2; ++i) {
    SignOptions o;
    o.domain = "example.com";
    o.selector = "same";
    Signer s(ed, o);
    s.write(msg);
    std::string field;
    ASSERT_TRUE(s.finish(&field).ok());
    msg = field + msg;
  }
  FakeTxtDns dns;
  dns.txt_answers["same._domainkey.example.com"] = Txt({{key_record_text(ed)}});
  Verifier v;
  const size_t body = msg.find("\r\n\r\n") + 4;
  v.write(msg.substr(0, body));
  // While the body streams (here: before it), then again after: no repeat.
  RunSync(Fetch(v, dns));
  v.write(msg.substr(body));
  v.finish();
  RunSync(Fetch(v, dns));
  EXPECT_EQ(dns.queries, (std::vector<std::string>{"same._domainkey.example.com"}));
  for (const auto& r : v.results()) EXPECT_EQ(r.result, Result::kPass) << r.reason;
}

}  // namespace
}  // namespace tern::dkim
