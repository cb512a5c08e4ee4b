// Key records, RFC 6376 3.6.1 and RFC 8463 4.2. The records are those of
// RFC 8463 Appendix A and of dkimpy's test data (test.txt, test2.txt,
// badk.txt, badversion.txt).
#include <gtest/gtest.h>

#include <string>

#include "core/base64.h"
#include "dkim/key_record.h"

namespace tern::dkim {
namespace {

const char kRsaP[] =
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16J"
    "Yi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
    "Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

KeyRecord Parse(const std::string& text) {
  KeyRecord r;
  const Status s = parse_key_record(text, &r);
  EXPECT_TRUE(s.ok()) << s.message() << " for: " << text;
  return r;
}

std::string Error(const std::string& text) {
  KeyRecord r;
  const Status s = parse_key_record(text, &r);
  EXPECT_FALSE(s.ok()) << "accepted: " << text;
  return s.message();
}

TEST(DkimKeyRecord, Rfc8463Records) {
  const KeyRecord ed = Parse("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  EXPECT_EQ(ed.type, KeyType::kEd25519);
  EXPECT_EQ(base64_encode(ed.public_key), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  const KeyRecord rsa = Parse(std::string("v=DKIM1; k=rsa; p=") + kRsaP);
  EXPECT_EQ(rsa.type, KeyType::kRsa);
  EXPECT_EQ(base64_encode(rsa.public_key), kRsaP);
  EXPECT_FALSE(rsa.revoked());
  EXPECT_FALSE(rsa.testing);
  EXPECT_TRUE(rsa.allows_hash("sha256"));
}

TEST(DkimKeyRecord, DefaultsAndUnknownTags) {
  // dkimpy test2.txt: no k= means rsa; g= (an RFC 4871 leftover) is ignored.
  const KeyRecord r = Parse(std::string("v=DKIM1; g=*; p=") + kRsaP);
  EXPECT_EQ(r.type, KeyType::kRsa);
  // v= is optional.
  EXPECT_EQ(Parse(std::string("p=") + kRsaP).type, KeyType::kRsa);
  EXPECT_EQ(Parse("k=ed25519; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y=").type,
            KeyType::kEd25519);
}

TEST(DkimKeyRecord, FoldedBase64InP) {
  const KeyRecord r = Parse("k=ed25519; p=11qYAYKxCrfVS/7TyWQH Og7hcvPapiMlrwIa\taPcHURo=");
  EXPECT_EQ(base64_encode(r.public_key), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
}

TEST(DkimKeyRecord, EmptyPMeansRevoked) {
  EXPECT_TRUE(Parse("v=DKIM1; p=").revoked());
  EXPECT_TRUE(Parse("v=DKIM1; k=rsa; p= ;").revoked());
}

TEST(DkimKeyRecord, Flags) {
  const KeyRecord r = Parse(std::string("t=y:s:future; p=") + kRsaP);
  EXPECT_TRUE(r.testing);
  EXPECT_TRUE(r.strict);
  const KeyRecord s = Parse(std::string("t = s ; p=") + kRsaP);
  EXPECT_FALSE(s.testing);
  EXPECT_TRUE(s.strict);
}

TEST(DkimKeyRecord, HashList) {
  EXPECT_FALSE(Parse(std::string("h=sha1; p=") + kRsaP).allows_hash("sha256"));
  EXPECT_TRUE(Parse(std::string("h=sha1 : sha256; p=") + kRsaP).allows_hash("sha256"));
}

TEST(DkimKeyRecord, ServiceType) {
  Parse(std::string("s=email; p=") + kRsaP);
  Parse(std::string("s=*; p=") + kRsaP);
  Parse(std::string("s=other:email; p=") + kRsaP);
  EXPECT_NE(Error(std::string("s=other; p=") + kRsaP).find("not for email"), std::string::npos);
}

TEST(DkimKeyRecord, Errors) {
  // dkimpy badk.txt
  EXPECT_NE(Error(std::string("v=DKIM1; g=*; k=ed25519-sha256; p=") + kRsaP)
                .find("unknown key type k=ed25519-sha256"),
            std::string::npos);
  // dkimpy badversion.txt: "v=DKIM1:" swallows "g=*" into the version.
  EXPECT_NE(Error(std::string("v=DKIM1: g=*; k=rsa; p=") + kRsaP).find("unknown version"),
            std::string::npos);
  EXPECT_NE(Error(std::string("v=DKIM2; p=") + kRsaP).find("unknown version v=DKIM2"),
            std::string::npos);
  EXPECT_NE(Error(std::string("k=rsa; v=DKIM1; p=") + kRsaP).find("not the first"),
            std::string::npos);
  EXPECT_NE(Error("v=DKIM1; k=rsa").find("no p="), std::string::npos);
  EXPECT_NE(Error("v=DKIM1; p=not*base64").find("not valid base64"), std::string::npos);
  EXPECT_NE(Error("v=DKIM1; p=a; p=b").find("key record: tag \"p\" appears twice"),
            std::string::npos);
  EXPECT_NE(Error("v=spf1 -all").find("unknown version"), std::string::npos);
  EXPECT_NE(Error("").find("no p="), std::string::npos);
}

}  // namespace
}  // namespace tern::dkim
