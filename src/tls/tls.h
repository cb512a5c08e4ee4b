// TLS set-up with OpenSSL 3 through asio::ssl: a server context (policy
// from config.tls) from the configured certificate and key, or a self-signed pair
// generated into <data_dir>/tls/ on first start.
//
// Thread safety: all functions may be called from any thread, but
// ensure_self_signed must not run concurrently for the same data_dir.
#pragma once

#include <asio/ssl.hpp>
#include <memory>
#include <string>
#include <utility>

#include "config/config.h"

namespace tern {

// Builds a server context with config.tls's protocol and cipher policy
// (tls/settings.h: apply_tls_settings), with config.tls_certificate (a
// PEM chain, leaf first) and config.tls_private_key (PEM, unencrypted), or
// ensure_self_signed()'s pair when both are empty. Throws
// std::runtime_error with a clear message (file names, OpenSSL reason) if
// the certificate or key cannot be used or do not match, or the policy
// cannot be applied (load_config has checked it already).
std::shared_ptr<asio::ssl::context> make_server_tls_context(const Config& config);

// Ensures <data_dir>/tls/cert.pem and key.pem exist (EC P-256 key, self-
// signed for config.hostname and "localhost", 10 years); returns their paths.
// Existing files are kept as they are (delete both to regenerate); if only
// one exists, both are generated anew. Creates data_dir if needed and tls/
// with mode 0700; key.pem is written 0600, cert.pem 0644, each atomically.
// Throws std::runtime_error naming the path on failure.
std::pair<std::string, std::string> ensure_self_signed(const Config& config);

struct TlsInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // OpenSSL's name: "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256"
  int bits = 0;         // secret bits of the cipher
};
// The negotiated parameters of an established connection; all empty/0 for
// a null `ssl` or before the handshake.
TlsInfo tls_info(const SSL* ssl);

}  // namespace tern
