// TlsSettings (src/tls/settings.h): what a server context offers once the
// policy is applied. The config tests cover the error messages.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "tls/settings.h"

namespace tern {
namespace {

struct Ctx {
  Ctx() : ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free) {}
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx;
};

// The names of the ciphers the context would offer, TLS 1.3 suites
// (which name no key exchange of their own) apart from the rest.
void offered(SSL_CTX* ctx, std::vector<const SSL_CIPHER*>* tls13,
             std::vector<const SSL_CIPHER*>* tls12) {
  STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
    (SSL_CIPHER_get_kx_nid(c) == NID_kx_any ? tls13 : tls12)->push_back(c);
  }
}

TEST(TlsSettingsTest, DefaultsOfferAeadWithEcdheOnly) {
  Ctx c;
  ASSERT_FALSE(apply_tls_settings(c.ctx.get(), TlsSettings{}));
  std::vector<const SSL_CIPHER*> tls13, tls12;
  offered(c.ctx.get(), &tls13, &tls12);
  // RFC 9325 4.2: forward secrecy and AEAD; no CBC (LUCKY13), no RSA key
  // exchange (ROBOT), no DHE (weak or custom groups).
  ASSERT_EQ(tls12.size(), 6u);
  for (const SSL_CIPHER* cipher : tls12) {
    EXPECT_TRUE(SSL_CIPHER_is_aead(cipher)) << SSL_CIPHER_get_name(cipher);
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(cipher), NID_kx_ecdhe) << SSL_CIPHER_get_name(cipher);
  }
  // OpenSSL's TLS 1.3 defaults: all AEAD.
  EXPECT_EQ(tls13.size(), 3u);
  for (const SSL_CIPHER* cipher : tls13) EXPECT_TRUE(SSL_CIPHER_is_aead(cipher));
  EXPECT_EQ(SSL_CTX_get_min_proto_version(c.ctx.get()), TLS1_2_VERSION);
  const uint64_t want = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                        SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET;
  EXPECT_EQ(SSL_CTX_get_options(c.ctx.get()) & want, want);
  // (OpenSSL has no getter for a context's own groups: test_testssl.py
  // checks the curves a handshake offers.)
}

TEST(TlsSettingsTest, ChosenVersionSuitesAndGroups) {
  TlsSettings s;
  s.min_version = "TLSv1.3";
  s.ciphers = "ECDHE-RSA-AES256-GCM-SHA384";
  s.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
  s.groups = "X25519";
  Ctx c;
  ASSERT_FALSE(apply_tls_settings(c.ctx.get(), s));
  EXPECT_EQ(SSL_CTX_get_min_proto_version(c.ctx.get()), TLS1_3_VERSION);
  std::vector<const SSL_CIPHER*> tls13, tls12;
  offered(c.ctx.get(), &tls13, &tls12);
  ASSERT_EQ(tls13.size(), 1u);
  EXPECT_STREQ(SSL_CIPHER_get_name(tls13[0]), "TLS_CHACHA20_POLY1305_SHA256");
  ASSERT_EQ(tls12.size(), 1u);
  EXPECT_STREQ(SSL_CIPHER_get_name(tls12[0]), "ECDHE-RSA-AES256-GCM-SHA384");
}

// A list may use OpenSSL's operators; only names that select must exist.
TEST(TlsSettingsTest, CipherListOperators) {
  TlsSettings s;
  s.ciphers = "ECDHE+AESGCM:!aNULL:@STRENGTH";
  EXPECT_FALSE(check_tls_settings(s));
  s.ciphers = "ECDHE+AESGCM:NOSUCH";
  auto e = check_tls_settings(s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->key, "ciphers");
  EXPECT_EQ(e->problem, "'NOSUCH' is not a TLS 1.2 cipher known to OpenSSL");
}

TEST(TlsSettingsTest, EachErrorNamesItsKey) {
  TlsSettings s;
  s.min_version = "TLSv1";
  EXPECT_EQ(check_tls_settings(s)->key, "min_version");
  s = TlsSettings{};
  s.ciphersuites = "TLS_AES_256_GCM_SHA384:NOPE";
  EXPECT_EQ(check_tls_settings(s)->key, "ciphersuites");
  s = TlsSettings{};
  s.groups = "X25519:brainpool";
  EXPECT_EQ(check_tls_settings(s)->key, "groups");
  EXPECT_FALSE(check_tls_settings(TlsSettings{}));
}

}  // namespace
}  // namespace tern
