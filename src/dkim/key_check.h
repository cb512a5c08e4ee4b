// The key half of checking a signature (RFC 6376 6.1.2): from the answer
// to a key query to a public key that may verify it, or the result that
// says why not. Shared by the DKIM Verifier and the ARC chain verifier
// (arc/verifier.h), whose AMS and AS are checked with DKIM keys
// (RFC 8617 4.1.2, 4.1.3).
//
// Pure functions; thread-compatible; no I/O.
#pragma once

#include <string>
#include <string_view>

#include "dkim/keys.h"
#include "dkim/verifier.h"

namespace tern::dkim {

struct KeyCheck {
  Result result = Result::kPermError;  // kPass: `key` is usable
  std::string reason;                  // why not, for anything but kPass
  PublicKey key;
  bool testing = false;  // the record says t=y
  int key_bits = 0;      // when a key was decoded
};

// The key for a signature made with `algorithm` whose i= domain is
// `identity_domain` (t=s needs it to be d= itself, `domain`), out of
// `answer` to `query`: temperror for a failed lookup; permerror for no
// record, no parsable record (the first that parses is used), a revoked or
// undecodable key, a key type or h= that does not fit a=, or t=s broken;
// policy for an RSA key under `min_rsa_bits` (RFC 8301).
KeyCheck check_key(const KeyAnswer& answer, std::string_view query, Algorithm algorithm,
                   std::string_view domain, std::string_view identity_domain, int min_rsa_bits);

}  // namespace tern::dkim
