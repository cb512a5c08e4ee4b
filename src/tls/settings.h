// TlsSettings: the protocol and cipher policy of tern's TLS listeners
// ([tls] in the config; docs/config.md "TLS"), and its application to an
// OpenSSL context. Safe by default: TLS 1.2 minimum (RFC 8996), and for
// TLS 1.2 only ECDHE key exchange with AEAD ciphers (AES-GCM,
// ChaCha20-Poly1305; RFC 9325 4.2), so no CBC suite is offered (LUCKY13,
// and every padding oracle before it). TLS 1.3 suites are all AEAD; its
// list is OpenSSL's unless set.
//
// The outbound side (client/tls_client.h) does not use these: a relay
// that must reach any MX keeps OpenSSL's broader defaults, since failed
// TLS there means plain text (RFC 7435 opportunistic security).
//
// Thread safety: free functions with no shared state.
#pragma once

#include <openssl/types.h>  // SSL_CTX, without all of ssl.h: config.h includes this

#include <optional>
#include <string>

namespace tern {

// OpenSSL's TLS 1.2 cipher list syntax; ECDSA and RSA certificates both
// find their suites. The order is the server's preference: AES-128-GCM is
// fast with AES-NI, ChaCha20 helps clients without it.
inline constexpr const char* kDefaultTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// Key exchange groups, in preference order (RFC 8446 4.2.7, RFC 8422).
inline constexpr const char* kDefaultGroups = "X25519:P-256:P-384";

struct TlsSettings {
  std::string min_version = "TLSv1.2";         // "TLSv1.2" or "TLSv1.3"
  std::string ciphers = kDefaultTls12Ciphers;  // TLS 1.2; OpenSSL cipher list
  std::string ciphersuites;                    // TLS 1.3; "" = OpenSSL's default
  std::string groups = kDefaultGroups;         // colon-separated group names
};

// What is wrong with a TlsSettings: the field ("min_version", "ciphers",
// "ciphersuites", "groups") and the problem, for a config error.
struct TlsSettingsError {
  std::string key;
  std::string problem;
};

// Applies `s` to a server context, with the fixed choices around it: the
// server's cipher order, no compression (CRIME), no renegotiation, no
// stateless session tickets (their key would outlive the forward secrecy
// of every session; resumption uses the in-memory session cache instead).
// Each name in a list must be known to OpenSSL (OpenSSL itself skips
// unknown ones silently, so a typo would quietly shrink the list).
// Returns nullopt on success; on an error the context is unusable.
std::optional<TlsSettingsError> apply_tls_settings(SSL_CTX* ctx, const TlsSettings& s);

// Checks `s` against this OpenSSL on a throw-away context: what
// apply_tls_settings would say.
std::optional<TlsSettingsError> check_tls_settings(const TlsSettings& s);

}  // namespace tern
