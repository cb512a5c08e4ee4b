// TLS set-up, checked with OpenSSL itself: the generated files load, the
// certificate verifies for the host name, and handshakes over an in-memory
// BIO pair (no sockets) obey the protocol floor.
#include "tls/tls.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tern {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

X509* LoadCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return nullptr;
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return x;
}

EVP_PKEY* LoadKey(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return nullptr;
  EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return k;
}

std::vector<std::string> DnsNames(X509* x) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type != GEN_DNS) continue;
    const ASN1_STRING* s = g->d.dNSName;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     ASN1_STRING_length(s));
  }
  GENERAL_NAMES_free(names);
  return out;
}

// Runs a handshake between an SSL from `server` and one from `client` over
// a BIO pair. Returns true if both sides completed; *info is the server's.
bool Handshake(SSL_CTX* server, SSL_CTX* client, const char* sni, TlsInfo* info,
               long* verify_result = nullptr) {
  SSL* s = SSL_new(server);
  SSL* c = SSL_new(client);
  BIO* sb = nullptr;
  BIO* cb = nullptr;
  BIO_new_bio_pair(&sb, 0, &cb, 0);
  SSL_set_bio(s, sb, sb);
  SSL_set_bio(c, cb, cb);
  SSL_set_accept_state(s);
  SSL_set_connect_state(c);
  SSL_set_tlsext_host_name(c, sni);
  SSL_set1_host(c, sni);
  bool s_done = false, c_done = false, failed = false;
  for (int i = 0; i < 100 && !failed && !(s_done && c_done); ++i) {
    for (auto [ssl, done] : {std::pair{c, &c_done}, std::pair{s, &s_done}}) {
      if (*done) continue;
      const int r = SSL_do_handshake(ssl);
      if (r == 1) {
        *done = true;
      } else {
        const int e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) failed = true;
      }
    }
  }
  if (info) *info = tls_info(s);
  if (verify_result) *verify_result = SSL_get_verify_result(c);
  SSL_free(s);
  SSL_free(c);
  ERR_clear_error();
  return s_done && c_done && !failed;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-tls-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.data_dir = dir_ + "/data";
    config_.hostname = "mx.example.test";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  ServerTlsOptions config_;
};

TEST_F(TlsTest, SelfSignedCertificateForTheHostName) {
  const auto [cert_path, key_path] = ensure_self_signed(config_);
  EXPECT_EQ(cert_path, config_.data_dir + "/tls/cert.pem");
  EXPECT_EQ(key_path, config_.data_dir + "/tls/key.pem");

  X509* x = LoadCert(cert_path);
  ASSERT_NE(x, nullptr);
  EVP_PKEY* k = LoadKey(key_path);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(X509_check_private_key(x, k), 1);
  char group[64] = {};
  ASSERT_EQ(EVP_PKEY_get_group_name(k, group, sizeof(group), nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");

  EXPECT_EQ(DnsNames(x), (std::vector<std::string>{"mx.example.test", "localhost"}));
  EXPECT_EQ(X509_check_host(x, "mx.example.test", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_get_version(x), X509_VERSION_3);
  EXPECT_EQ(X509_check_ca(x), 0);  // CA:FALSE
  int crit = -1;
  auto* bc =
      static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(x, NID_basic_constraints, &crit, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(bc->ca, 0);
  EXPECT_EQ(crit, 1);
  BASIC_CONSTRAINTS_free(bc);
  EXPECT_EQ(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);

  // About ten years, starting now.
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(x)), 1);
  EXPECT_GT(days, 3640);
  EXPECT_LT(days, 3660);
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notBefore(x)), 1);
  EXPECT_LE(days, 0);

  const BIGNUM* serial = nullptr;
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
  serial = bn;
  EXPECT_FALSE(BN_is_negative(serial));
  EXPECT_GE(BN_num_bits(serial), 64);
  BN_free(bn);

  struct stat st {};
  ASSERT_EQ(::stat(key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((config_.data_dir + "/tls").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  X509_free(x);
  EVP_PKEY_free(k);
}

TEST_F(TlsTest, SelfSignedIsGeneratedOnlyOnce) {
  const auto first = ensure_self_signed(config_);
  const std::string cert = ReadFile(first.first);
  const std::string key = ReadFile(first.second);
  ASSERT_FALSE(cert.empty());
  const auto second = ensure_self_signed(config_);
  EXPECT_EQ(second, first);
  EXPECT_EQ(ReadFile(second.first), cert);
  EXPECT_EQ(ReadFile(second.second), key);

  // A lone certificate (its key lost) is replaced by a new matching pair.
  std::filesystem::remove(first.second);
  ensure_self_signed(config_);
  EXPECT_NE(ReadFile(first.first), cert);
  EXPECT_NO_THROW(make_server_tls_context(config_));
}

TEST_F(TlsTest, ContextSettings) {
  auto ctx = make_server_tls_context(config_);  // self-signed
  ASSERT_NE(ctx, nullptr);
  SSL_CTX* h = ctx->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(h), TLS1_2_VERSION);
  const uint64_t opts = SSL_CTX_get_options(h);
  EXPECT_TRUE(opts & SSL_OP_NO_COMPRESSION);
  EXPECT_TRUE(opts & SSL_OP_NO_RENEGOTIATION);
  EXPECT_TRUE(opts & SSL_OP_CIPHER_SERVER_PREFERENCE);
  EXPECT_TRUE(opts & SSL_OP_NO_TICKET);
  EXPECT_NE(SSL_CTX_get0_certificate(h), nullptr);
}

TEST_F(TlsTest, HandshakesAndVerifiesForTheHostName) {
  auto ctx = make_server_tls_context(config_);
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());
  // Trust the self-signed certificate itself, and check the name.
  ASSERT_EQ(
      SSL_CTX_load_verify_locations(client, (config_.data_dir + "/tls/cert.pem").c_str(), nullptr),
      1);
  SSL_CTX_set_verify(client, SSL_VERIFY_PEER, nullptr);

  TlsInfo info;
  long verify = -1;
  ASSERT_TRUE(Handshake(ctx->native_handle(), client, "mx.example.test", &info, &verify));
  EXPECT_EQ(verify, X509_V_OK);
  EXPECT_EQ(info.version, "TLSv1.3");
  EXPECT_FALSE(info.cipher.empty());
  EXPECT_GE(info.bits, 128);

  // The wrong name fails verification.
  EXPECT_FALSE(Handshake(ctx->native_handle(), client, "other.example", nullptr));

  SSL_CTX_set_max_proto_version(client, TLS1_2_VERSION);
  ASSERT_TRUE(Handshake(ctx->native_handle(), client, "localhost", &info));
  EXPECT_EQ(info.version, "TLSv1.2");
  EXPECT_NE(info.cipher.find("ECDHE-ECDSA"), std::string::npos) << info.cipher;
  SSL_CTX_free(client);
}

TEST_F(TlsTest, RefusesTls11EvenWhenSecurityLevelWouldAllowIt) {
  auto ctx = make_server_tls_context(config_);
  // Lower the security level on both sides, so that only the protocol floor
  // can refuse TLS 1.1 (OpenSSL 3's default level refuses it by itself),
  // and offer CBC suites, the only ones TLS 1.1 has.
  SSL_CTX_set_security_level(ctx->native_handle(), 0);
  ASSERT_EQ(SSL_CTX_set_cipher_list(ctx->native_handle(), "DEFAULT"), 1);
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(client, 0);
  SSL_CTX_set_min_proto_version(client, TLS1_1_VERSION);
  SSL_CTX_set_max_proto_version(client, TLS1_1_VERSION);
  EXPECT_FALSE(Handshake(ctx->native_handle(), client, "localhost", nullptr));
  // Control: the same client succeeds against a context without the floor.
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_VERSION);
  EXPECT_TRUE(Handshake(ctx->native_handle(), client, "localhost", nullptr));
  SSL_CTX_free(client);
}

// The default policy (tls/settings.h) offers TLS 1.2 clients AEAD suites
// only: one that knows only CBC suites finds none in common.
TEST_F(TlsTest, RefusesATls12ClientWithOnlyCbcSuites) {
  auto ctx = make_server_tls_context(config_);
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(client, TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(client, "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA"), 1);
  EXPECT_FALSE(Handshake(ctx->native_handle(), client, "localhost", nullptr));
  // Control: with an AEAD suite added, the same client gets it.
  ASSERT_EQ(
      SSL_CTX_set_cipher_list(
          client, "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256"),
      1);
  TlsInfo info;
  ASSERT_TRUE(Handshake(ctx->native_handle(), client, "localhost", &info));
  EXPECT_EQ(info.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
  SSL_CTX_free(client);
}

TEST_F(TlsTest, AppliesTheConfiguredPolicy) {
  ServerTlsOptions c = config_;
  c.settings.min_version = "TLSv1.3";
  auto ctx = make_server_tls_context(c);
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(client, TLS1_2_VERSION);
  EXPECT_FALSE(Handshake(ctx->native_handle(), client, "localhost", nullptr));
  SSL_CTX_free(client);

  c.settings.ciphers = "NOSUCH";
  try {
    make_server_tls_context(c);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "tls: tls.ciphers: 'NOSUCH' is not a TLS 1.2 cipher known to OpenSSL");
  }
}

TEST_F(TlsTest, RefusesAKeyThatDoesNotMatch) {
  ServerTlsOptions other = config_;
  other.data_dir = dir_ + "/other";
  const auto a = ensure_self_signed(config_);
  const auto b = ensure_self_signed(other);
  ServerTlsOptions mixed = config_;
  mixed.certificate = a.first;
  mixed.private_key = b.second;
  try {
    make_server_tls_context(mixed);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "tls: private key '" + b.second + "' does not match certificate '" + a.first + "'");
  }
  mixed.private_key = a.second;
  EXPECT_NO_THROW(make_server_tls_context(mixed));
}

TEST_F(TlsTest, ClearErrorsForUnusableFiles) {
  const auto pair = ensure_self_signed(config_);
  ServerTlsOptions c = config_;
  c.certificate = dir_ + "/absent.pem";
  c.private_key = pair.second;
  try {
    make_server_tls_context(c);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "tls: cannot read certificate file '" + dir_ +
                                         "/absent.pem': No such file or directory");
  }

  const std::string garbage = dir_ + "/garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";
  c.certificate = garbage;
  try {
    make_server_tls_context(c);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("tls: cannot load certificate chain from '" + garbage + "': ", 0), 0u)
        << what;
  }

  c.certificate = pair.first;
  c.private_key = pair.first;  // a certificate is not a key
  try {
    make_server_tls_context(c);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("tls: cannot load private key from '" + pair.first + "'", 0), 0u) << what;
  }
}

TEST(TlsInfoTest, NullConnection) {
  const TlsInfo info = tls_info(nullptr);
  EXPECT_EQ(info.version, "");
  EXPECT_EQ(info.cipher, "");
  EXPECT_EQ(info.bits, 0);
}

}  // namespace
}  // namespace tern
