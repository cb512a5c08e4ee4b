// JSON Web Signatures for ACME (RFC 8555 6.2, RFC 7515): every request to
// the CA is a flattened JWS signed with the account key, here always ES256
// (ECDSA P-256 with SHA-256, RFC 7518 3.4). Also the account key's JWK
// (RFC 7517), its thumbprint (RFC 7638) and the key authorization of a
// challenge (RFC 8555 8.1), and the P-256 keys themselves (the account key
// and the certificate key are both P-256).
//
// No I/O but key files. Thread safety: functions are reentrant; an EcKey
// may be used for signing from several threads (OpenSSL's EVP_PKEY is).
#pragma once

#include <openssl/types.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace tern::acme {

// Base64url without padding (RFC 7515 2, RFC 4648 5).
std::string base64url(std::string_view data);
std::optional<std::string> base64url_decode(std::string_view text);

// A P-256 private key.
class EcKey {
 public:
  // A fresh key; throws std::runtime_error if OpenSSL cannot make one.
  static EcKey generate();
  // From PEM (PKCS#8 or SEC1, unencrypted); nullopt if it is not a P-256 key.
  static std::optional<EcKey> from_pem(std::string_view pem);

  // PKCS#8 PEM of the private key.
  std::string private_pem() const;
  EVP_PKEY* get() const { return key_.get(); }

  // {"crv":"P-256","kty":"EC","x":...,"y":...} (RFC 7518 6.2.1).
  nlohmann::json jwk() const;
  // base64url(SHA-256(the JWK's members in lexicographic order, no
  // whitespace)) (RFC 7638 3).
  std::string thumbprint() const;
  // ES256 over `data`: r and s, 32 octets each, concatenated (RFC 7518
  // 3.4), not DER. Throws std::runtime_error on an OpenSSL failure.
  std::string sign(std::string_view data) const;

 private:
  explicit EcKey(EVP_PKEY* key);
  std::shared_ptr<EVP_PKEY> key_;
};

// The flattened JWS of RFC 8555 6.2 as JSON text: a protected header with
// alg ES256, `nonce`, `url`, and either `jwk` (kid empty: newAccount) or
// `kid` (the account URL); the payload is `payload` (already JSON text),
// or empty for POST-as-GET (RFC 8555 6.3).
std::string sign_request(const EcKey& key, const std::string& kid, const std::string& nonce,
                         const std::string& url, const std::string& payload);

// token "." thumbprint (RFC 8555 8.1), what HTTP-01 serves (8.3).
std::string key_authorization(const std::string& token, const EcKey& account_key);

}  // namespace tern::acme
