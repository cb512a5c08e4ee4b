#include "dkim/signature.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "core/ascii.h"
#include "core/base64.h"

namespace tern::dkim {
namespace {

// A decimal number; values too large for T saturate (RFC 6376 3.5 allows
// treating overlong t=/x= as infinite, and an l= that large can never fit a
// body). Returns false for anything but 1*DIGIT.
template <typename T>
bool parse_number(std::string_view s, T* out) {
  if (s.empty()) return false;
  T v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const T d = static_cast<T>(c - '0');
    v = v > (std::numeric_limits<T>::max() - d) / 10 ? std::numeric_limits<T>::max() : v * 10 + d;
  }
  *out = v;
  return true;
}

Status parse_canon(std::string_view c, Canon* header, Canon* body) {
  const size_t slash = c.find('/');
  const std::string_view h = c.substr(0, slash);
  const std::string_view b = slash == std::string_view::npos ? "simple" : c.substr(slash + 1);
  auto one = [](std::string_view s, Canon* out) {
    if (s == "simple") {
      *out = Canon::kSimple;
    } else if (s == "relaxed") {
      *out = Canon::kRelaxed;
    } else {
      return false;
    }
    return true;
  };
  if (!one(h, header) || !one(b, body)) {
    return Status::Permanent(fmt::format("unknown canonicalization c={}", c));
  }
  return Status::Ok();
}

Status base64_tag(const Tag& t, std::string* out) {
  std::optional<std::string> v = base64_decode(strip_fws(t.value));
  if (!v) return Status::Permanent(fmt::format("{}= is not valid base64", t.name));
  *out = std::move(*v);
  return Status::Ok();
}

}  // namespace

std::string Signature::key_query() const { return ascii_lower(selector + "._domainkey." + domain); }

std::string_view field_value(const HeaderField& field) {
  std::string_view v(field.raw);
  const size_t colon = v.find(':');
  v.remove_prefix(colon == std::string_view::npos ? v.size() : colon + 1);
  if (v.size() >= 2 && v.substr(v.size() - 2) == "\r\n") v.remove_suffix(2);
  return v;
}

std::string with_b_emptied(const HeaderField& field) {
  // The tags are read again to find where the value sits.
  TagList tags;
  parse_tag_list(field_value(field), &tags);
  std::string raw = field.raw;
  if (const Tag* b = tags.find("b")) {
    const size_t offset = field.raw.find(':') + 1;
    raw.erase(offset + b->value_begin, b->value_end - b->value_begin);
  }
  return raw;
}

std::string header_hash_input(const std::vector<HeaderField>& fields, size_t index,
                              const Signature& sig) {
  std::string data;
  for (const HeaderField* h : select_fields(fields, sig.headers, index)) {
    data += canonicalize_header(sig.header_canon, h->raw);
  }
  // The signature's own field, b= emptied.
  std::string canonical = canonicalize_header(sig.header_canon, with_b_emptied(fields[index]));
  if (canonical.size() >= 2 && canonical.compare(canonical.size() - 2, 2, "\r\n") == 0) {
    canonical.resize(canonical.size() - 2);
  }
  return data + canonical;
}

bool is_same_or_subdomain(std::string_view name, std::string_view parent) {
  if (name.size() < parent.size()) return false;
  const std::string_view tail = name.substr(name.size() - parent.size());
  if (!equals_ignore_case(tail, parent)) return false;
  return name.size() == parent.size() || name[name.size() - parent.size() - 1] == '.';
}

int parse_instance(std::string_view text) {
  int v = 0;
  if (text.empty() || text.size() > 2 || !parse_number(text, &v)) return 0;
  return v >= 1 && v <= 50 ? v : 0;
}

Status parse_signature(const TagList& tags, Signature* out, SignatureKind kind) {
  const bool arc = kind == SignatureKind::kArcMessage;
  Signature& s = *out;
  auto text = [&tags](std::string_view name) {
    const Tag* t = tags.find(name);
    return t ? std::string(t->value) : std::string();
  };
  // What a report names, first, so that it is there whatever fails below.
  s.version = text("v");
  s.algorithm_text = text("a");
  s.domain = text("d");
  s.selector = text("s");
  if (const Tag* b = tags.find("b")) s.b_text = strip_fws(b->value);

  if (arc) {
    const Tag* i = tags.find("i");
    if (!i) return Status::Permanent("missing required tag i=");
    s.instance = parse_instance(i->value);
    if (s.instance == 0) return Status::Permanent(fmt::format("bad instance i={}", i->value));
  } else {
    if (!tags.find("v")) return Status::Permanent("missing required tag v=");
    if (s.version != "1")
      return Status::Permanent(fmt::format("unsupported version v={}", s.version));
  }
  for (const char* required : {"a", "b", "bh", "d", "h", "s"}) {
    if (!tags.find(required))
      return Status::Permanent(fmt::format("missing required tag {}=", required));
  }
  if (s.algorithm_text == "rsa-sha256") {
    s.algorithm = Algorithm::kRsaSha256;
  } else if (s.algorithm_text == "ed25519-sha256") {
    s.algorithm = Algorithm::kEd25519Sha256;
  } else if (s.algorithm_text == "rsa-sha1") {
    return Status::Permanent("rsa-sha1 is not accepted (RFC 8301)");
  } else {
    return Status::Permanent(fmt::format("unsupported algorithm a={}", s.algorithm_text));
  }
  if (Status st = base64_tag(*tags.find("b"), &s.signature); !st.ok()) return st;
  if (s.signature.empty()) return Status::Permanent("empty signature b=");
  if (Status st = base64_tag(*tags.find("bh"), &s.body_hash); !st.ok()) return st;
  if (s.body_hash.size() != 32) return Status::Permanent("bh= is not a SHA-256 hash");
  if (const Tag* c = tags.find("c")) {
    if (Status st = parse_canon(c->value, &s.header_canon, &s.body_canon); !st.ok()) return st;
  }
  if (!valid_domain(s.domain, 2))
    return Status::Permanent(fmt::format("bad domain d={}", s.domain));
  if (!valid_domain(s.selector, 1)) {
    return Status::Permanent(fmt::format("bad selector s={}", s.selector));
  }

  s.headers = split_colon_list(tags.find("h")->value);
  for (const std::string& h : s.headers) {
    if (h.empty()) return Status::Permanent("empty header field name in h=");
  }
  if (std::none_of(s.headers.begin(), s.headers.end(),
                   [](const std::string& h) { return equals_ignore_case(h, "from"); })) {
    return Status::Permanent("From is not signed (h= lacks from)");
  }
  if (arc && std::any_of(s.headers.begin(), s.headers.end(),
                         [](const std::string& h) { return equals_ignore_case(h, "arc-seal"); })) {
    return Status::Permanent("h= names ARC-Seal (RFC 8617 4.1.2)");
  }

  // i=: [local-part] "@" domain, the domain d= or a subdomain (3.5, 6.1.1).
  // The local part may hold "@" when quoted, so the last "@" counts.
  if (const Tag* i = arc ? nullptr : tags.find("i")) {
    s.identity = std::string(i->value);
    const size_t at = s.identity.rfind('@');
    if (at == std::string::npos) return Status::Permanent("i= has no @");
    if (!is_same_or_subdomain(std::string_view(s.identity).substr(at + 1), s.domain)) {
      return Status::Permanent(fmt::format("i={} is not within d={}", s.identity, s.domain));
    }
  } else {
    s.identity = "@" + s.domain;
  }

  if (const Tag* l = tags.find("l")) {
    uint64_t v;
    if (!parse_number(l->value, &v)) return Status::Permanent("l= is not a number");
    s.body_length = v;
  }
  if (const Tag* t = tags.find("t")) {
    int64_t v;
    if (!parse_number(t->value, &v)) return Status::Permanent("t= is not a number");
    s.timestamp = v;
  }
  if (const Tag* x = tags.find("x")) {
    int64_t v;
    if (!parse_number(x->value, &v)) return Status::Permanent("x= is not a number");
    s.expiration = v;
    // 3.5: x= MUST be greater than t= when both are present.
    if (s.timestamp && *s.expiration <= *s.timestamp) {
      return Status::Permanent("x= is not after t=");
    }
  }
  if (const Tag* q = tags.find("q")) {
    const std::vector<std::string> methods = split_colon_list(q->value);
    if (std::find(methods.begin(), methods.end(), "dns/txt") == methods.end()) {
      return Status::Permanent(fmt::format("unsupported query method q={}", q->value));
    }
  }
  return Status::Ok();
}

}  // namespace tern::dkim
