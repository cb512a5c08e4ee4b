#include "server/mta_sts_http.h"

#include <openssl/ssl.h>

#include "base/log.h"

namespace tern {
namespace {

// SSL_CTX_set_cert_cb: runs for every handshake, before the certificate is
// chosen, so a renewed certificate is used from the next connection on.
int use_current_certificate(SSL* ssl, void* arg) {
  const auto* slot = static_cast<const CertificateSlot*>(arg);
  std::shared_ptr<asio::ssl::context> ctx = slot->get();
  if (!ctx) return 0;
  SSL_CTX* c = ctx->native_handle();
  X509* cert = SSL_CTX_get0_certificate(c);
  EVP_PKEY* key = SSL_CTX_get0_privatekey(c);
  if (cert == nullptr || key == nullptr) return 0;
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(c, &chain);
  return SSL_use_cert_and_key(ssl, cert, key, chain, 1) == 1 ? 1 : 0;
}

}  // namespace

http::TlsSetup certificate_slot_tls(std::shared_ptr<CertificateSlot> slot) {
  return [slot](SSL_CTX* ctx) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_cert_cb(ctx, use_current_certificate, slot.get());
    return true;
  };
}

void serve_mta_sts_policy(http::Server& server, const sts::Policy& policy) {
  server.get("/.well-known/mta-sts.txt", [text = policy.text()](const http::Request& req) {
    log_info("mta-sts: policy served host={} client={}", log_value(req.host), req.remote_addr);
    // 3.2: the media type is text/plain.
    return http::Response{200, "text/plain", text};
  });
}

}  // namespace tern
