#include "dkim/key_record.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "core/base64.h"
#include "dkim/tag_list.h"

namespace tern::dkim {

bool KeyRecord::allows_hash(std::string_view hash) const {
  return hashes.empty() || std::find(hashes.begin(), hashes.end(), hash) != hashes.end();
}

Status parse_key_record(std::string_view text, KeyRecord* out) {
  TagList tags;
  if (Status s = parse_tag_list(text, &tags); !s.ok()) {
    return Status::Permanent("key record: " + s.message());
  }
  KeyRecord r;
  // v=: optional, but when present it MUST be first and "DKIM1"; a record
  // with another version MUST be discarded (3.6.1).
  if (const Tag* v = tags.find("v")) {
    if (v != &tags.tags.front()) return Status::Permanent("key record: v= is not the first tag");
    if (v->value != "DKIM1") {
      return Status::Permanent(fmt::format("key record: unknown version v={}", v->value));
    }
  }
  if (const Tag* k = tags.find("k")) {
    if (k->value == "rsa") {
      r.type = KeyType::kRsa;
    } else if (k->value == "ed25519") {  // RFC 8463 4.2
      r.type = KeyType::kEd25519;
    } else {
      return Status::Permanent(fmt::format("key record: unknown key type k={}", k->value));
    }
  }
  if (const Tag* h = tags.find("h")) r.hashes = split_colon_list(h->value);
  if (const Tag* s = tags.find("s")) {
    const std::vector<std::string> services = split_colon_list(s->value);
    if (std::find_if(services.begin(), services.end(), [](const std::string& x) {
          return x == "*" || x == "email";
        }) == services.end()) {
      return Status::Permanent(fmt::format("key record: not for email (s={})", s->value));
    }
  }
  if (const Tag* t = tags.find("t")) {
    for (const std::string& flag : split_colon_list(t->value)) {
      if (flag == "y") r.testing = true;
      if (flag == "s") r.strict = true;
    }
  }
  const Tag* p = tags.find("p");
  if (p == nullptr) return Status::Permanent("key record: no p= tag");
  std::optional<std::string> key = base64_decode(strip_fws(p->value));
  if (!key) return Status::Permanent("key record: p= is not valid base64");
  r.public_key = std::move(*key);
  *out = std::move(r);
  return Status::Ok();
}

}  // namespace tern::dkim
