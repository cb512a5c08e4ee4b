// Verification (RFC 6376 6): every result and the reasons for it, key
// lookups, l= and the limits.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/base64.h"
#include "dkim/signer.h"
#include "dkim/verifier.h"

namespace tern::dkim {
namespace {

constexpr int64_t kNow = 1767268800;

const char kMessage[] =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.org\r\n"
    "Subject: Hello\r\n"
    "\r\n"
    "Hello Bob.\r\n";

const PrivateKey& Ed() {
  static const PrivateKey key = [] {
    PrivateKey k;
    EXPECT_TRUE(PrivateKey::generate(KeyType::kEd25519, 0, &k).ok());
    return k;
  }();
  return key;
}

const PrivateKey& Rsa() {
  static const PrivateKey key = [] {
    PrivateKey k;
    EXPECT_TRUE(PrivateKey::generate(KeyType::kRsa, 2048, &k).ok());
    return k;
  }();
  return key;
}

SignOptions Opts(std::string selector = "sel") {
  SignOptions o;
  o.domain = "example.com";
  o.selector = std::move(selector);
  o.timestamp = kNow;
  return o;
}

// `message` with a signature field made by `key` on top.
std::string Signed(const PrivateKey& key, const SignOptions& o,
                   std::string_view message = kMessage) {
  Signer s(key, o);
  s.write(message);
  std::string field;
  EXPECT_TRUE(s.finish(&field).ok());
  return field + std::string(message);
}

// Key records by query name; a missing name is "not found". Counts lookups.
struct Dns {
  std::map<std::string, KeyAnswer> answers;
  int lookups = 0;

  KeyAnswer operator()(const std::string& q) {
    ++lookups;
    const auto it = answers.find(q);
    return it == answers.end() ? KeyAnswer::not_found("NXDOMAIN") : it->second;
  }
  void publish(const std::string& selector, const std::string& record) {
    answers["" + selector + "._domainkey.example.com"] = KeyAnswer::found({record});
  }
};

std::vector<SignatureResult> VerifyAll(const std::string& msg, Dns& dns,
                                       VerifyOptions o = {.now = kNow}) {
  return verify(
      msg, [&dns](const std::string& q) { return dns(q); }, o);
}

SignatureResult One(const std::string& msg, Dns& dns, VerifyOptions o = {.now = kNow}) {
  const auto results = VerifyAll(msg, dns, o);
  EXPECT_EQ(results.size(), 1u);
  return results.empty() ? SignatureResult{} : results[0];
}

// A hand-written field; the message needs no valid crypto for syntax cases.
std::string Field(const std::string& tags) { return "DKIM-Signature: " + tags + "\r\n" + kMessage; }

const std::string kBh = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

TEST(DkimVerifier, ResultNames) {
  EXPECT_STREQ(result_name(Result::kPass), "pass");
  EXPECT_STREQ(result_name(Result::kFail), "fail");
  EXPECT_STREQ(result_name(Result::kNeutral), "neutral");
  EXPECT_STREQ(result_name(Result::kPolicy), "policy");
  EXPECT_STREQ(result_name(Result::kTempError), "temperror");
  EXPECT_STREQ(result_name(Result::kPermError), "permerror");
}

TEST(DkimVerifier, UnsignedMessageHasNoResults) {
  Dns dns;
  EXPECT_TRUE(VerifyAll(kMessage, dns).empty());
  EXPECT_EQ(dns.lookups, 0);
}

TEST(DkimVerifier, Pass) {
  Dns dns;
  dns.publish("sel", key_record_text(Ed()));
  const SignatureResult r = One(Signed(Ed(), Opts()), dns);
  EXPECT_EQ(r.result, Result::kPass) << r.reason;
  EXPECT_EQ(r.failure, Failure::kNone);
  EXPECT_EQ(r.domain, "example.com");
  EXPECT_EQ(r.selector, "sel");
  EXPECT_EQ(r.algorithm, "ed25519-sha256");
  EXPECT_EQ(r.identity, "@example.com");
  EXPECT_EQ(r.b.size(), 88u);
  EXPECT_FALSE(r.testing);
  EXPECT_EQ(r.key_bits, 256);
  EXPECT_EQ(dns.lookups, 1);
}

TEST(DkimVerifier, SyntaxErrorsAreNeutral) {
  Dns dns;
  SignatureResult r = One(Field("v=1; a=rsa-sha256; d=example.com; s=sel; h=from; b=AAAA"), dns);
  EXPECT_EQ(r.result, Result::kNeutral);
  EXPECT_EQ(r.reason, "missing required tag bh=");
  EXPECT_EQ(r.domain, "example.com");
  EXPECT_EQ(r.selector, "sel");

  r = One(Field("v=1; a=rsa-sha256; d=example.com; d=example.org"), dns);
  EXPECT_EQ(r.result, Result::kNeutral);
  EXPECT_EQ(r.reason, "tag \"d\" appears twice");

  r = One(Field("v=1; a=rsa-sha256; d=example.com; s=sel; h=to; bh=" + kBh + "; b=AAAA"), dns);
  EXPECT_EQ(r.result, Result::kNeutral);
  EXPECT_EQ(r.reason, "From is not signed (h= lacks from)");
  EXPECT_EQ(dns.lookups, 0);
}

TEST(DkimVerifier, Sha1IsPolicy) {
  Dns dns;
  const SignatureResult r =
      One(Field("v=1; a=rsa-sha1; d=example.com; s=sel; h=from; bh=" + kBh + "; b=AAAA"), dns);
  EXPECT_EQ(r.result, Result::kPolicy);
  EXPECT_NE(r.reason.find("RFC 8301"), std::string::npos);
  EXPECT_EQ(dns.lookups, 0);
}

TEST(DkimVerifier, Expiry) {
  Dns dns;
  dns.publish("sel", key_record_text(Ed()));
  SignOptions o = Opts();
  o.timestamp = kNow - 1000;
  o.expiration = kNow - 100;
  const std::string msg = Signed(Ed(), o);
  // Within the clock skew allowance (300 s by default): still fine.
  EXPECT_EQ(One(msg, dns).result, Result::kPass);
  const SignatureResult r = One(msg, dns, {.now = kNow + 1000});
  EXPECT_EQ(r.result, Result::kPolicy);
  EXPECT_EQ(r.reason, "signature expired (x=1767268700)");
  EXPECT_EQ(One(msg, dns, {.now = kNow, .clock_skew = 0}).result, Result::kPolicy);
}

TEST(DkimVerifier, HugeExpiryNeverExpires) {
  // x= beyond int64 saturates; adding the skew to it must not overflow.
  const std::string field =
      "DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=sel; h=from; x=" +
      std::string(30, '9') + "; bh=" + kBh + "; b=AAAA\r\n";
  Dns dns;
  dns.publish("sel", key_record_text(Ed()));
  const SignatureResult r = One(field + kMessage, dns);
  // Not expired: it got as far as the body hash (which is that of "").
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.reason, "body hash did not verify");
}

TEST(DkimVerifier, KeyLookupOutcomes) {
  const std::string msg = Signed(Ed(), Opts());
  Dns dns;
  SignatureResult r = One(msg, dns);
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_EQ(r.reason, "no key for signature at sel._domainkey.example.com");

  dns.answers["sel._domainkey.example.com"] = KeyAnswer::temp_fail("SERVFAIL");
  r = One(msg, dns);
  EXPECT_EQ(r.result, Result::kTempError);
  EXPECT_EQ(r.reason, "key lookup sel._domainkey.example.com: SERVFAIL");

  dns.answers["sel._domainkey.example.com"] = KeyAnswer::found({});
  EXPECT_EQ(One(msg, dns).result, Result::kPermError);
}

TEST(DkimVerifier, KeyNeverGivenIsTempError) {
  Verifier v({.now = kNow});
  v.write(Signed(Ed(), Opts()));
  v.finish();
  EXPECT_EQ(v.key_queries(), (std::vector<std::string>{"sel._domainkey.example.com"}));
  const auto results = v.results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kTempError);
  EXPECT_EQ(results[0].reason, "key not looked up");
}

TEST(DkimVerifier, UnusableKeysArePermErrors) {
  const std::string ed_msg = Signed(Ed(), Opts());
  const std::string ed_p = base64_encode(Ed().public_key_data());
  struct Case {
    std::string record;
    std::string reason;
  } cases[] = {
      {"v=DKIM1; k=ed25519; p=", "key revoked (empty p=)"},
      {key_record_text(Rsa()), "key type k=rsa does not match a=ed25519-sha256"},
      {"v=DKIM1; k=ed25519; h=sha1; p=" + ed_p, "key record does not allow sha256 (h=)"},
      {"v=DKIM1; k=ed25519; s=web; p=" + ed_p, "key record: not for email (s=web)"},
      {"v=DKIM1; k=ed25519; p=AAAA", "bad public key: an Ed25519 public key has 32 octets, not 3"},
      {"v=spf1 -all", "key record: unknown version v=spf1 -all"},
      {"v=DKIM1; k=ed25519; p=" + ed_p + "; p=x", "key record: tag \"p\" appears twice"},
  };
  for (const Case& c : cases) {
    Dns dns;
    dns.publish("sel", c.record);
    const SignatureResult r = One(ed_msg, dns);
    EXPECT_EQ(r.result, Result::kPermError) << c.record;
    EXPECT_EQ(r.reason, c.reason) << c.record;
  }
}

TEST(DkimVerifier, BadRsaKeyData) {
  Dns dns;
  // dkimpy's test_bad.txt style: valid base64, not a key.
  dns.publish("sel", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ==");
  const SignatureResult r = One(Signed(Rsa(), Opts()), dns);
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_EQ(r.reason.rfind("bad public key: ", 0), 0u) << r.reason;
}

TEST(DkimVerifier, FirstUsableRecordWins) {
  Dns dns;
  dns.answers["sel._domainkey.example.com"] =
      KeyAnswer::found({"v=spf1 -all", key_record_text(Ed())});
  EXPECT_EQ(One(Signed(Ed(), Opts()), dns).result, Result::kPass);
}

TEST(DkimVerifier, KeyFlags) {
  Dns dns;
  const std::string p = base64_encode(Ed().public_key_data());
  dns.publish("sel", "v=DKIM1; k=ed25519; t=y; p=" + p);
  const SignatureResult testing = One(Signed(Ed(), Opts()), dns);
  EXPECT_EQ(testing.result, Result::kPass);
  EXPECT_TRUE(testing.testing);

  // t=s: i= must not be a subdomain of d= (RFC 6376 3.6.1).
  dns.publish("sel", "v=DKIM1; k=ed25519; t=s; p=" + p);
  SignOptions o = Opts();
  o.identity = "alice@example.com";
  EXPECT_EQ(One(Signed(Ed(), o), dns).result, Result::kPass);
  o.identity = "alice@mail.example.com";
  const SignatureResult strict = One(Signed(Ed(), o), dns);
  EXPECT_EQ(strict.result, Result::kPermError);
  EXPECT_EQ(strict.reason, "key has t=s but i= is a subdomain of d=");
}

TEST(DkimVerifier, ShortRsaKeyIsPolicy) {
  Dns dns;
  dns.publish("sel", key_record_text(Rsa()));
  const SignatureResult r = One(Signed(Rsa(), Opts()), dns, {.now = kNow, .min_rsa_bits = 4096});
  EXPECT_EQ(r.result, Result::kPolicy);
  EXPECT_EQ(r.reason, "RSA key of 2048 bits is too short (RFC 8301)");
  EXPECT_EQ(r.key_bits, 2048);
}

// RFC 6376 6.1.2 comes before 6.1.3: without a usable key a signature is
// permerror (temperror if the lookup failed for now), whatever its body;
// fail, for a body that does not match, needs a key that checks out.
TEST(DkimVerifier, KeyIsJudgedBeforeTheBodyHash) {
  std::string msg = Signed(Ed(), Opts());
  msg.replace(msg.find("Hello Bob"), 5, "Hallo");
  Verifier v({.now = kNow});
  v.write(msg);
  v.finish();
  // The key is still wanted although the body hash did not match.
  EXPECT_EQ(v.key_queries(), (std::vector<std::string>{"sel._domainkey.example.com"}));

  Dns dns;  // no record at all
  SignatureResult r = One(msg, dns);
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_EQ(r.reason, "no key for signature at sel._domainkey.example.com");
  EXPECT_EQ(r.failure, Failure::kNone);

  dns.publish("sel", "v=DKIM1; k=ed25519; p=AAAA");  // broken key
  r = One(msg, dns);
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_EQ(r.reason, "bad public key: an Ed25519 public key has 32 octets, not 3");

  dns.publish("sel", "v=DKIM1; k=ed25519; p=");  // revoked
  EXPECT_EQ(One(msg, dns).result, Result::kPermError);

  dns.answers["sel._domainkey.example.com"] = KeyAnswer::temp_fail("SERVFAIL");
  r = One(msg, dns);
  EXPECT_EQ(r.result, Result::kTempError);
  EXPECT_EQ(r.reason, "key lookup sel._domainkey.example.com: SERVFAIL");

  dns.publish("sel", key_record_text(Ed()));  // a usable key: now it is a fail
  r = One(msg, dns);
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.failure, Failure::kBodyHash);
  EXPECT_EQ(r.reason, "body hash did not verify");
  EXPECT_EQ(r.key_bits, 256);
}

TEST(DkimVerifier, KeysCanBeFetchedWhileTheBodyStreams) {
  const std::string msg = Signed(Ed(), Opts());
  const size_t body = msg.find("\r\n\r\n") + 4;
  Verifier v({.now = kNow});
  v.write(msg.substr(0, body - 3));
  EXPECT_FALSE(v.headers_done());
  EXPECT_TRUE(v.key_queries().empty());
  v.write(msg.substr(body - 3, 5));
  ASSERT_TRUE(v.headers_done());
  ASSERT_EQ(v.key_queries(), (std::vector<std::string>{"sel._domainkey.example.com"}));
  v.add_key("SEL._domainkey.Example.com", KeyAnswer::found({key_record_text(Ed())}));
  EXPECT_TRUE(v.key_queries().empty());
  v.write(msg.substr(body + 2));
  v.finish();
  EXPECT_TRUE(v.key_queries().empty());
  EXPECT_EQ(v.results()[0].result, Result::kPass) << v.results()[0].reason;
}

TEST(DkimVerifier, BodyLengthWithAppendedContentIsPolicy) {
  Dns dns;
  dns.publish("sel", key_record_text(Ed()));
  SignOptions o = Opts();
  o.body_length = true;
  const std::string msg = Signed(Ed(), o);
  SignatureResult r = One(msg, dns);
  EXPECT_EQ(r.result, Result::kPass) << r.reason;
  EXPECT_EQ(r.body_length, 12u);
  EXPECT_EQ(r.unsigned_octets, 0u);

  const std::string appended = msg + "Click here: http://evil.example/\r\n";
  r = One(appended, dns);
  EXPECT_EQ(r.result, Result::kPolicy);
  EXPECT_EQ(r.unsigned_octets, 34u);
  EXPECT_EQ(r.reason, "34 body octets beyond l= are not signed");
  r = One(appended, dns, {.now = kNow, .accept_partial_body = true});
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_EQ(r.unsigned_octets, 34u);

  std::string shortened = msg;
  shortened.replace(shortened.find("Hello Bob."), 10, "Hi");
  r = One(shortened, dns);
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.failure, Failure::kBodyHash);
  EXPECT_EQ(r.reason, "l=12 is larger than the body (4 octets)");
}

TEST(DkimVerifier, EverySignatureInOrderAndQueriesOnce) {
  Dns dns;
  dns.publish("ed", key_record_text(Ed()));
  dns.publish("rsa", key_record_text(Rsa()));
  // Each new field goes on top: ed (second), rsa, ed (first).
  std::string msg = Signed(Ed(), Opts("ed"));
  msg = Signed(Rsa(), Opts("rsa"), msg);
  msg = Signed(Ed(), Opts("ed"), msg);
  const auto results = VerifyAll(msg, dns);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].selector, "ed");
  EXPECT_EQ(results[1].selector, "rsa");
  EXPECT_EQ(results[2].selector, "ed");
  for (const auto& r : results) EXPECT_EQ(r.result, Result::kPass) << r.reason;
  EXPECT_EQ(dns.lookups, 2);
}

TEST(DkimVerifier, SignatureOverAnotherSignature) {
  Dns dns;
  dns.publish("inner", key_record_text(Ed()));
  dns.publish("outer", key_record_text(Ed()));
  SignOptions outer = Opts("outer");
  outer.headers = {"from", "dkim-signature"};
  std::string msg = Signed(Ed(), outer, Signed(Ed(), Opts("inner")));
  for (const auto& r : VerifyAll(msg, dns)) EXPECT_EQ(r.result, Result::kPass) << r.selector;
  // Damage the inner signature's b=: both fail, the outer one because it
  // signed the inner field.
  const size_t inner_b = msg.find(" b=", msg.find("s=inner")) + 3;
  msg[inner_b] = msg[inner_b] == 'A' ? 'B' : 'A';
  const auto results = VerifyAll(msg, dns);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].selector, "outer");
  EXPECT_EQ(results[0].result, Result::kFail);
  EXPECT_EQ(results[1].result, Result::kFail);
}

TEST(DkimVerifier, MaxSignatures) {
  Dns dns;
  dns.publish("sel", key_record_text(Ed()));
  std::string msg = kMessage;
  for (int i = 0; i < 3; ++i) msg = Signed(Ed(), Opts(), msg);
  const auto results = VerifyAll(msg, dns, {.now = kNow, .max_signatures = 2});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].result, Result::kPass);
  EXPECT_EQ(results[1].result, Result::kPass);
  EXPECT_EQ(results[2].result, Result::kPolicy);
  EXPECT_EQ(results[2].reason, "not checked: more than 2 signatures");
}

TEST(DkimVerifier, HeaderOverflow) {
  Dns dns;
  const auto results = VerifyAll(Signed(Ed(), Opts()), dns, {.now = kNow, .max_header = 100});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPermError);
  EXPECT_EQ(results[0].reason, "header section longer than 100 octets");
  EXPECT_EQ(dns.lookups, 0);
}

TEST(DkimVerifier, MessageWithoutBody) {
  Dns dns;
  dns.publish("sel", key_record_text(Ed()));
  const std::string headers_only = "From: a@example.com\r\nSubject: x\r\n";
  EXPECT_EQ(One(Signed(Ed(), Opts(), headers_only), dns).result, Result::kPass);
}

}  // namespace
}  // namespace tern::dkim
