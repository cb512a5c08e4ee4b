// The published examples (copied from /work/shared/refs/suites/dkim/):
// RFC 8463 Appendix A (the RFC 6376 Appendix A message signed with
// ed25519-sha256 and rsa-sha256, relaxed/relaxed, keys in A.2 and A.3) and
// dkimpy's simple/simple signatures of the same message with the same keys
// (rfc6376.signed.msg). Both signatures of each must verify with the
// published keys, and our signing primitive must reproduce their b= values
// octet for octet (PKCS#1 v1.5 and Ed25519 are deterministic), which pins
// header selection, canonicalisation, b= removal and the RFC 8463 hashing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base64.h"
#include "dkim/message.h"
#include "dkim/signature.h"
#include "dkim/verifier.h"
#include "rfc8463_example.h"

namespace tern::dkim {
namespace {

using testlib::kEdRecord;
using testlib::kRfc8463Message;
using testlib::kRsaRecord;

// Note the SP before each CRLF in the signature fields: simple header
// canonicalisation hashes them.
const char kDkimpySimpleMessage[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; \r\n"
    " d=football.example.com; i=@football.example.com; \r\n"
    " q=dns/txt; s=brisbane; t=1518460054; h=from : to : \r\n"
    " subject : date : message-id : from : subject : date; \r\n"
    " bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \r\n"
    " b=9/dsDChY0YMTtD5Eyw3wx7x22BlSJP7M5ECbJ7GWrR45nXlTCGb8l0YB\r\n"
    " o0wBLR++X5LqmsxXaOYLLJe46l10AQ==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; \r\n"
    " d=football.example.com; i=@football.example.com; \r\n"
    " q=dns/txt; s=test; t=1527915362; h=from : to : subject : \r\n"
    " date : message-id : from : subject : date; \r\n"
    " bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \r\n"
    " b=icKcLSEZYXJ95flvWE8FT6hl5iqd8MC/LEKYH0QjsqYy6MO/4pgVNCZH\r\n"
    " l/RAXAuADxE/40Fg7uTlxwwD1hjN2Ple6J//cJfslBdDOq6zTVbne1dqtl\r\n"
    " NOat7iamJ1AfRqyG+ja7a2AZsrpUuJ7VA6O+0zRYPqpwMEkEFIzI9i/Xk=\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n"
    "\r\n";

// RFC 8463 A.2 (the published key records) and A.1 (the private keys).
const char kEdSeed[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const char kRsaPem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";

constexpr int64_t kNow = 1528637909 + 3600;

KeyAnswer PublishedKeys(const std::string& query) {
  if (query == "brisbane._domainkey.football.example.com") return KeyAnswer::found({kEdRecord});
  if (query == "test._domainkey.football.example.com") return KeyAnswer::found({kRsaRecord});
  return KeyAnswer::not_found();
}

void ExpectBothPass(const std::vector<SignatureResult>& results, const std::string& what) {
  ASSERT_EQ(results.size(), 2u) << what;
  EXPECT_EQ(results[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(results[1].algorithm, "rsa-sha256");
  for (const SignatureResult& r : results) {
    EXPECT_EQ(r.result, Result::kPass) << what << " " << r.selector << ": " << r.reason;
    EXPECT_EQ(r.domain, "football.example.com");
    EXPECT_EQ(r.identity, "@football.example.com");
  }
  EXPECT_EQ(results[0].selector, "brisbane");
  EXPECT_EQ(results[0].key_bits, 256);
  EXPECT_EQ(results[1].selector, "test");
  EXPECT_EQ(results[1].key_bits, 1024);
}

TEST(DkimRfcExamples, Rfc8463SignaturesVerify) {
  ExpectBothPass(verify(kRfc8463Message, PublishedKeys, {.now = kNow}), "RFC 8463");
}

TEST(DkimRfcExamples, DkimpySimpleSignaturesVerify) {
  ExpectBothPass(verify(kDkimpySimpleMessage, PublishedKeys, {.now = kNow}), "dkimpy");
}

TEST(DkimRfcExamples, VerifiesWhateverTheChunking) {
  const std::string msg = kRfc8463Message;
  for (size_t cut = 0; cut <= msg.size(); cut += 7) {
    Verifier v({.now = kNow});
    v.write(std::string_view(msg).substr(0, cut));
    v.write(std::string_view(msg).substr(cut));
    v.finish();
    for (const std::string& q : v.key_queries()) v.add_key(q, PublishedKeys(q));
    ExpectBothPass(v.results(), "cut " + std::to_string(cut));
  }
}

TEST(DkimRfcExamples, ChangesAreCaught) {
  std::string body_changed = kRfc8463Message;
  body_changed.replace(body_changed.find("hungry"), 6, "thirsty");
  for (const SignatureResult& r : verify(body_changed, PublishedKeys, {.now = kNow})) {
    EXPECT_EQ(r.result, Result::kFail);
    EXPECT_EQ(r.failure, Failure::kBodyHash);
  }
  std::string subject_changed = kRfc8463Message;
  subject_changed.replace(subject_changed.find("dinner"), 6, "lunch!");
  for (const SignatureResult& r : verify(subject_changed, PublishedKeys, {.now = kNow})) {
    EXPECT_EQ(r.result, Result::kFail);
    EXPECT_EQ(r.failure, Failure::kSignature);
  }
  // The simple/simple signatures also catch a change in folding whitespace.
  std::string refolded = kDkimpySimpleMessage;
  refolded.replace(refolded.find("Subject: Is"), 11, "Subject:  Is");
  for (const SignatureResult& r : verify(refolded, PublishedKeys, {.now = kNow})) {
    EXPECT_EQ(r.result, Result::kFail) << r.selector;
  }
  // ... which relaxed/relaxed forgives.
  std::string relaxed_refolded = kRfc8463Message;
  relaxed_refolded.replace(relaxed_refolded.find("Subject: Is"), 11, "subject:\r\n  Is");
  ExpectBothPass(verify(relaxed_refolded, PublishedKeys, {.now = kNow}), "refolded");
}

std::vector<HeaderField> HeaderOf(std::string_view message) {
  MessageSplitter s(1 << 20);
  s.write(message);
  s.finish();
  return s.fields();
}

// Recomputes each example signature with our header hash input and key.
void ExpectSameSignatures(std::string_view message) {
  PrivateKey ed, rsa;
  ASSERT_TRUE(PrivateKey::from_ed25519_seed(base64_decode(kEdSeed).value(), &ed).ok());
  ASSERT_TRUE(PrivateKey::from_pem(kRsaPem, &rsa).ok());
  const std::vector<HeaderField> fields = HeaderOf(message);
  for (size_t i = 0; i < 2; ++i) {
    TagList tags;
    ASSERT_TRUE(parse_tag_list(field_value(fields[i]), &tags).ok());
    Signature sig;
    ASSERT_TRUE(parse_signature(tags, &sig).ok());
    std::string ours;
    const PrivateKey& key = sig.algorithm == Algorithm::kEd25519Sha256 ? ed : rsa;
    ASSERT_TRUE(key.sign(header_hash_input(fields, i, sig), &ours).ok());
    EXPECT_EQ(base64_encode(ours), sig.b_text) << sig.selector;
  }
}

TEST(DkimRfcExamples, OurSigningReproducesTheRfc8463Signatures) {
  ExpectSameSignatures(kRfc8463Message);
}

TEST(DkimRfcExamples, OurSigningReproducesDkimpysSimpleSignatures) {
  ExpectSameSignatures(kDkimpySimpleMessage);
}

TEST(DkimRfcExamples, HeaderHashInputOfTheRfc8463Example) {
  // What relaxed canonicalisation makes of the selected fields: bottom-up
  // selection, the second from/subject/date selecting nothing, and the
  // signature itself last with b= emptied and no CRLF.
  const std::vector<HeaderField> fields = HeaderOf(kRfc8463Message);
  TagList tags;
  ASSERT_TRUE(parse_tag_list(field_value(fields[0]), &tags).ok());
  Signature sig;
  ASSERT_TRUE(parse_signature(tags, &sig).ok());
  EXPECT_EQ(header_hash_input(fields, 0, sig),
            "from:Joe SixPack <joe@football.example.com>\r\n"
            "to:Suzie Q <suzie@shopping.example.net>\r\n"
            "subject:Is dinner ready?\r\n"
            "date:Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
            "message-id:<20030712040037.46341.5F8J@football.example.com>\r\n"
            "dkim-signature:v=1; a=ed25519-sha256; c=relaxed/relaxed; d=football.example.com; "
            "i=@football.example.com; q=dns/txt; s=brisbane; t=1528637909; h=from : to : subject "
            ": date : message-id : from : subject : date; "
            "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=");
}

}  // namespace
}  // namespace tern::dkim
