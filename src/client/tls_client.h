// TLS for the sending side: a client context that trusts what OpenSSL
// trusts by default (the system store, or SSL_CERT_FILE / SSL_CERT_DIR
// when set) plus an optional CA file, and the check of a server's
// certificate against the name we meant to reach (RFC 6125; host names
// and IP addresses in subjectAltName).
//
// The check is separate from the handshake on purpose: MX hosts are
// checked and the result only logged (opportunistic TLS, RFC 7435), while
// the client library and a smarthost refuse a certificate that fails.
//
// Thread safety: free functions; a context may be shared by connections.
#pragma once

#include <openssl/ssl.h>

#include <asio/ssl/context.hpp>
#include <memory>
#include <string>

namespace tern {

struct ClientTlsOptions {
  std::string ca_file;  // PEM bundle trusted besides the defaults; "" for none
  std::string ca_dir;   // hashed directory (c_rehash) trusted besides the defaults
};

// TLS 1.2 minimum, no compression, no renegotiation. Throws
// std::runtime_error naming the file when ca_file/ca_dir cannot be used.
std::shared_ptr<asio::ssl::context> make_client_tls_context(const ClientTlsOptions& options);

struct PeerCheck {
  bool verified = false;
  // "verified", or why not: "self-signed certificate", "hostname mismatch",
  // "certificate has expired", "no certificate".
  std::string detail;
  // Authenticated by a TLSA record (client/dane_verify.h): the record's
  // "usage selector matching" ("3 1 1"); "" otherwise.
  std::string dane;
};

// After SmtpStream::client_handshake (which arms the name check): did the
// chain and the name check out?
PeerCheck check_peer(const SSL* ssl);

}  // namespace tern
