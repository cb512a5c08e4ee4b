#include "arc/sealer.h"

#include <fmt/format.h>

#include "authres/header.h"
#include "core/base64.h"
#include "dkim/folder.h"
#include "dkim/signature.h"

namespace tern::arc {
namespace {

// The index of our topmost Authentication-Results field, or fields.size().
size_t our_field(const std::vector<dkim::HeaderField>& fields, std::string_view authserv_id) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (!fields[i].is("authentication-results")) continue;
    const std::optional<std::string> id = authres::authserv_id_of(dkim::field_value(fields[i]));
    if (id && dkim::equals_ignore_case(*id, authserv_id)) return i;
  }
  return fields.size();
}

// Splits an Authentication-Results value at its top-level ";" (outside
// comments and quoted strings), unfolded, each part trimmed.
std::vector<std::string> top_level_parts(std::string_view value) {
  std::vector<std::string> parts(1);
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\r' || c == '\n') continue;
    if (quoted) {
      if (c == '\\' && i + 1 < value.size()) {
        parts.back() += c;
        parts.back() += value[++i];
        continue;
      }
      if (c == '"') quoted = false;
    } else if (depth > 0) {
      if (c == '\\' && i + 1 < value.size()) {
        parts.back() += c;
        parts.back() += value[++i];
        continue;
      }
      if (c == '(') ++depth;
      if (c == ')') --depth;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '(') {
      depth = 1;
    } else if (c == ';') {
      parts.emplace_back();
      continue;
    }
    parts.back() += c == '\t' ? ' ' : c;
  }
  for (std::string& p : parts) {
    const size_t b = p.find_first_not_of(' ');
    p = b == std::string::npos ? "" : p.substr(b, p.find_last_not_of(' ') - b + 1);
  }
  return parts;
}

// `text` without comments, for reading a method and its result.
std::string without_comments(std::string_view text) {
  std::string out;
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (depth > 0 && c == '\\') {
      ++i;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (depth == 0) {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> our_results(const std::vector<dkim::HeaderField>& fields,
                                       std::string_view authserv_id) {
  const size_t i = our_field(fields, authserv_id);
  if (i == fields.size()) return std::nullopt;
  std::vector<std::string> parts = top_level_parts(dkim::field_value(fields[i]));
  std::string payload;
  for (size_t p = 1; p < parts.size(); ++p) {
    if (parts[p].empty()) continue;
    payload += (payload.empty() ? "" : "; ") + parts[p];
  }
  return payload;
}

std::string method_result(std::string_view payload, std::string_view method) {
  for (const std::string& part : top_level_parts(payload)) {
    const std::string text = without_comments(part);
    const size_t eq = text.find('=');
    if (eq == std::string::npos) continue;
    // method [ "/" version ] (RFC 8601 2.2), CFWS around each.
    std::string_view name = std::string_view(text).substr(0, eq);
    name = name.substr(0, name.find('/'));
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    if (!dkim::equals_ignore_case(name, method)) continue;
    std::string_view rest = std::string_view(text).substr(eq + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    return std::string(rest.substr(0, rest.find(' ')));
  }
  return "";
}

Sealer::Sealer(dkim::PrivateKey key, SealOptions options)
    : key_(std::move(key)), options_(std::move(options)), splitter_(options_.max_header) {}

Sealer::~Sealer() = default;

void Sealer::write(std::string_view chunk) {
  if (decided_) {
    if (ams_) ams_->write(chunk);
    return;
  }
  held_.append(chunk);
  splitter_.write(chunk);
  if (splitter_.in_body() || splitter_.overflow()) decide();
}

void Sealer::decide() {
  decided_ = true;
  std::string held = std::move(held_);
  held_.clear();
  if (splitter_.overflow()) {
    skip_ = Status::Permanent(fmt::format("header section over {} octets", options_.max_header));
    return;
  }
  const std::vector<dkim::HeaderField>& fields = splitter_.fields();
  if (Status s = collect_sets(fields, &sets_); !s.ok()) {
    skip_ = Status::Permanent("malformed ARC fields: " + s.message());
    return;
  }
  const size_t n = sets_.size();
  if (n >= static_cast<size_t>(kMaxInstance)) {
    skip_ = Status::Permanent(fmt::format("the message has {} ARC sets already", n));
    return;
  }
  if (n > 0) {
    dkim::TagList tags;
    Seal last;
    Status s = dkim::parse_tag_list(dkim::field_value(fields[sets_.back().seal]), &tags);
    if (s.ok()) s = parse_seal(tags, &last);
    if (s.ok() && last.cv == ChainStatus::kFail) {
      skip_ = Status::Permanent(fmt::format("ARC-Seal i={} says cv=fail: the chain ended", n));
      return;
    }
  }
  const size_t ours = our_field(fields, options_.authserv_id);
  const std::optional<std::string> payload = our_results(fields, options_.authserv_id);
  if (n == 0) {
    cv_ = ChainStatus::kNone;
  } else {
    const std::string arc = payload ? method_result(*payload, "arc") : "";
    const std::optional<ChainStatus> judged = parse_chain_status(arc);
    if (!judged || *judged == ChainStatus::kNone) {
      skip_ = Status::Permanent("the message has ARC sets but no arc= result of ours");
      return;
    }
    cv_ = *judged;
  }
  instance_ = static_cast<int>(n) + 1;

  // The AAR: our Authentication-Results value as it is (folded as we wrote
  // it), after "i=N;" (4.1.1).
  if (ours < fields.size()) {
    std::string_view value = dkim::field_value(fields[ours]);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    aar_ = fmt::format("ARC-Authentication-Results: i={}; {}\r\n", instance_, value);
  } else {
    aar_ = fmt::format("ARC-Authentication-Results: i={}; {}; none\r\n", instance_,
                       options_.authserv_id);
  }

  dkim::SignOptions o;
  o.domain = options_.domain;
  o.selector = options_.selector;
  o.headers = dkim::default_signed_headers();
  o.headers.push_back("dkim-signature");
  o.timestamp = options_.timestamp;
  o.max_header = options_.max_header;
  o.arc_instance = instance_;
  ams_ = std::make_unique<dkim::Signer>(key_, std::move(o));
  ams_->write(held);
}

Status Sealer::finish(std::string* out) {
  out->clear();
  if (!decided_) {
    splitter_.finish();
    decide();
  }
  if (!skip_.ok()) return skip_;
  std::string ams;
  if (Status s = ams_->finish(&ams); !s.ok()) return s;

  // The seal without its signature: b= last and empty, as for DKIM.
  dkim::Folder f("ARC-Seal:");
  f.add(fmt::format("i={};", instance_));
  f.add(fmt::format("cv={};", chain_status_name(cv_)));
  f.add(fmt::format("a={};", dkim::algorithm_name(dkim::algorithm_for(key_.type()))));
  f.add(fmt::format("d={};", options_.domain));
  f.add(fmt::format("s={};", options_.selector));
  f.add(fmt::format("t={};", options_.timestamp));
  f.add("b=");

  // What it signs: the sets so far and ours (5.1.1), as they will stand.
  std::vector<dkim::HeaderField> fields = splitter_.fields();
  std::vector<ArcSet> sets = sets_;
  ArcSet own{instance_, fields.size(), fields.size() + 1, fields.size() + 2};
  fields.push_back(dkim::HeaderField{aar_});
  fields.push_back(dkim::HeaderField{ams});
  fields.push_back(dkim::HeaderField{f.text() + "\r\n"});
  sets.push_back(own);
  const std::string data =
      seal_hash_input(fields, sets, sets.size() - 1, cv_ == ChainStatus::kFail);
  std::string sig;
  if (Status s = key_.sign(data, &sig); !s.ok()) return s;
  f.add_base64(base64_encode(sig));
  *out = f.text() + "\r\n" + ams + aar_;
  return Status::Ok();
}

}  // namespace tern::arc
