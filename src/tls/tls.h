// TLS set-up with OpenSSL 3 through asio::ssl: a server context (TLS 1.2
// minimum) from the configured certificate and key, or a self-signed pair
// generated into <data_dir>/tls/ on first start.
#pragma once

#include <asio/ssl.hpp>
#include <memory>
#include <string>

#include "config/config.h"

namespace tern {

// Builds a server context. Throws std::runtime_error with a clear message
// (file names, OpenSSL reason) if the certificate or key cannot be used.
std::shared_ptr<asio::ssl::context> make_server_tls_context(const Config& config);

// Ensures <data_dir>/tls/cert.pem and key.pem exist (EC P-256 key, self-
// signed for config.hostname and "localhost", 10 years); returns their paths.
std::pair<std::string, std::string> ensure_self_signed(const Config& config);

struct TlsInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  int bits = 0;
};
TlsInfo tls_info(const SSL* ssl);

}  // namespace tern
