// DKIM key records (RFC 6376 3.6.1), as found in the TXT record at
// "<selector>._domainkey.<domain>" (the strings of one record joined with
// nothing between them, 3.6.2.2):
//
//   v=DKIM1; k=rsa; h=sha256; s=email; t=y:s; n=notes; p=MIIBIjANBgkq...
//
// Value type; thread-compatible; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "dkim/keys.h"

namespace tern::dkim {

struct KeyRecord {
  KeyType type = KeyType::kRsa;     // k=, "rsa" when absent
  std::string public_key;           // p= decoded; empty when the key is revoked
  std::vector<std::string> hashes;  // h=; empty when absent (every hash allowed)
  bool testing = false;             // t=y: the domain is testing DKIM
  bool strict = false;              // t=s: i= must use d= itself, no subdomain

  bool revoked() const { return public_key.empty(); }
  // True when h= is absent or lists `hash` (e.g. "sha256").
  bool allows_hash(std::string_view hash) const;
};

// Parses a key record. Permanent errors, each naming what is wrong: a bad
// tag-list; v= present with another value than "DKIM1" or not as the first
// tag; k= other than rsa or ed25519; no p=; p= not base64; s= that lists
// neither "email" nor "*" (the key is not for mail). Unknown tags and
// flags are ignored (3.6.1). The public key itself is decoded later, by
// PublicKey::from_record_data.
Status parse_key_record(std::string_view text, KeyRecord* out);

}  // namespace tern::dkim
