#include "dkim/verifier.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/ascii.h"
#include "dkim/key_check.h"
#include "dkim/keys.h"

namespace tern::dkim {

struct Verifier::Entry {
  SignatureResult result;
  bool decided = false;  // `result` is final; no key needed
  Signature sig;
  std::string header_data;  // the header hash input (3.7 step 2)
  size_t hash = 0;          // index into hashes_
  // Set by finish() when the body hash did not match (the reason); only
  // reported once the key checks out (RFC 6376 6.1.2 before 6.1.3).
  std::string body_failure;
};

namespace {

void decide(SignatureResult* r, Result result, std::string reason,
            Failure failure = Failure::kNone) {
  r->result = result;
  r->reason = std::move(reason);
  r->failure = failure;
}

}  // namespace

const char* result_name(Result r) {
  switch (r) {
    case Result::kPass:
      return "pass";
    case Result::kFail:
      return "fail";
    case Result::kNeutral:
      return "neutral";
    case Result::kPolicy:
      return "policy";
    case Result::kTempError:
      return "temperror";
    case Result::kPermError:
      return "permerror";
  }
  return "neutral";
}

KeyAnswer KeyAnswer::found(std::vector<std::string> records) {
  KeyAnswer a;
  a.status = Status::kFound;
  a.records = std::move(records);
  return a;
}

KeyAnswer KeyAnswer::not_found(std::string error) {
  KeyAnswer a;
  a.status = Status::kNotFound;
  a.error = std::move(error);
  return a;
}

KeyAnswer KeyAnswer::temp_fail(std::string error) {
  KeyAnswer a;
  a.status = Status::kTempFail;
  a.error = std::move(error);
  return a;
}

Verifier::Verifier(VerifyOptions options) : options_(options), splitter_(options.max_header) {}

Verifier::~Verifier() = default;

void Verifier::write(std::string_view chunk) {
  const std::string_view body = splitter_.write(chunk);
  if (splitter_.in_body() && !headers_done_) start_body();
  if (!body.empty()) {
    for (auto& h : hashes_) h->write(body);
  }
}

// The header section is complete: read every signature, decide what can be
// decided without the body or a key, and set up one body hash per distinct
// (body canonicalisation, l=).
void Verifier::start_body() {
  headers_done_ = true;
  if (splitter_.overflow()) return;
  const std::vector<HeaderField>& fields = splitter_.fields();
  std::vector<std::pair<Canon, std::optional<uint64_t>>> hash_keys;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (!fields[i].is(kSignatureField)) continue;
    Entry e;
    SignatureResult& r = e.result;
    if (entries_.size() >= options_.max_signatures) {
      decide(&r, Result::kPolicy,
             fmt::format("not checked: more than {} signatures", options_.max_signatures));
      e.decided = true;
      entries_.push_back(std::move(e));
      continue;
    }
    TagList tags;
    Status st = parse_tag_list(field_value(fields[i]), &tags);
    if (st.ok()) st = parse_signature(tags, &e.sig);
    r.domain = e.sig.domain;
    r.selector = e.sig.selector;
    r.algorithm = e.sig.algorithm_text;
    r.identity = e.sig.identity;
    r.b = e.sig.b_text;
    r.body_length = e.sig.body_length;
    if (!st.ok()) {
      // rsa-sha1 is understood and refused (RFC 8301): a policy matter.
      const bool sha1 = e.sig.algorithm_text == "rsa-sha1";
      decide(&r, sha1 ? Result::kPolicy : Result::kNeutral, st.message());
      e.decided = true;
      entries_.push_back(std::move(e));
      continue;
    }
    // x= may saturate at INT64_MAX: the skew goes on the side of `now`.
    if (e.sig.expiration && options_.now - options_.clock_skew > *e.sig.expiration) {
      decide(&r, Result::kPolicy, fmt::format("signature expired (x={})", *e.sig.expiration));
      e.decided = true;
      entries_.push_back(std::move(e));
      continue;
    }
    e.header_data = header_hash_input(fields, i, e.sig);
    const std::pair<Canon, std::optional<uint64_t>> key{e.sig.body_canon, e.sig.body_length};
    size_t h = 0;
    while (h < hash_keys.size() && hash_keys[h] != key) ++h;
    if (h == hash_keys.size()) {
      hash_keys.push_back(key);
      hashes_.push_back(std::make_unique<BodyHash>(key.first, key.second));
    }
    e.hash = h;
    entries_.push_back(std::move(e));
  }
}

void Verifier::finish() {
  if (!headers_done_) {
    splitter_.finish();
    start_body();
  }
  std::vector<std::string> digests;
  for (auto& h : hashes_) digests.push_back(h->finish());
  for (Entry& e : entries_) {
    if (e.decided) continue;
    const BodyHash& h = *hashes_[e.hash];
    SignatureResult& r = e.result;
    if (e.sig.body_length && h.canonical_length() < *e.sig.body_length) {
      e.body_failure = fmt::format("l={} is larger than the body ({} octets)", *e.sig.body_length,
                                   h.canonical_length());
    } else if (digests[e.hash] != e.sig.body_hash) {
      e.body_failure = "body hash did not verify";
    } else if (e.sig.body_length) {
      r.unsigned_octets = h.canonical_length() - *e.sig.body_length;
    }
  }
}

std::vector<std::string> Verifier::key_queries() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_) {
    if (e.decided) continue;
    const std::string q = e.sig.key_query();
    if (keys_.count(q) == 0 && std::find(out.begin(), out.end(), q) == out.end()) out.push_back(q);
  }
  return out;
}

void Verifier::add_key(const std::string& query, KeyAnswer answer) {
  keys_[ascii_lower(query)] = std::move(answer);
}

void Verifier::check_key(const Entry& e, const KeyAnswer& answer, SignatureResult* r) const {
  const std::string_view i_domain =
      std::string_view(e.sig.identity).substr(e.sig.identity.rfind('@') + 1);
  const KeyCheck k = dkim::check_key(answer, e.sig.key_query(), e.sig.algorithm, e.sig.domain,
                                     i_domain, options_.min_rsa_bits);
  r->testing = k.testing;
  r->key_bits = k.key_bits;
  if (k.result != Result::kPass) return decide(r, k.result, k.reason);
  const PublicKey& pub = k.key;
  // Only with a usable key is a body that does not match a fail (6.1.3).
  if (!e.body_failure.empty()) return decide(r, Result::kFail, e.body_failure, Failure::kBodyHash);
  if (!pub.verify(e.header_data, e.sig.signature)) {
    return decide(r, Result::kFail, "signature did not verify", Failure::kSignature);
  }
  if (r->unsigned_octets > 0 && !options_.accept_partial_body) {
    return decide(r, Result::kPolicy,
                  fmt::format("{} body octets beyond l= are not signed", r->unsigned_octets));
  }
  decide(r, Result::kPass, e.sig.body_length ? "l= present" : "");
}

std::vector<SignatureResult> Verifier::results() const {
  std::vector<SignatureResult> out;
  if (splitter_.overflow()) {
    SignatureResult r;
    decide(&r, Result::kPermError,
           fmt::format("header section longer than {} octets", options_.max_header));
    out.push_back(std::move(r));
    return out;
  }
  for (const Entry& e : entries_) {
    SignatureResult r = e.result;
    if (!e.decided) {
      const auto it = keys_.find(e.sig.key_query());
      if (it == keys_.end()) {
        decide(&r, Result::kTempError, "key not looked up");
      } else {
        check_key(e, it->second, &r);
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<SignatureResult> verify(std::string_view message, const KeyLookupFn& lookup,
                                    const VerifyOptions& options) {
  Verifier v(options);
  v.write(message);
  v.finish();
  for (const std::string& q : v.key_queries()) v.add_key(q, lookup(q));
  return v.results();
}

}  // namespace tern::dkim
