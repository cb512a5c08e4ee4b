// Server TLS context. The protocol and cipher policy (TLS 1.2 minimum,
// AEAD suites only, no compression, no renegotiation, server order) is
// config.tls, applied by tls/settings.h; see docs/config.md "[tls]".
#include "tls/tls.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <tuple>

#include "tls/settings.h"

namespace tern {
namespace {

// Drains OpenSSL's error queue into "reason; reason" (or "unknown error").
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown error" : out;
}

// Fails early with strerror for the common case of a missing or unreadable
// file, which OpenSSL reports obscurely.
void check_readable(const std::string& path, const char* what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw std::runtime_error("tls: cannot read " + std::string(what) + " '" + path +
                             "': " + std::strerror(errno));
  }
  ::close(fd);
}

// Never prompts: an encrypted key fails to load instead.
int no_passphrase(char*, int, int, void*) { return 0; }

EVP_PKEY* read_private_key(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) return nullptr;
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr);
  BIO_free(bio);
  return pkey;
}

}  // namespace

std::shared_ptr<asio::ssl::context> make_server_tls_context(const ServerTlsOptions& options) {
  std::string cert = options.certificate;
  std::string key = options.private_key;
  if (cert.empty() && key.empty()) {
    std::tie(cert, key) = ensure_self_signed(options);
  } else if (cert.empty() || key.empty()) {
    throw std::runtime_error(
        "tls: tls.certificate and tls.private_key must both be set, or neither");
  }
  check_readable(cert, "certificate file");
  check_readable(key, "private key file");

  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* h = ctx->native_handle();
  ERR_clear_error();
  // asio's tls_server alone would allow TLS 1.0 and every default cipher.
  if (std::optional<TlsSettingsError> e = apply_tls_settings(h, options.settings)) {
    throw std::runtime_error("tls: tls." + e->key + ": " + e->problem);
  }
  static const unsigned char kSessionContext[] = "tern";
  SSL_CTX_set_session_id_context(h, kSessionContext, sizeof(kSessionContext) - 1);

  if (SSL_CTX_use_certificate_chain_file(h, cert.c_str()) != 1) {
    throw std::runtime_error("tls: cannot load certificate chain from '" + cert +
                             "': " + openssl_errors());
  }
  // The key is read and compared here rather than by SSL_CTX_use_PrivateKey
  // (which also refuses a mismatch), to say plainly which files disagree.
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(read_private_key(key), &EVP_PKEY_free);
  if (!pkey) {
    throw std::runtime_error("tls: cannot load private key from '" + key +
                             "' (PEM, unencrypted): " + openssl_errors());
  }
  if (X509_check_private_key(SSL_CTX_get0_certificate(h), pkey.get()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("tls: private key '" + key + "' does not match certificate '" + cert +
                             "'");
  }
  if (SSL_CTX_use_PrivateKey(h, pkey.get()) != 1 || SSL_CTX_check_private_key(h) != 1) {
    throw std::runtime_error("tls: cannot use private key '" + key + "' with certificate '" + cert +
                             "': " + openssl_errors());
  }
  return ctx;
}

TlsInfo tls_info(const SSL* ssl) {
  TlsInfo info;
  if (ssl == nullptr) return info;
  info.version = SSL_get_version(ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) {
    info.cipher = SSL_CIPHER_get_name(c);
    info.bits = SSL_CIPHER_get_bits(c, nullptr);
  }
  return info;
}

}  // namespace tern
