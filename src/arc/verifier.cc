#include "arc/verifier.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/ascii.h"
#include "dkim/key_check.h"

namespace tern::arc {
namespace {

// The AAR's payload: what follows "i=N;" (RFC 8617 4.1.1), unfolded and
// trimmed.
std::string results_payload(const dkim::HeaderField& field) {
  std::string_view v = dkim::field_value(field);
  const size_t semi = v.find(';');
  v.remove_prefix(semi == std::string_view::npos ? v.size() : semi + 1);
  std::string out;
  for (char c : v) {
    if (c == '\r' || c == '\n') continue;
    if (c == '\t') c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

ChainVerifier::ChainVerifier(ChainOptions options)
    : options_(options), splitter_(options.max_header) {}

ChainVerifier::~ChainVerifier() = default;

void ChainVerifier::write(std::string_view chunk) {
  const std::string_view body = splitter_.write(chunk);
  if (splitter_.in_body() && !headers_done_) start_body();
  if (!body.empty()) {
    for (auto& h : hashes_) h->write(body);
  }
}

// The header section is complete: find the sets, read every AMS and AS,
// and set up one body hash per distinct (canonicalisation, l=).
void ChainVerifier::start_body() {
  headers_done_ = true;
  if (splitter_.overflow()) return;
  const std::vector<dkim::HeaderField>& fields = splitter_.fields();
  structure_ = collect_sets(fields, &sets_);
  if (!structure_.ok()) return;
  std::vector<std::pair<dkim::Canon, std::optional<uint64_t>>> hash_keys;
  for (size_t k = 0; k < sets_.size(); ++k) {
    const ArcSet& set = sets_[k];
    results_.push_back(results_payload(fields[set.results]));
    Ams m;
    dkim::TagList tags;
    m.parsed = dkim::parse_tag_list(dkim::field_value(fields[set.message]), &tags);
    if (m.parsed.ok()) {
      m.parsed = dkim::parse_signature(tags, &m.sig, dkim::SignatureKind::kArcMessage);
    }
    if (m.parsed.ok()) {
      m.header_data = dkim::header_hash_input(fields, set.message, m.sig);
      const std::pair<dkim::Canon, std::optional<uint64_t>> key{m.sig.body_canon,
                                                                m.sig.body_length};
      size_t h = 0;
      while (h < hash_keys.size() && hash_keys[h] != key) ++h;
      if (h == hash_keys.size()) {
        hash_keys.push_back(key);
        hashes_.push_back(std::make_unique<dkim::BodyHash>(key.first, key.second));
      }
      m.hash = h;
    }
    ams_.push_back(std::move(m));
    As s;
    s.parsed = dkim::parse_tag_list(dkim::field_value(fields[set.seal]), &tags);
    if (s.parsed.ok()) s.parsed = parse_seal(tags, &s.seal);
    // An AS that says cv=fail signs only its own set (5.1.2).
    if (s.parsed.ok()) {
      s.header_data = seal_hash_input(fields, sets_, k, s.seal.cv == ChainStatus::kFail);
    }
    sealers_.push_back(s.seal.domain);
    as_.push_back(std::move(s));
  }
}

void ChainVerifier::finish() {
  if (!headers_done_) {
    splitter_.finish();
    start_body();
  }
  for (auto& h : hashes_) {
    digests_.push_back(h->finish());
  }
  for (Ams& m : ams_) {
    if (!m.parsed.ok()) continue;
    m.body_hash = digests_[m.hash];
    m.body_length = hashes_[m.hash]->canonical_length();
  }
}

std::vector<std::string> ChainVerifier::key_queries() const {
  std::vector<std::string> out;
  auto want = [&](const std::string& q) {
    if (keys_.count(q) == 0 && std::find(out.begin(), out.end(), q) == out.end()) out.push_back(q);
  };
  if (!structure_.ok() || sets_.empty()) return out;
  if (as_.back().parsed.ok() && as_.back().seal.cv == ChainStatus::kFail) return out;
  // The most recent AMS first, then every AS, then the older AMSs (for
  // oldest-pass): the order result() needs them in.
  for (size_t k = ams_.size(); k-- > 0;) {
    if (ams_[k].parsed.ok()) want(ams_[k].sig.key_query());
    if (k + 1 == ams_.size()) {
      for (size_t j = as_.size(); j-- > 0;) {
        if (as_[j].parsed.ok()) want(as_[j].seal.key_query());
      }
    }
  }
  return out;
}

void ChainVerifier::add_key(const std::string& query, dkim::KeyAnswer answer) {
  keys_[ascii_lower(query)] = std::move(answer);
}

bool ChainVerifier::verified(const std::string& query, dkim::Algorithm algorithm,
                             std::string_view domain, std::string_view data,
                             std::string_view signature, std::string* why, bool* temporary) const {
  const auto it = keys_.find(query);
  if (it == keys_.end()) {
    *why = fmt::format("key {} not looked up", query);
    *temporary = true;
    return false;
  }
  const dkim::KeyCheck k =
      dkim::check_key(it->second, query, algorithm, domain, domain, options_.min_rsa_bits);
  if (k.result != dkim::Result::kPass) {
    *why = k.reason;
    *temporary = k.result == dkim::Result::kTempError;
    return false;
  }
  if (!k.key.verify(data, signature)) {
    *why = "signature did not verify";
    return false;
  }
  return true;
}

bool ChainVerifier::ams_verified(size_t k, std::string* why, bool* temporary) const {
  const Ams& m = ams_[k];
  if (!m.parsed.ok()) {
    *why = m.parsed.message();
    return false;
  }
  if (m.sig.instance != sets_[k].instance) {
    *why = "i= does not match";  // unreachable: the set was found by this i=
    return false;
  }
  if (m.sig.body_length && m.body_length < *m.sig.body_length) {
    *why = fmt::format("l={} is larger than the body", *m.sig.body_length);
    return false;
  }
  bool ok = verified(m.sig.key_query(), m.sig.algorithm, m.sig.domain, m.header_data,
                     m.sig.signature, why, temporary);
  // With a usable key, the body counts (RFC 6376 6.1.2 before 6.1.3).
  if (ok && m.body_hash != m.sig.body_hash) {
    *why = "body hash did not verify";
    ok = false;
  }
  return ok;
}

ChainResult ChainVerifier::result() const {
  ChainResult r;
  r.sealers = sealers_;
  r.results = results_;
  auto fail = [&r](std::string why) {
    r.status = ChainStatus::kFail;
    r.reason = std::move(why);
    return r;
  };
  if (splitter_.overflow()) {
    return fail(fmt::format("header section longer than {} octets", options_.max_header));
  }
  if (!structure_.ok()) return fail(structure_.message());  // step 3
  if (sets_.empty()) return r;                              // step 1
  const size_t n = sets_.size();
  r.instance = static_cast<int>(n);
  // Step 2: a chain a sealer already marked as failed stays failed.
  if (as_.back().parsed.ok() && as_.back().seal.cv == ChainStatus::kFail) {
    return fail(fmt::format("ARC-Seal i={} says cv=fail", n));
  }
  // Step 3: every seal readable and its cv= right for its place.
  for (size_t k = 0; k < n; ++k) {
    const As& s = as_[k];
    if (!s.parsed.ok()) return fail(fmt::format("i={}: {}", k + 1, s.parsed.message()));
    const ChainStatus want = k == 0 ? ChainStatus::kNone : ChainStatus::kPass;
    if (s.seal.cv != want) {
      return fail(fmt::format("ARC-Seal i={} has cv={}, not {}", k + 1,
                              chain_status_name(s.seal.cv), chain_status_name(want)));
    }
  }
  // Step 4: the most recent AMS.
  std::string why;
  bool temporary = false;
  if (!ams_verified(n - 1, &why, &temporary)) {
    r.temporary = temporary;
    return fail(fmt::format("ARC-Message-Signature i={}: {}", n, why));
  }
  // Step 5: oldest-pass.
  r.oldest_pass = 0;
  for (size_t k = n - 1; k-- > 0;) {
    std::string ignored;
    bool temp = false;
    if (!ams_verified(k, &ignored, &temp)) {
      r.oldest_pass = static_cast<int>(k + 2);
      break;
    }
  }
  // Step 6: every seal, newest first.
  for (size_t k = n; k-- > 0;) {
    const Seal& s = as_[k].seal;
    if (!verified(s.key_query(), s.algorithm, s.domain, as_[k].header_data, s.signature, &why,
                  &temporary)) {
      r.temporary = temporary;
      return fail(fmt::format("ARC-Seal i={}: {}", k + 1, why));
    }
  }
  r.status = ChainStatus::kPass;
  return r;
}

ChainResult verify_chain(std::string_view message, const dkim::KeyLookupFn& lookup,
                         const ChainOptions& options) {
  ChainVerifier v(options);
  v.write(message);
  v.finish();
  for (const std::string& q : v.key_queries()) v.add_key(q, lookup(q));
  return v.result();
}

}  // namespace tern::arc
