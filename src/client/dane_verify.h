// Peer authentication beyond one host name, armed on an SSL object before
// the client handshake: DANE (RFC 6698, RFC 7672) through OpenSSL's DANE
// API, and a list of acceptable names (the "verify"/"secure" TLS policy
// levels). The verdict is read after the handshake by check_peer()
// (client/tls_client.h), as for plain PKIX: the handshake itself never
// fails on authentication.
//
// Free functions; no state of their own.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "dns/lookup.h"

namespace tern {

// Enables DANE on `ctx` (SSL_CTX_dane_enable); required once before
// arm_dane() on its SSL objects. Returns false if OpenSSL refuses.
bool enable_dane(SSL_CTX* ctx);

// Arms DANE on `ssl` for the TLSA base domain `base` (the MX host): every
// record of `tlsa` that OpenSSL can use is added (SSL_dane_tlsa_add).
// DANE-EE(3) matches ignore names and validity dates (RFC 7672 3.1.1:
// DANE_FLAG_NO_DANE_EE_NAMECHECKS; OpenSSL skips the chain checks of a
// matched leaf); DANE-TA(2) needs a chain to the matched key or
// certificate and a name check against `base` and `more_names` (RFC 7672
// 3.2.2). The caller passes usable records only (PKIX-TA/EE are not used
// by SMTP, RFC 7672 3.1.3). Returns "" or why DANE cannot be armed ("no
// usable TLSA record"), in which case the connection must not go on.
std::string arm_dane(SSL* ssl, const std::string& base, const std::vector<TlsaRecord>& tlsa,
                     const std::vector<std::string>& more_names);

// Replaces the reference identifiers of `ssl` by `names` (each a host
// name; ".example.org" matches any subdomain, OpenSSL's rule). Returns ""
// or why not. REQUIRES: names is not empty.
std::string arm_names(SSL* ssl, const std::vector<std::string>& names);

}  // namespace tern
