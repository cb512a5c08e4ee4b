// Reading DKIM-Signature fields: RFC 6376 3.5 tags and the checks of 6.1.1.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/base64.h"
#include "dkim/signature.h"

namespace tern::dkim {
namespace {

const std::string kBh = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";

// A valid signature's tags; tests change or remove one.
std::map<std::string, std::string> Good() {
  return {{"v", "1"},       {"a", "rsa-sha256"}, {"d", "example.com"}, {"s", "sel"},
          {"h", "from:to"}, {"bh", kBh},         {"b", "AAAA"}};
}

std::string Text(const std::map<std::string, std::string>& tags) {
  std::string out;
  for (const auto& [k, v] : tags) out += k + "=" + v + "; ";
  return out;
}

Status ParseText(const std::string& text, Signature* sig) {
  TagList tags;
  if (Status s = parse_tag_list(text, &tags); !s.ok()) return s;
  return parse_signature(tags, sig);
}

Signature Parse(const std::map<std::string, std::string>& tags) {
  Signature sig;
  const std::string text = Text(tags);
  const Status s = ParseText(text, &sig);
  EXPECT_TRUE(s.ok()) << s.message() << " for: " << text;
  return sig;
}

std::string Error(const std::map<std::string, std::string>& tags) {
  Signature sig;
  const Status s = ParseText(Text(tags), &sig);
  EXPECT_FALSE(s.ok()) << "accepted: " << Text(tags);
  return s.message();
}

std::map<std::string, std::string> With(std::string k, std::string v) {
  auto t = Good();
  t[k] = v;
  return t;
}

std::map<std::string, std::string> Without(const std::string& k) {
  auto t = Good();
  t.erase(k);
  return t;
}

TEST(DkimSignature, Rfc8463Example) {
  Signature sig;
  const Status s = ParseText(
      " v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n d=football.example.com; "
      "i=@football.example.com;\r\n q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n "
      "subject : date : message-id : from : subject : date;\r\n "
      "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n "
      "b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n "
      "Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==",
      &sig);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(sig.algorithm, Algorithm::kEd25519Sha256);
  EXPECT_EQ(sig.header_canon, Canon::kRelaxed);
  EXPECT_EQ(sig.body_canon, Canon::kRelaxed);
  EXPECT_EQ(sig.domain, "football.example.com");
  EXPECT_EQ(sig.selector, "brisbane");
  EXPECT_EQ(sig.identity, "@football.example.com");
  EXPECT_EQ(sig.timestamp, 1528637909);
  EXPECT_FALSE(sig.expiration);
  EXPECT_EQ(sig.headers, (std::vector<std::string>{"from", "to", "subject", "date", "message-id",
                                                   "from", "subject", "date"}));
  EXPECT_EQ(base64_encode(sig.body_hash), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  EXPECT_EQ(sig.signature.size(), 64u);
  EXPECT_EQ(
      sig.b_text,
      "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");
  EXPECT_EQ(sig.key_query(), "brisbane._domainkey.football.example.com");
}

TEST(DkimSignature, Defaults) {
  const Signature sig = Parse(Good());
  EXPECT_EQ(sig.header_canon, Canon::kSimple);  // c= absent: simple/simple
  EXPECT_EQ(sig.body_canon, Canon::kSimple);
  EXPECT_EQ(sig.identity, "@example.com");
  EXPECT_FALSE(sig.body_length);
  EXPECT_EQ(Parse(With("c", "relaxed")).body_canon, Canon::kSimple);
  EXPECT_EQ(Parse(With("c", "relaxed")).header_canon, Canon::kRelaxed);
  EXPECT_EQ(Parse(With("c", "simple/relaxed")).body_canon, Canon::kRelaxed);
}

TEST(DkimSignature, KeyQueryIsLowerCase) {
  auto t = Good();
  t["d"] = "Example.COM";
  t["s"] = "Sel";
  EXPECT_EQ(Parse(t).key_query(), "sel._domainkey.example.com");
}

TEST(DkimSignature, RequiredTags) {
  for (const char* tag : {"a", "b", "bh", "d", "h", "s"}) {
    EXPECT_EQ(Error(Without(tag)), std::string("missing required tag ") + tag + "=");
  }
  EXPECT_EQ(Error(Without("v")), "missing required tag v=");
}

TEST(DkimSignature, VersionAndAlgorithm) {
  EXPECT_EQ(Error(With("v", "2")), "unsupported version v=2");
  EXPECT_NE(Error(With("a", "rsa-sha1")).find("RFC 8301"), std::string::npos);
  EXPECT_EQ(Error(With("a", "RSA-SHA256")), "unsupported algorithm a=RSA-SHA256");
  EXPECT_EQ(Parse(With("a", "ed25519-sha256")).algorithm, Algorithm::kEd25519Sha256);
}

TEST(DkimSignature, ReportFieldsSurviveErrors) {
  // An Authentication-Results header still names d= and s= of a broken one.
  Signature sig;
  auto t = Without("bh");
  EXPECT_FALSE(ParseText(Text(t), &sig).ok());
  EXPECT_EQ(sig.domain, "example.com");
  EXPECT_EQ(sig.selector, "sel");
  EXPECT_EQ(sig.algorithm_text, "rsa-sha256");
}

TEST(DkimSignature, Base64Tags) {
  EXPECT_EQ(Error(With("b", "not base64!")), "b= is not valid base64");
  EXPECT_EQ(Error(With("b", "")), "empty signature b=");
  EXPECT_EQ(Error(With("bh", "AAAA")), "bh= is not a SHA-256 hash");
  EXPECT_EQ(Error(With("bh", "%%%")), "bh= is not valid base64");
  // FWS inside base64 is fine.
  EXPECT_EQ(Parse(With("bh", kBh.substr(0, 10) + "\r\n " + kBh.substr(10))).body_hash.size(), 32u);
}

TEST(DkimSignature, Canonicalization) {
  EXPECT_EQ(Error(With("c", "nofws")), "unknown canonicalization c=nofws");
  EXPECT_EQ(Error(With("c", "relaxed/")), "unknown canonicalization c=relaxed/");
  EXPECT_EQ(Error(With("c", "Relaxed/simple")), "unknown canonicalization c=Relaxed/simple");
}

TEST(DkimSignature, DomainAndSelector) {
  EXPECT_EQ(Error(With("d", "com")), "bad domain d=com");
  EXPECT_EQ(Error(With("d", "exa mple.com")), "bad domain d=exa mple.com");
  EXPECT_EQ(Error(With("s", "a/b")), "bad selector s=a/b");
  EXPECT_EQ(Parse(With("s", "2024.east")).selector, "2024.east");
}

TEST(DkimSignature, FromMustBeSigned) {
  EXPECT_EQ(Error(With("h", "to:subject")), "From is not signed (h= lacks from)");
  EXPECT_EQ(Error(With("h", "from::to")), "empty header field name in h=");
  EXPECT_EQ(Parse(With("h", "Subject : FROM")).headers,
            (std::vector<std::string>{"Subject", "FROM"}));
}

TEST(DkimSignature, Identity) {
  EXPECT_EQ(Parse(With("i", "joe@example.com")).identity, "joe@example.com");
  EXPECT_EQ(Parse(With("i", "@mail.EXAMPLE.com")).identity, "@mail.EXAMPLE.com");
  EXPECT_EQ(Parse(With("i", "\"a@b\"@example.com")).identity, "\"a@b\"@example.com");
  EXPECT_EQ(Error(With("i", "joe@example.org")), "i=joe@example.org is not within d=example.com");
  EXPECT_EQ(Error(With("i", "@badexample.com")), "i=@badexample.com is not within d=example.com");
  EXPECT_EQ(Error(With("i", "joe")), "i= has no @");
}

TEST(DkimSignature, Numbers) {
  EXPECT_EQ(Parse(With("l", "0")).body_length, 0u);
  EXPECT_EQ(Parse(With("l", "1234")).body_length, 1234u);
  // Absurdly long values saturate rather than wrap.
  EXPECT_EQ(Parse(With("l", std::string(80, '9'))).body_length, UINT64_MAX);
  EXPECT_EQ(Error(With("l", "12a")), "l= is not a number");
  EXPECT_EQ(Error(With("l", "-1")), "l= is not a number");
  EXPECT_EQ(Error(With("t", "")), "t= is not a number");
  EXPECT_EQ(Error(With("x", "soon")), "x= is not a number");
  auto t = Good();
  t["t"] = "1000";
  t["x"] = "1000";
  EXPECT_EQ(Error(t), "x= is not after t=");
  t["x"] = "1001";
  EXPECT_EQ(Parse(t).expiration, 1001);
}

TEST(DkimSignature, QueryMethod) {
  Parse(With("q", "dns/txt"));
  Parse(With("q", "other : dns/txt"));
  EXPECT_EQ(Error(With("q", "dns")), "unsupported query method q=dns");
}

TEST(DkimSignature, SubdomainHelper) {
  EXPECT_TRUE(is_same_or_subdomain("example.com", "example.com"));
  EXPECT_TRUE(is_same_or_subdomain("a.b.EXAMPLE.com", "example.COM"));
  EXPECT_FALSE(is_same_or_subdomain("badexample.com", "example.com"));
  EXPECT_FALSE(is_same_or_subdomain("com", "example.com"));
}

TEST(DkimSignature, FieldValue) {
  EXPECT_EQ(field_value(HeaderField{"DKIM-Signature: v=1;\r\n b=x\r\n"}), " v=1;\r\n b=x");
  EXPECT_EQ(field_value(HeaderField{"X:y"}), "y");
}

}  // namespace
}  // namespace tern::dkim
