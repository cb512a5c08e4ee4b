#include "dkim/signer.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/ascii.h"
#include "core/base64.h"
#include "dkim/folder.h"
#include "dkim/signature.h"

namespace tern::dkim {
const std::vector<std::string>& default_signed_headers() {
  static const std::vector<std::string> kHeaders = {"from",
                                                    "reply-to",
                                                    "subject",
                                                    "date",
                                                    "to",
                                                    "cc",
                                                    "sender",
                                                    "message-id",
                                                    "in-reply-to",
                                                    "references",
                                                    "resent-date",
                                                    "resent-from",
                                                    "resent-sender",
                                                    "resent-to",
                                                    "resent-cc",
                                                    "resent-message-id",
                                                    "mime-version",
                                                    "content-type",
                                                    "content-transfer-encoding",
                                                    "content-id",
                                                    "content-description",
                                                    "content-disposition",
                                                    "list-id",
                                                    "list-help",
                                                    "list-unsubscribe",
                                                    "list-unsubscribe-post",
                                                    "list-subscribe",
                                                    "list-post",
                                                    "list-owner",
                                                    "list-archive"};
  return kHeaders;
}

Signer::Signer(PrivateKey key, SignOptions options)
    : key_(std::move(key)),
      options_(std::move(options)),
      splitter_(options_.max_header),
      body_(std::make_unique<BodyHash>(options_.body_canon, std::nullopt)) {}

void Signer::write(std::string_view chunk) {
  const std::string_view body = splitter_.write(chunk);
  if (!body.empty()) body_->write(body);
}

std::vector<std::string> Signer::signed_names() const {
  std::vector<std::string> names =
      options_.headers.empty() ? default_signed_headers() : options_.headers;
  for (std::string& n : names) n = ascii_lower(n);
  if (std::find(names.begin(), names.end(), "from") == names.end())
    names.insert(names.begin(), "from");
  const auto& fields = splitter_.fields();
  const auto occurrences = [&](std::string_view name) {
    return static_cast<size_t>(std::count_if(fields.begin(), fields.end(),
                                             [&](const HeaderField& f) { return f.is(name); }));
  };
  const auto in = [](const std::vector<std::string>& list, std::string_view name) {
    return std::any_of(list.begin(), list.end(),
                       [&](const std::string& o) { return equals_ignore_case(o, name); });
  };
  const bool group_present =
      std::any_of(options_.oversign_group.begin(), options_.oversign_group.end(),
                  [&](const std::string& g) { return occurrences(ascii_lower(g)) > 0; });
  std::vector<std::string> out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (std::find(names.begin(), names.begin() + i, names[i]) != names.begin() + i) continue;
    size_t count = occurrences(names[i]);
    if (in(options_.oversign, names[i])) ++count;
    if (group_present && in(options_.oversign_group, names[i])) ++count;
    out.insert(out.end(), count, names[i]);
  }
  return out;
}

Status Signer::finish(std::string* field) {
  splitter_.finish();
  const std::string bh = body_->finish();
  if (splitter_.overflow()) {
    return Status::Permanent(
        fmt::format("header section longer than {} octets", options_.max_header));
  }
  const SignOptions& o = options_;
  if (!valid_domain(o.domain, 2))
    return Status::Permanent(fmt::format("bad domain '{}'", o.domain));
  if (!valid_domain(o.selector, 1)) {
    return Status::Permanent(fmt::format("bad selector '{}'", o.selector));
  }
  if (!o.identity.empty()) {
    const size_t at = o.identity.rfind('@');
    if (at == std::string::npos ||
        !is_same_or_subdomain(std::string_view(o.identity).substr(at + 1), o.domain)) {
      return Status::Permanent(fmt::format("identity '{}' is not within {}", o.identity, o.domain));
    }
  }
  if (o.timestamp && o.expiration && *o.expiration <= *o.timestamp) {
    return Status::Permanent("expiration is not after the timestamp");  // RFC 6376 3.5 x=
  }
  const std::vector<HeaderField>& fields = splitter_.fields();
  if (std::none_of(fields.begin(), fields.end(),
                   [](const HeaderField& f) { return f.is("from"); })) {
    return Status::Permanent("the message has no From header field");
  }
  const std::vector<std::string> names = signed_names();

  // The field without its signature: b= comes last and empty (3.7 step 2).
  // An ARC-Message-Signature has i= (the instance) instead of v= and an
  // identity (RFC 8617 4.1.2).
  const bool ams = o.arc_instance > 0;
  Folder f(std::string(ams ? "ARC-Message-Signature" : kSignatureField) + ":");
  f.add(ams ? fmt::format("i={};", o.arc_instance) : std::string("v=1;"));
  f.add(fmt::format("a={};", algorithm_name(algorithm_for(key_.type()))));
  f.add(fmt::format("c={}/{};", canon_name(o.header_canon), canon_name(o.body_canon)));
  f.add(fmt::format("d={};", o.domain));
  f.add(fmt::format("s={};", o.selector));
  if (!o.identity.empty() && !ams) f.add(fmt::format("i={};", o.identity));
  if (o.timestamp) f.add(fmt::format("t={};", *o.timestamp));
  if (o.expiration) f.add(fmt::format("x={};", *o.expiration));
  if (o.body_length) f.add(fmt::format("l={};", body_->hashed_length()));
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string token = (i == 0 ? "h=" : ":") + names[i] + (i + 1 == names.size() ? ";" : "");
    f.add(token, /*glued=*/i > 0);
  }
  f.add(fmt::format("bh={};", base64_encode(bh)));
  f.add("b=");

  // Header hash input (3.7): the selected fields, then this one without its
  // final CRLF.
  std::string data;
  for (const HeaderField* h : select_fields(fields, names, fields.size())) {
    data += canonicalize_header(o.header_canon, h->raw);
  }
  std::string own = canonicalize_header(o.header_canon, f.text() + "\r\n");
  own.resize(own.size() - 2);
  data += own;

  std::string sig;
  if (Status s = key_.sign(data, &sig); !s.ok()) return s;
  f.add_base64(base64_encode(sig));
  *field = f.text() + "\r\n";
  return Status::Ok();
}

}  // namespace tern::dkim
