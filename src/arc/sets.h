// ARC header fields and sets (RFC 8617 4): reading the three fields of each
// instance out of a header section, the structural checks of chain
// validation (5.2 steps 1 to 3), the ARC-Seal's tags, and what an
// ARC-Seal signs (5.1.1).
//
//   ARC-Authentication-Results: i=1; mx.example.org; spf=pass ...   (AAR, 4.1.1)
//   ARC-Message-Signature: i=1; a=rsa-sha256; d=...; h=...; bh=...; b=...  (AMS, 4.1.2)
//   ARC-Seal: i=1; cv=none; a=rsa-sha256; d=...; s=...; t=...; b=...       (AS, 4.1.3)
//
// Value types and pure functions over borrowed header fields;
// thread-compatible; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "dkim/keys.h"
#include "dkim/message.h"
#include "dkim/tag_list.h"

namespace tern::arc {

// RFC 8617 4.2.1: at most 50 ARC sets.
inline constexpr int kMaxInstance = 50;

// The cv= of an ARC-Seal (4.1.3, 5.1), also the chain's result as RFC 8601
// reports it (arc=none / pass / fail).
enum class ChainStatus { kNone, kPass, kFail };

// "none", "pass", "fail".
const char* chain_status_name(ChainStatus s);
// The status a cv= value (or an arc= result) names, ignoring ASCII case.
std::optional<ChainStatus> parse_chain_status(std::string_view text);

enum class FieldKind { kResults, kMessageSignature, kSeal };

// Which ARC field `field` is, by name (case ignored), or nullopt.
std::optional<FieldKind> arc_field_kind(const dkim::HeaderField& field);

// The instance (i=, 1..50) of an ARC field, 0 when it has none that is
// valid. The AAR starts with "i=N;" before its authserv-id (4.1.1); the AMS
// and AS carry i= in their tag lists.
int field_instance(const dkim::HeaderField& field, FieldKind kind);

// One ARC set: the index of each of its fields in the header section.
struct ArcSet {
  int instance = 0;
  size_t results = 0;  // ARC-Authentication-Results
  size_t message = 0;  // ARC-Message-Signature
  size_t seal = 0;     // ARC-Seal
};

// The ARC sets of a header section, ordered by instance (sets[k] is
// instance k + 1). Empty when there is no ARC field. Permanent errors (the
// chain fails, 5.2 step 3): an ARC field without a valid i=; two fields of
// one kind in an instance; an instance missing a field; instances that are
// not exactly 1..N; more than 50.
Status collect_sets(const std::vector<dkim::HeaderField>& fields, std::vector<ArcSet>* out);

// The tags of an ARC-Seal (4.1.3).
struct Seal {
  int instance = 0;
  ChainStatus cv = ChainStatus::kNone;
  dkim::Algorithm algorithm = dkim::Algorithm::kRsaSha256;
  std::string algorithm_text;  // a=
  std::string domain;          // d=
  std::string selector;        // s=
  std::string signature;       // b= decoded
  std::optional<int64_t> timestamp;

  // "<s>._domainkey.<d>" in lower case, as for DKIM (4.1.3).
  std::string key_query() const;
};

// Reads an ARC-Seal's tags. Permanent errors: a required tag (i, a, b, cv,
// d, s) missing; h= present (4.1.3 forbids it); a bad i=, cv=, a=, d=, s=,
// b= or t=.
Status parse_seal(const dkim::TagList& tags, Seal* out);

// What the ARC-Seal of sets[k] signs (5.1.1): the fields of every set up to
// and including k, in instance order and within a set AAR, AMS, AS, each
// with relaxed header canonicalisation; the last one (sets[k]'s AS) with
// its b= value emptied and without its final CRLF. With `own_set_only`
// (a seal that says cv=fail covers only its own set, 5.1.2), the sets
// before k are left out.
std::string seal_hash_input(const std::vector<dkim::HeaderField>& fields,
                            const std::vector<ArcSet>& sets, size_t k, bool own_set_only);

}  // namespace tern::arc
