#include "client/tls_client.h"

#include <fmt/format.h>
#include <openssl/err.h>

#include <stdexcept>

#include "client/dane_verify.h"

namespace tern {

std::shared_ptr<asio::ssl::context> make_client_tls_context(const ClientTlsOptions& options) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // The system store, or SSL_CERT_FILE / SSL_CERT_DIR when set (OpenSSL's
  // own rule: the environment wins over the compiled-in paths).
  SSL_CTX_set_default_verify_paths(native);
  if (!options.ca_file.empty() || !options.ca_dir.empty()) {
    const char* file = options.ca_file.empty() ? nullptr : options.ca_file.c_str();
    const char* dir = options.ca_dir.empty() ? nullptr : options.ca_dir.c_str();
    if (SSL_CTX_load_verify_locations(native, file, dir) != 1) {
      ERR_clear_error();
      throw std::runtime_error("tls: cannot load CA certificates from '" +
                               (file ? options.ca_file : options.ca_dir) + "'");
    }
  }
  // Never abort the handshake here: check_peer() decides afterwards, so the
  // caller can tell "not verified" from "no TLS" and choose what to do.
  SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  // DANE (RFC 7672) is armed per connection (client/dane_verify.h); the
  // context only has to allow it.
  if (!enable_dane(native)) throw std::runtime_error("tls: OpenSSL refuses to enable DANE");
  return ctx;
}

PeerCheck check_peer(const SSL* ssl) {
  PeerCheck out;
  if (ssl == nullptr) {
    out.detail = "no TLS";
    return out;
  }
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) {
    out.detail = "no certificate";
    return out;
  }
  const long result = SSL_get_verify_result(ssl);
  if (result != X509_V_OK) {
    out.detail = X509_verify_cert_error_string(result);
    return out;
  }
  out.verified = true;
  out.detail = "verified";
  uint8_t usage = 0, selector = 0, matching = 0;
  // >= 0: the depth of the certificate a TLSA record matched.
  if (SSL_get0_dane_tlsa(const_cast<SSL*>(ssl), &usage, &selector, &matching, nullptr, nullptr) >=
      0) {
    out.dane = fmt::format("{} {} {}", usage, selector, matching);
  }
  return out;
}

}  // namespace tern
