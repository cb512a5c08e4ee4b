// base64 (RFC 4648 4): test vectors, round trips, strict decoding.
#include "core/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tern {
namespace {

// RFC 4648 10.
const std::pair<const char*, const char*> kVectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

TEST(Base64Test, EncodesRfc4648Vectors) {
  for (const auto& [plain, coded] : kVectors) EXPECT_EQ(base64_encode(plain), coded) << plain;
}

TEST(Base64Test, DecodesRfc4648Vectors) {
  for (const auto& [plain, coded] : kVectors) EXPECT_EQ(base64_decode(coded), plain) << coded;
}

TEST(Base64Test, AuthPlainResponse) {
  // RFC 4616 style: authzid NUL authcid NUL password.
  EXPECT_EQ(base64_decode("AGFsaWNlAHNlY3JldA=="), std::string("\0alice\0secret", 13));
  EXPECT_EQ(base64_encode(std::string("\0alice\0secret", 13)), "AGFsaWNlAHNlY3JldA==");
}

TEST(Base64Test, UsesWholeAlphabet) {
  EXPECT_EQ(base64_encode("\xFB\xEF\xBE"), "++++");
  EXPECT_EQ(base64_encode("\xFF\xFF\xFF"), "////");
  EXPECT_EQ(base64_decode("+/+/"), "\xFB\xFF\xBF");
  EXPECT_EQ(base64_decode("AAAA"), std::string(3, '\0'));
}

TEST(Base64Test, RoundTripsAllOctetsAtEveryLength) {
  std::string data;
  for (int i = 0; i < 300; ++i) data += static_cast<char>((i * 7 + 3) & 0xFF);
  for (size_t n = 0; n <= data.size(); ++n) {
    const std::string plain = data.substr(0, n);
    const std::string coded = base64_encode(plain);
    ASSERT_EQ(coded.size(), (n + 2) / 3 * 4);
    ASSERT_EQ(base64_decode(coded), plain) << n;
  }
}

TEST(Base64Test, RefusesMissingOrWrongPadding) {
  for (const char* s : {"Zg", "Zg=", "Zm8", "Zm9vYg", "Zm9vYg=", "Z", "Z===", "====", "=",
                        "==", "Zg=a", "Z=g=", "Zm=v", "Zg==Zg==", "Zg===", "Zm9v="}) {
    EXPECT_FALSE(base64_decode(s)) << s;
  }
}

TEST(Base64Test, RefusesNonCanonicalPadBits) {
  // RFC 4648 3.5: the bits before the padding must be zero.
  EXPECT_TRUE(base64_decode("Zg=="));
  EXPECT_FALSE(base64_decode("Zh=="));
  EXPECT_FALSE(base64_decode("Zv=="));
  EXPECT_TRUE(base64_decode("Zm8="));
  EXPECT_FALSE(base64_decode("Zm9="));
  EXPECT_FALSE(base64_decode("Zm+="));
}

TEST(Base64Test, RefusesCharactersOutsideTheAlphabet) {
  for (const std::string& s :
       std::vector<std::string>{"Zm9v\r\n", " Zm9v", "Zm9v ", "Zm 9v", "Zm9\tv", "Zm-v", "Zm_v",
                                "Zm.v", "Zm9\xC3\xA9", std::string("Zm9\0", 4), "Zm9v\n", "Zm9!"}) {
    EXPECT_FALSE(base64_decode(s)) << testing::PrintToString(s);
  }
}

}  // namespace
}  // namespace tern
