// JWS, JWK thumbprint, CSR and certificate reading (acme/jws.h, acme/cert.h).
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <nlohmann/json.hpp>

#include "acme/cert.h"
#include "acme/jws.h"

namespace tern::acme {
namespace {

using nlohmann::json;

// Verifies an ES256 r||s signature with OpenSSL, independently of sign().
bool verify_es256(const EcKey& key, const std::string& data, const std::string& sig) {
  if (sig.size() != 64) return false;
  ECDSA_SIG* s = ECDSA_SIG_new();
  auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG_set0(s, BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(s, &der);
  ECDSA_SIG_free(s);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
      EVP_DigestVerify(ctx, der, static_cast<size_t>(len),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

TEST(AcmeBase64url, RoundTripsWithoutPadding) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");  // the URL-safe alphabet (RFC 4648 5)
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(base64url_decode("Zm9v"), "foo");
  EXPECT_FALSE(base64url_decode("Zm9v="));  // no padding in JWS
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zh"));  // non-zero unused bits
}

TEST(AcmeKey, PemRoundTripKeepsTheKey) {
  EcKey k = EcKey::generate();
  auto back = EcKey::from_pem(k.private_pem());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->thumbprint(), k.thumbprint());
  EXPECT_FALSE(EcKey::from_pem("not a key"));
}

TEST(AcmeKey, RefusesAnRsaKey) {
  EVP_PKEY* rsa = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, rsa, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  EXPECT_FALSE(EcKey::from_pem(std::string(data, static_cast<size_t>(len))));
  BIO_free(bio);
  EVP_PKEY_free(rsa);
}

TEST(AcmeKey, JwkAndThumbprintFollowRfc7638) {
  EcKey k = EcKey::generate();
  json jwk = k.jwk();
  EXPECT_EQ(jwk["kty"], "EC");
  EXPECT_EQ(jwk["crv"], "P-256");
  EXPECT_EQ(base64url_decode(jwk["x"].get<std::string>())->size(), 32u);
  EXPECT_EQ(base64url_decode(jwk["y"].get<std::string>())->size(), 32u);
  // RFC 7638 3.2: required members only, lexicographic order, no whitespace.
  const std::string canonical = R"({"crv":"P-256","kty":"EC","x":")" + jwk["x"].get<std::string>() +
                                R"(","y":")" + jwk["y"].get<std::string>() + R"("})";
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), d);
  EXPECT_EQ(k.thumbprint(), base64url(std::string(reinterpret_cast<char*>(d), sizeof(d))));
  EXPECT_EQ(key_authorization("tok", k), "tok." + k.thumbprint());
}

TEST(AcmeJws, SignsTheProtectedHeaderAndPayload) {
  EcKey k = EcKey::generate();
  json jws = json::parse(sign_request(k, "", "nonce1", "https://ca/new-acct", R"({"a":1})"));
  const std::string prot = jws["protected"], payload = jws["payload"], sig = jws["signature"];
  json header = json::parse(*base64url_decode(prot));
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["nonce"], "nonce1");
  EXPECT_EQ(header["url"], "https://ca/new-acct");
  EXPECT_EQ(header["jwk"], k.jwk());
  EXPECT_FALSE(header.contains("kid"));
  EXPECT_EQ(*base64url_decode(payload), R"({"a":1})");
  EXPECT_TRUE(verify_es256(k, prot + "." + payload, *base64url_decode(sig)));
  EXPECT_FALSE(verify_es256(k, prot + "." + payload + "x", *base64url_decode(sig)));
}

TEST(AcmeJws, KidReplacesJwkAndPostAsGetHasEmptyPayload) {
  EcKey k = EcKey::generate();
  json jws = json::parse(sign_request(k, "https://ca/acct/1", "n", "https://ca/order/1", ""));
  json header = json::parse(*base64url_decode(jws["protected"].get<std::string>()));
  EXPECT_EQ(header["kid"], "https://ca/acct/1");
  EXPECT_FALSE(header.contains("jwk"));
  EXPECT_EQ(jws["payload"], "");  // RFC 8555 6.3
}

TEST(AcmeCsr, NamesAndKey) {
  EcKey k = EcKey::generate();
  const std::string der = make_csr(k, {"mail.example.test", "mx.example.test"});
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(X509_REQ_verify(req, k.get()), 1);
  char cn[256];
  X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "mail.example.test");
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  ASSERT_EQ(sk_X509_EXTENSION_num(exts), 1);
  auto* sans = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, 0)));
  ASSERT_EQ(sk_GENERAL_NAME_num(sans), 2);
  GENERAL_NAMES_free(sans);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
  EXPECT_THROW(make_csr(k, {}), std::runtime_error);
}

TEST(AcmeCert, RenewsTwoThirdsIntoTheLifetime) {
  CertInfo ninety_days{1000, 1000 + 90 * 86400, {}};
  EXPECT_EQ(renewal_time(ninety_days), 1000 + 60 * 86400);
  CertInfo broken{1000, 900, {}};
  EXPECT_EQ(renewal_time(broken), 1000);
}

}  // namespace
}  // namespace tern::acme
