// DKIM keys and the two signature algorithms, through OpenSSL EVP:
// rsa-sha256 (RFC 6376 3.3.1: RSASSA-PKCS1-v1_5 over SHA-256 of the header
// data) and ed25519-sha256 (RFC 8463 3: PureEdDSA Ed25519 over the SHA-256
// hash of the header data). Also key generation, PEM (PKCS#8) out, and the
// DNS key record to publish (RFC 6376 3.6.1, 3.6.2.2).
//
// PrivateKey and PublicKey share their OpenSSL object when copied (it is
// never modified after loading). Signing and verifying with one key from
// several threads at once is safe (OpenSSL 3 keys are read-only here).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace tern::dkim {

enum class KeyType { kRsa, kEd25519 };
enum class Algorithm { kRsaSha256, kEd25519Sha256 };

// "rsa", "ed25519": the k= of key records.
const char* key_type_name(KeyType t);
// "rsa-sha256", "ed25519-sha256": the a= of signatures.
const char* algorithm_name(Algorithm a);
Algorithm algorithm_for(KeyType t);
KeyType key_type_of(Algorithm a);

inline constexpr int kDefaultRsaBits = 2048;

class PrivateKey {
 public:
  PrivateKey() = default;

  // Loads a PEM private key: PKCS#8 ("BEGIN PRIVATE KEY", RSA or Ed25519)
  // or PKCS#1 ("BEGIN RSA PRIVATE KEY"). Encrypted keys are refused. Other
  // key types (EC, DSA, ...) and RSA keys under 1024 bits (RFC 8301 3.2)
  // are refused with a Permanent status.
  static Status from_pem(std::string_view pem, PrivateKey* out);
  // An Ed25519 key from its 32-octet seed (RFC 8032 5.1.5; the form RFC 8463
  // and dkimpy use).
  static Status from_ed25519_seed(std::string_view seed, PrivateKey* out);
  // A new key: RSA of `rsa_bits` (2048 by default; 1024..8192) or Ed25519.
  static Status generate(KeyType type, int rsa_bits, PrivateKey* out);

  bool valid() const { return pkey_ != nullptr; }
  // REQUIRES for everything below: valid().
  KeyType type() const { return type_; }
  int bits() const;  // 256 for Ed25519
  // The key as PEM, PKCS#8 unencrypted ("-----BEGIN PRIVATE KEY-----").
  std::string pem() const;
  // The p= octets of its key record: the DER SubjectPublicKeyInfo for RSA
  // (RFC 6376 3.6.1), the raw 32-octet public key for Ed25519 (RFC 8463 4.2).
  std::string public_key_data() const;

  // Signs header hash input (RFC 6376 3.7 step 2) with the key's algorithm;
  // the signature octets go to *signature.
  Status sign(std::string_view data, std::string* signature) const;

 private:
  std::shared_ptr<EVP_PKEY> pkey_;
  KeyType type_ = KeyType::kRsa;
};

class PublicKey {
 public:
  PublicKey() = default;

  // From the decoded p= of a key record of type `type`. RSA: a DER
  // SubjectPublicKeyInfo, or (as some publish it) a bare PKCS#1
  // RSAPublicKey. Ed25519: exactly 32 octets.
  static Status from_record_data(KeyType type, std::string_view data, PublicKey* out);

  bool valid() const { return pkey_ != nullptr; }
  KeyType type() const { return type_; }
  int bits() const;  // 256 for Ed25519

  // True when `signature` is a valid signature of header hash input `data`
  // with this key's algorithm.
  bool verify(std::string_view data, std::string_view signature) const;

 private:
  std::shared_ptr<EVP_PKEY> pkey_;
  KeyType type_ = KeyType::kRsa;
};

// The key record text for `key`: "v=DKIM1; k=rsa; p=BASE64".
std::string key_record_text(const PrivateKey& key);

// `text` cut into DNS character-strings of at most 255 octets (RFC 1035
// 3.3; RFC 6376 3.6.2.2: a verifier joins them with nothing in between).
std::vector<std::string> split_txt_strings(std::string_view text);

// The zone-file line to publish, e.g.
//   sel._domainkey.example.com. IN TXT ( "v=DKIM1; k=rsa; p=MIIB..." "..." )
// REQUIRES: selector and domain are valid domain labels (see valid_domain).
std::string dns_txt_record(std::string_view domain, std::string_view selector,
                           const PrivateKey& key);

// True for a domain name DKIM can use for d= or as a selector: labels of
// letters, digits, hyphens (not at either end) and, leniently, underscores,
// 1..63 octets each, 253 in all. `min_labels` is 2 for d= (RFC 6376 3.5
// "domain-name = sub-domain 1*("." sub-domain)"), 1 for selectors.
bool valid_domain(std::string_view name, int min_labels);

}  // namespace tern::dkim
