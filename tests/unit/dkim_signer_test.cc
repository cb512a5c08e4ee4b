// Signing (RFC 6376 5, RFC 8463), checked with our verifier; the checks
// against dkimpy and OpenDKIM are in tests/integration/test_dkim.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dkim/signer.h"
#include "dkim/tag_list.h"
#include "dkim/verifier.h"

namespace tern::dkim {
namespace {

const char kMessage[] =
    "Received: from client.example.org by mx.example.com\r\n"
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.org>\r\n"
    "To: Carol <carol@example.org>\r\n"
    "Subject: Lunch\r\n"
    "Date: Thu, 01 Jan 2026 12:00:00 +0000\r\n"
    "Message-ID: <1@example.com>\r\n"
    "X-Mailer: test\r\n"
    "\r\n"
    "Shall we?  \r\n"
    "\r\n"
    "-- \r\n"
    "Alice\r\n"
    "\r\n";

const PrivateKey& RsaKey() {
  static const PrivateKey key = [] {
    PrivateKey k;
    EXPECT_TRUE(PrivateKey::generate(KeyType::kRsa, 2048, &k).ok());
    return k;
  }();
  return key;
}

const PrivateKey& EdKey() {
  static const PrivateKey key = [] {
    PrivateKey k;
    EXPECT_TRUE(PrivateKey::generate(KeyType::kEd25519, 0, &k).ok());
    return k;
  }();
  return key;
}

SignOptions Options() {
  SignOptions o;
  o.domain = "example.com";
  o.selector = "sel";
  o.timestamp = 1767268800;
  return o;
}

std::string Sign(const PrivateKey& key, const SignOptions& o, std::string_view msg = kMessage) {
  Signer signer(key, o);
  signer.write(msg);
  std::string field;
  const Status s = signer.finish(&field);
  EXPECT_TRUE(s.ok()) << s.message();
  return field;
}

std::string SignError(const SignOptions& o, std::string_view msg = kMessage) {
  Signer signer(RsaKey(), o);
  signer.write(msg);
  std::string field;
  const Status s = signer.finish(&field);
  EXPECT_FALSE(s.ok());
  return s.message();
}

// Verifies with `key` published at sel._domainkey.example.com.
std::vector<SignatureResult> Check(const std::string& signed_message, const PrivateKey& key,
                                   VerifyOptions options = {.now = 1767268800}) {
  return verify(
      signed_message,
      [&](const std::string& q) {
        EXPECT_EQ(q, "sel._domainkey.example.com");
        return KeyAnswer::found({key_record_text(key)});
      },
      options);
}

Result CheckOne(const std::string& signed_message, const PrivateKey& key) {
  const auto results = Check(signed_message, key);
  EXPECT_EQ(results.size(), 1u);
  return results.empty() ? Result::kNeutral : results[0].result;
}

// The tags of a signature field we made.
TagList Tags(const std::string& field, std::string* storage) {
  *storage = field.substr(field.find(':') + 1);
  TagList tags;
  EXPECT_TRUE(parse_tag_list(*storage, &tags).ok());
  return tags;
}

std::string Tag(const std::string& field, std::string_view name) {
  std::string storage;
  const TagList tags = Tags(field, &storage);
  const auto* t = tags.find(name);
  return t ? strip_fws(t->value) : "(absent)";
}

TEST(DkimSigner, BothAlgorithmsAndAllCanonicalizationsVerify) {
  for (const PrivateKey* key : {&RsaKey(), &EdKey()}) {
    for (Canon h : {Canon::kSimple, Canon::kRelaxed}) {
      for (Canon b : {Canon::kSimple, Canon::kRelaxed}) {
        SignOptions o = Options();
        o.header_canon = h;
        o.body_canon = b;
        const std::string field = Sign(*key, o);
        EXPECT_EQ(Tag(field, "c"), std::string(canon_name(h)) + "/" + canon_name(b));
        const auto results = Check(field + kMessage, *key);
        ASSERT_EQ(results.size(), 1u);
        EXPECT_EQ(results[0].result, Result::kPass) << results[0].reason << "\n" << field;
        EXPECT_EQ(results[0].algorithm, algorithm_name(algorithm_for(key->type())));
      }
    }
  }
}

TEST(DkimSigner, FieldLayout) {
  const std::string field = Sign(RsaKey(), Options());
  EXPECT_EQ(field.rfind("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;", 0),
            0u)
      << field;
  ASSERT_GE(field.size(), 2u);
  EXPECT_EQ(field.substr(field.size() - 2), "\r\n");
  // Folded: every line within 78 octets, continuation lines start with SP.
  size_t start = 0, lines = 0;
  while (start < field.size()) {
    const size_t end = field.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 78u) << field.substr(start, end - start);
    if (start > 0) {
      EXPECT_EQ(field[start], ' ');
    }
    ++lines;
    start = end + 2;
  }
  EXPECT_GT(lines, 4u);  // a 2048-bit b= alone takes five lines
  EXPECT_EQ(Tag(field, "t"), "1767268800");
  EXPECT_EQ(Tag(field, "s"), "sel");
  EXPECT_EQ(Tag(field, "x"), "(absent)");
  EXPECT_EQ(Tag(field, "l"), "(absent)");
  EXPECT_EQ(Tag(field, "i"), "(absent)");
}

TEST(DkimSigner, DefaultHeaderListOversignsFromOnly) {
  const std::string field = Sign(EdKey(), Options());
  // Present fields of the default list once per instance, From once more;
  // absent ones (Cc, Reply-To, ...) and unlisted ones (Received, X-Mailer) not.
  EXPECT_EQ(Tag(field, "h"), "from:from:subject:date:to:to:message-id");
}

// RFC 8058 3.1: one-click unsubscribe needs both fields under the
// signature; oversigning them (issue 15) means none can be added later.
TEST(DkimSigner, ListUnsubscribeFieldsAreOversigned) {
  std::string msg = kMessage;
  msg.insert(msg.find("X-Mailer:"),
             "List-Unsubscribe: <https://example.com/u/1>, <mailto:u@example.com>\r\n"
             "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
  const std::string field = Sign(EdKey(), Options(), msg);
  EXPECT_EQ(Tag(field, "h"),
            "from:from:subject:date:to:to:message-id:list-unsubscribe:list-unsubscribe:"
            "list-unsubscribe-post:list-unsubscribe-post");
  EXPECT_EQ(CheckOne(field + msg, EdKey()), Result::kPass);
  // A second List-Unsubscribe (an attacker's URL), added anywhere: fails.
  for (size_t at : {size_t{0}, msg.find("X-Mailer:")}) {
    std::string forged = msg;
    forged.insert(at, "List-Unsubscribe: <https://evil.example/>\r\n");
    EXPECT_EQ(CheckOne(field + forged, EdKey()), Result::kFail) << at;
  }
  // List-Unsubscribe alone: List-Unsubscribe-Post is still listed once, so
  // adding one (turning a plain link into a one-click POST) fails.
  std::string plain = kMessage;
  plain.insert(plain.find("X-Mailer:"), "List-Unsubscribe: <mailto:u@example.com>\r\n");
  const std::string f2 = Sign(EdKey(), Options(), plain);
  EXPECT_EQ(Tag(f2, "h"),
            "from:from:subject:date:to:to:message-id:list-unsubscribe:list-unsubscribe:"
            "list-unsubscribe-post");
  std::string posted = plain;
  posted.insert(0, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
  EXPECT_EQ(CheckOne(f2 + plain, EdKey()), Result::kPass);
  EXPECT_EQ(CheckOne(f2 + posted, EdKey()), Result::kFail);
  // Without either field nothing is listed (DefaultHeaderListOversignsFromOnly):
  // a mailing list may add its List-* fields without breaking the signature.
}

TEST(DkimSigner, CustomHeaderListAndOversigning) {
  SignOptions o = Options();
  o.headers = {"Subject", "X-Mailer", "Cc"};
  o.oversign = {"from", "subject", "cc"};
  const std::string field = Sign(EdKey(), o);
  // From is always signed (RFC 6376 5.4), first when the list lacks it.
  EXPECT_EQ(Tag(field, "h"), "from:from:subject:subject:x-mailer:cc");
  EXPECT_EQ(CheckOne(field + kMessage, EdKey()), Result::kPass);
}

TEST(DkimSigner, OversignedFromCatchesAnAddedFrom) {
  const std::string field = Sign(EdKey(), Options());
  std::string forged = kMessage;
  forged.insert(forged.find("Subject:"), "From: Mallory <m@evil.example>\r\n");
  EXPECT_EQ(CheckOne(field + forged, EdKey()), Result::kFail);
  // An unsigned field may be added freely.
  std::string added = kMessage;
  added.insert(0, "X-Spam: no\r\nReceived: from relay\r\n");
  EXPECT_EQ(CheckOne(field + added, EdKey()), Result::kPass);
}

TEST(DkimSigner, ChangesAreCaught) {
  const std::string field = Sign(RsaKey(), Options());
  std::string body = kMessage;
  body.replace(body.find("Shall"), 5, "Shan't");
  const auto r1 = Check(field + body, RsaKey());
  EXPECT_EQ(r1[0].result, Result::kFail);
  EXPECT_EQ(r1[0].failure, Failure::kBodyHash);
  std::string to = kMessage;
  to.replace(to.find("Carol"), 5, "Cecil");
  const auto r2 = Check(field + to, RsaKey());
  EXPECT_EQ(r2[0].result, Result::kFail);
  EXPECT_EQ(r2[0].failure, Failure::kSignature);
  // Relaxed forgives trailing whitespace and blank lines at the end.
  std::string ws = kMessage;
  ws.replace(ws.find("Alice\r\n\r\n"), 9, "Alice \t\r\n\r\n\r\n");
  EXPECT_EQ(CheckOne(field + ws, RsaKey()), Result::kPass);
}

TEST(DkimSigner, StreamingGivesTheSameSignature) {
  // Both algorithms are deterministic, so any chunking must give the very
  // same field.
  const std::string msg = kMessage;
  for (const PrivateKey* key : {&RsaKey(), &EdKey()}) {
    const std::string whole = Sign(*key, Options());
    for (size_t step : {1u, 2u, 5u, 64u}) {
      Signer signer(*key, Options());
      for (size_t i = 0; i < msg.size(); i += step) signer.write(msg.substr(i, step));
      std::string field;
      ASSERT_TRUE(signer.finish(&field).ok());
      EXPECT_EQ(field, whole) << "step " << step;
    }
  }
}

TEST(DkimSigner, OptionalTags) {
  SignOptions o = Options();
  o.identity = "alice@mail.example.com";
  o.expiration = 1767268800 + 86400;
  o.body_length = true;
  const std::string field = Sign(RsaKey(), o);
  EXPECT_EQ(Tag(field, "i"), "alice@mail.example.com");
  EXPECT_EQ(Tag(field, "x"), "1767355200");
  // "Shall we?\r\n\r\n--\r\nAlice\r\n" relaxed.
  EXPECT_EQ(Tag(field, "l"), "24");
  const auto results = Check(field + kMessage, RsaKey());
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].reason;
  EXPECT_EQ(results[0].identity, "alice@mail.example.com");
  EXPECT_EQ(results[0].body_length, 24u);
}

TEST(DkimSigner, EmptyBodyAndNoBody) {
  for (const char* msg : {"From: a@example.com\r\n\r\n", "From: a@example.com\r\n"}) {
    for (Canon c : {Canon::kSimple, Canon::kRelaxed}) {
      SignOptions o = Options();
      o.body_canon = c;
      const std::string field = Sign(EdKey(), o, msg);
      EXPECT_EQ(Tag(field, "bh"), c == Canon::kSimple
                                      ? "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY="
                                      : "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
      EXPECT_EQ(CheckOne(field + msg, EdKey()), Result::kPass);
    }
  }
}

TEST(DkimSigner, Errors) {
  EXPECT_EQ(SignError(Options(), "To: b@example.org\r\n\r\nhi\r\n"),
            "the message has no From header field");
  SignOptions o = Options();
  o.domain = "com";
  EXPECT_EQ(SignError(o), "bad domain 'com'");
  o = Options();
  o.selector = "a b";
  EXPECT_EQ(SignError(o), "bad selector 'a b'");
  o = Options();
  o.identity = "alice@example.org";
  EXPECT_EQ(SignError(o), "identity 'alice@example.org' is not within example.com");
  o = Options();
  o.expiration = o.timestamp;
  EXPECT_EQ(SignError(o), "expiration is not after the timestamp");
  o = Options();
  o.max_header = 40;
  EXPECT_EQ(SignError(o), "header section longer than 40 octets");
}

TEST(DkimSigner, DefaultListHasTheRfcRecommendations) {
  const auto& list = default_signed_headers();
  for (const char* name : {"from",
                           "reply-to",
                           "subject",
                           "date",
                           "to",
                           "cc",
                           "resent-date",
                           "resent-from",
                           "resent-to",
                           "resent-cc",
                           "in-reply-to",
                           "references",
                           "list-id",
                           "list-help",
                           "list-unsubscribe",
                           "list-subscribe",
                           "list-post",
                           "list-owner",
                           "list-archive",
                           "message-id",
                           "mime-version",
                           "content-type",
                           "content-transfer-encoding"}) {
    EXPECT_NE(std::find(list.begin(), list.end(), name), list.end()) << name;
  }
  EXPECT_EQ(std::find(list.begin(), list.end(), "received"), list.end());
  EXPECT_EQ(std::find(list.begin(), list.end(), "dkim-signature"), list.end());
}

}  // namespace
}  // namespace tern::dkim
