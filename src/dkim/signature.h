// The DKIM-Signature header field (RFC 6376 3.5): its tags read into a
// value, with the checks RFC 6376 6.1.1 asks of a verifier before any key
// is fetched.
//
// Value type; thread-compatible; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "dkim/canon.h"
#include "dkim/keys.h"
#include "dkim/message.h"
#include "dkim/tag_list.h"

namespace tern::dkim {

inline constexpr std::string_view kSignatureField = "DKIM-Signature";

struct Signature {
  // As written, for reports, filled as far as parsing got even on error.
  std::string version;         // v=
  std::string algorithm_text;  // a=
  std::string domain;          // d=
  std::string selector;        // s=
  std::string identity;        // i=, or "@" + d= when absent (3.5)
  std::string b_text;          // b= without FWS (for Authentication-Results header.b)

  Algorithm algorithm = Algorithm::kRsaSha256;
  std::string signature;                // b= decoded
  std::string body_hash;                // bh= decoded (32 octets)
  Canon header_canon = Canon::kSimple;  // c=, "simple/simple" when absent
  Canon body_canon = Canon::kSimple;
  std::vector<std::string> headers;     // h=, as written (compared ignoring case)
  std::optional<uint64_t> body_length;  // l=
  std::optional<int64_t> timestamp;     // t=
  std::optional<int64_t> expiration;    // x=
  int instance = 0;                     // ARC-Message-Signature i= (RFC 8617 4.2.1); 0 for DKIM

  // "<s>._domainkey.<d>" in lower case: where the key record lives (3.6.2.1).
  std::string key_query() const;
};

// Reads the tags of a DKIM-Signature. Permanent errors say what is wrong:
// v= missing or not "1"; a required tag (a, b, bh, d, h, s) missing; an
// unknown a= (rsa-sha1 included: RFC 8301 3.1 forbids it); b= or bh= not
// base64, or bh= not 32 octets; an unknown c=; d= or s= not a domain name;
// h= without "from" (RFC 6376 6.1.1, 5.4); an i= whose domain is neither d=
// nor below it; l=, t= or x= not a decimal number; x= not after t=; q= not
// offering dns/txt. Unknown tags are ignored (3.2).
//
// kArcMessage reads an ARC-Message-Signature instead (RFC 8617 4.1.2: the
// DKIM-Signature syntax without v=, with i= the instance, 1..50): no v=
// is needed, i= is required and read into `instance` (the identity is
// "@" + d=), and h= must not name ARC-Seal.
enum class SignatureKind { kDkim, kArcMessage };
Status parse_signature(const TagList& tags, Signature* out,
                       SignatureKind kind = SignatureKind::kDkim);

// An ARC instance number (RFC 8617 4.2.1): 1*DIGIT from 1 to 50, or 0 when
// `text` is not one.
int parse_instance(std::string_view text);

// The value of a header field: after the first colon, without the final CRLF.
std::string_view field_value(const HeaderField& field);

// `field` with its b= value (and the whitespace around it) emptied, as a
// signature covers its own field (RFC 6376 3.7; RFC 8617 5.1.1). Unchanged
// when its value is not a tag list or has no b=.
std::string with_b_emptied(const HeaderField& field);

// The header hash input (RFC 6376 3.7 step 2) of the signature `sig` read
// from fields[index]: the fields h= selects (5.4.2, never fields[index]
// itself), canonicalised, then fields[index] with its b= value (and the
// whitespace around it) emptied, canonicalised, without its final CRLF.
// REQUIRES: parse_signature(parse_tag_list(field_value(fields[index]))) gave
// `sig` without error.
std::string header_hash_input(const std::vector<HeaderField>& fields, size_t index,
                              const Signature& sig);

// True when `name` is `parent` or a subdomain of it, ignoring case.
bool is_same_or_subdomain(std::string_view name, std::string_view parent);

}  // namespace tern::dkim
