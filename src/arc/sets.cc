#include "arc/sets.h"

#include <fmt/format.h>

#include <map>

#include "core/ascii.h"
#include "core/base64.h"
#include "dkim/canon.h"
#include "dkim/signature.h"

namespace tern::arc {
const char* chain_status_name(ChainStatus s) {
  switch (s) {
    case ChainStatus::kNone:
      return "none";
    case ChainStatus::kPass:
      return "pass";
    case ChainStatus::kFail:
      return "fail";
  }
  return "none";
}

std::optional<ChainStatus> parse_chain_status(std::string_view text) {
  if (dkim::equals_ignore_case(text, "none")) return ChainStatus::kNone;
  if (dkim::equals_ignore_case(text, "pass")) return ChainStatus::kPass;
  if (dkim::equals_ignore_case(text, "fail")) return ChainStatus::kFail;
  return std::nullopt;
}

std::optional<FieldKind> arc_field_kind(const dkim::HeaderField& field) {
  if (field.is("arc-authentication-results")) return FieldKind::kResults;
  if (field.is("arc-message-signature")) return FieldKind::kMessageSignature;
  if (field.is("arc-seal")) return FieldKind::kSeal;
  return std::nullopt;
}

int field_instance(const dkim::HeaderField& field, FieldKind kind) {
  std::string_view value = dkim::field_value(field);
  if (kind == FieldKind::kResults) {
    // arc-info = instance ";" authres-payload (4.1.1): only the part
    // before the first ";" is a tag list.
    const size_t semi = value.find(';');
    if (semi == std::string_view::npos) return 0;
    value = value.substr(0, semi);
  }
  dkim::TagList tags;
  if (!dkim::parse_tag_list(value, &tags).ok()) return 0;
  const dkim::Tag* i = tags.find("i");
  return i ? dkim::parse_instance(i->value) : 0;
}

Status collect_sets(const std::vector<dkim::HeaderField>& fields, std::vector<ArcSet>* out) {
  out->clear();
  struct Seen {
    std::optional<size_t> at[3];
  };
  std::map<int, Seen> by_instance;
  static const char* kNames[] = {"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"};
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::optional<FieldKind> kind = arc_field_kind(fields[i]);
    if (!kind) continue;
    const int k = static_cast<int>(*kind);
    const int instance = field_instance(fields[i], *kind);
    if (instance == 0) return Status::Permanent(fmt::format("{} without a valid i=", kNames[k]));
    std::optional<size_t>& slot = by_instance[instance].at[k];
    if (slot) return Status::Permanent(fmt::format("two {} fields with i={}", kNames[k], instance));
    slot = i;
  }
  int expected = 1;
  for (const auto& [instance, seen] : by_instance) {
    if (instance != expected) return Status::Permanent(fmt::format("no ARC set i={}", expected));
    for (int k = 0; k < 3; ++k) {
      if (!seen.at[k]) {
        return Status::Permanent(fmt::format("ARC set i={} has no {}", instance, kNames[k]));
      }
    }
    out->push_back(ArcSet{instance, *seen.at[0], *seen.at[1], *seen.at[2]});
    ++expected;
  }
  return Status::Ok();
}

std::string Seal::key_query() const { return ascii_lower(selector + "._domainkey." + domain); }

Status parse_seal(const dkim::TagList& tags, Seal* out) {
  Seal& s = *out;
  auto text = [&tags](std::string_view name) {
    const dkim::Tag* t = tags.find(name);
    return t ? std::string(t->value) : std::string();
  };
  s.algorithm_text = text("a");
  s.domain = text("d");
  s.selector = text("s");
  for (const char* required : {"i", "a", "b", "cv", "d", "s"}) {
    if (!tags.find(required)) {
      return Status::Permanent(fmt::format("ARC-Seal: missing required tag {}=", required));
    }
  }
  if (tags.find("h")) return Status::Permanent("ARC-Seal: h= is not allowed (RFC 8617 4.1.3)");
  s.instance = dkim::parse_instance(text("i"));
  if (s.instance == 0) return Status::Permanent(fmt::format("ARC-Seal: bad i={}", text("i")));
  const std::optional<ChainStatus> cv = parse_chain_status(text("cv"));
  if (!cv) return Status::Permanent(fmt::format("ARC-Seal: bad cv={}", text("cv")));
  s.cv = *cv;
  if (s.algorithm_text == "rsa-sha256") {
    s.algorithm = dkim::Algorithm::kRsaSha256;
  } else if (s.algorithm_text == "ed25519-sha256") {
    s.algorithm = dkim::Algorithm::kEd25519Sha256;
  } else {
    return Status::Permanent(fmt::format("ARC-Seal: unsupported algorithm a={}", s.algorithm_text));
  }
  if (!dkim::valid_domain(s.domain, 2)) {
    return Status::Permanent(fmt::format("ARC-Seal: bad domain d={}", s.domain));
  }
  if (!dkim::valid_domain(s.selector, 1)) {
    return Status::Permanent(fmt::format("ARC-Seal: bad selector s={}", s.selector));
  }
  std::optional<std::string> b = base64_decode(dkim::strip_fws(tags.find("b")->value));
  if (!b || b->empty()) return Status::Permanent("ARC-Seal: b= is not a base64 signature");
  s.signature = std::move(*b);
  if (const dkim::Tag* t = tags.find("t")) {
    int64_t v = 0;
    for (char c : t->value) {
      if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10) {
        return Status::Permanent("ARC-Seal: t= is not a number");
      }
      v = v * 10 + (c - '0');
    }
    if (t->value.empty()) return Status::Permanent("ARC-Seal: t= is not a number");
    s.timestamp = v;
  }
  return Status::Ok();
}

std::string seal_hash_input(const std::vector<dkim::HeaderField>& fields,
                            const std::vector<ArcSet>& sets, size_t k, bool own_set_only) {
  using dkim::Canon;
  std::string data;
  for (size_t j = own_set_only ? k : 0; j <= k; ++j) {
    data += dkim::canonicalize_header(Canon::kRelaxed, fields[sets[j].results].raw);
    data += dkim::canonicalize_header(Canon::kRelaxed, fields[sets[j].message].raw);
    if (j < k) data += dkim::canonicalize_header(Canon::kRelaxed, fields[sets[j].seal].raw);
  }
  std::string own =
      dkim::canonicalize_header(Canon::kRelaxed, dkim::with_b_emptied(fields[sets[k].seal]));
  if (own.size() >= 2 && own.compare(own.size() - 2, 2, "\r\n") == 0) own.resize(own.size() - 2);
  return data + own;
}

}  // namespace tern::arc
