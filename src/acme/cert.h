// The certificate side of ACME: the CSR sent at finalize (RFC 8555 7.4,
// RFC 2986) and what the renewal schedule needs to know about a PEM chain
// (validity, names, whether it matches a key).
//
// No I/O. Thread safety: reentrant functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "acme/jws.h"

namespace tern::acme {

// A CSR for `names` (the first is the subject CN; all are dNSName
// subjectAltNames), signed with `key` (SHA-256), as DER. Throws
// std::runtime_error on an OpenSSL failure.
std::string make_csr(const EcKey& key, const std::vector<std::string>& names);

struct CertInfo {
  int64_t not_before = 0;  // Unix seconds
  int64_t not_after = 0;
  std::vector<std::string> names;  // dNSName subjectAltNames of the leaf
};

// The leaf (first certificate) of a PEM chain; nullopt if there is none.
std::optional<CertInfo> read_leaf(const std::string& chain_pem);

// True if the leaf of `chain_pem` is for `key`'s public key.
bool leaf_matches_key(const std::string& chain_pem, const EcKey& key);

// The data of a TLSA 3 1 1 record (RFC 6698 2.1, RFC 7672 3.1.1: DANE-EE,
// SubjectPublicKeyInfo, SHA-256) for `key`: 64 lower-case hex digits.
std::string tlsa_3_1_1(const EcKey& key);

// When to renew: two thirds into the validity period (as Let's Encrypt
// advises: 60 days into 90), never before not_before.
int64_t renewal_time(const CertInfo& info);

}  // namespace tern::acme
