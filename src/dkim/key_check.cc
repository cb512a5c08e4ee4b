#include "dkim/key_check.h"

#include <fmt/format.h>

#include "dkim/key_record.h"

namespace tern::dkim {
namespace {

KeyCheck refuse(Result result, std::string reason) {
  KeyCheck k;
  k.result = result;
  k.reason = std::move(reason);
  return k;
}

}  // namespace

KeyCheck check_key(const KeyAnswer& answer, std::string_view query, Algorithm algorithm,
                   std::string_view domain, std::string_view identity_domain, int min_rsa_bits) {
  if (answer.status == KeyAnswer::Status::kTempFail) {
    return refuse(Result::kTempError, fmt::format("key lookup {}: {}", query, answer.error));
  }
  if (answer.status == KeyAnswer::Status::kNotFound || answer.records.empty()) {
    return refuse(Result::kPermError, fmt::format("no key for signature at {}", query));
  }
  // Several records: the first that parses as a key record is used (6.1.2
  // lets the verifier choose).
  KeyRecord record;
  Status parsed = Status::Permanent("no key record");
  for (const std::string& text : answer.records) {
    if (Status s = parse_key_record(text, &record); s.ok()) {
      parsed = s;
      break;
    } else if (&text == &answer.records.front()) {
      parsed = s;
    }
  }
  if (!parsed.ok()) return refuse(Result::kPermError, parsed.message());
  if (record.revoked()) return refuse(Result::kPermError, "key revoked (empty p=)");
  KeyCheck k;
  k.testing = record.testing;
  if (record.type != key_type_of(algorithm)) {
    k.result = Result::kPermError;
    k.reason = fmt::format("key type k={} does not match a={}", key_type_name(record.type),
                           algorithm_name(algorithm));
    return k;
  }
  if (!record.allows_hash("sha256")) {
    k.result = Result::kPermError;
    k.reason = "key record does not allow sha256 (h=)";
    return k;
  }
  // t=s: the i= domain must be d= itself (3.6.1).
  if (record.strict && !equals_ignore_case(identity_domain, domain)) {
    k.result = Result::kPermError;
    k.reason = "key has t=s but i= is a subdomain of d=";
    return k;
  }
  if (Status s = PublicKey::from_record_data(record.type, record.public_key, &k.key); !s.ok()) {
    k.result = Result::kPermError;
    k.reason = "bad public key: " + s.message();
    return k;
  }
  k.key_bits = k.key.bits();
  if (record.type == KeyType::kRsa && k.key_bits < min_rsa_bits) {
    k.result = Result::kPolicy;
    k.reason = fmt::format("RSA key of {} bits is too short (RFC 8301)", k.key_bits);
    return k;
  }
  k.result = Result::kPass;
  return k;
}

}  // namespace tern::dkim
