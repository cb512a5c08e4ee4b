// TLS set-up with OpenSSL 3 through asio::ssl: a server context (policy
// from the [tls] table) from the configured certificate and key, or a
// self-signed pair generated into <data_dir>/tls/ on first start. Takes
// its own options, not the whole Config (the server fills them in).
//
// Thread safety: all functions may be called from any thread, but
// ensure_self_signed must not run concurrently for the same data_dir.
#pragma once

#include <asio/ssl.hpp>
#include <memory>
#include <string>
#include <utility>

#include "tls/settings.h"

namespace tern {

// What a server context is made of: the config's tls_certificate,
// tls_private_key, [tls] policy, hostname and data_dir.
struct ServerTlsOptions {
  std::string certificate;  // a PEM chain, leaf first; both empty: self-signed
  std::string private_key;  // PEM, unencrypted
  TlsSettings settings;
  std::string hostname;  // the self-signed certificate's name ("" = "localhost")
  std::string data_dir;  // the self-signed pair goes to <data_dir>/tls/
};

// Builds a server context with options.settings' protocol and cipher policy
// (tls/settings.h: apply_tls_settings), with options.certificate and
// options.private_key, or
// ensure_self_signed()'s pair when both are empty. Throws
// std::runtime_error with a clear message (file names, OpenSSL reason) if
// the certificate or key cannot be used or do not match, or the policy
// cannot be applied (load_config has checked it already).
std::shared_ptr<asio::ssl::context> make_server_tls_context(const ServerTlsOptions& options);

// Ensures <data_dir>/tls/cert.pem and key.pem exist (EC P-256 key, self-
// signed for options.hostname and "localhost", 10 years); returns their paths.
// Existing files are kept as they are (delete both to regenerate); if only
// one exists, both are generated anew. Creates data_dir if needed and tls/
// with mode 0700; key.pem is written 0600, cert.pem 0644, each atomically.
// Throws std::runtime_error naming the path on failure.
std::pair<std::string, std::string> ensure_self_signed(const ServerTlsOptions& options);

struct TlsInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // OpenSSL's name: "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256"
  int bits = 0;         // secret bits of the cipher
};
// The negotiated parameters of an established connection; all empty/0 for
// a null `ssl` or before the handshake.
TlsInfo tls_info(const SSL* ssl);

}  // namespace tern
