// The inbound message filter; see authres/inbound.h for the contract.
#include "authres/inbound.h"

#include <optional>

#include "authres/header.h"
#include "core/ascii.h"
#include "tern/mailbox.h"

namespace tern::authres {
namespace {

// The field's value: after the colon, unfolded (RFC 5322 2.2.3: CRLFs
// removed; the whitespace after them stays).
std::string unfolded_value(const dkim::HeaderField& field) {
  std::string_view raw = field.raw;
  raw.remove_prefix(raw.find(':') + 1);
  std::string value;
  value.reserve(raw.size());
  for (char c : raw) {
    if (c != '\r' && c != '\n') value += c;
  }
  return value;
}

// An authserv-id as a reader would take it: without surrounding whitespace
// (possible inside a quoted-string) and trailing dots.
std::string_view comparable_id(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '.')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

InboundFilter::InboundFilter(InboundOptions options)
    : options_(std::move(options)), verifier_(options_.dkim) {}

std::string_view InboundFilter::write(std::string_view chunk) {
  if (options_.verify_dkim) verifier_.write(chunk);
  if (state_ != State::kHeader) return chunk;
  const size_t old = held_.size();
  held_ += chunk;
  // The header section ends at the first empty line: CRLF at the very start
  // (an empty header section) or CRLF CRLF, possibly split across chunks.
  size_t end = std::string::npos;  // where the section's last CRLF ends
  if (held_.size() >= 2 && held_.compare(0, 2, "\r\n") == 0) {
    end = 0;
  } else {
    const size_t blank = held_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
    if (blank != std::string::npos) end = blank + 2;
  }
  if (end != std::string::npos && end <= options_.max_header) {
    out_.clear();
    filter_header(std::string_view(held_).substr(0, end));
    out_.append(held_, end);  // the blank line and any body octets
    held_.clear();
    held_.shrink_to_fit();
    state_ = State::kBody;
    return out_;
  }
  // Without a blank line yet, the section is at least held_.size() - 1
  // octets long (held_ may end in the CR of the blank line); past
  // max_header + 2 it is too long whatever comes next, so the outcome does
  // not depend on the chunking.
  if (end != std::string::npos || held_.size() > options_.max_header + 2) {
    // Too long to hold: out it goes as it came, and so does the rest.
    overflow_ = true;
    out_ = std::move(held_);
    held_.clear();
    held_.shrink_to_fit();
    state_ = State::kBody;
    return out_;
  }
  return {};
}

std::string_view InboundFilter::finish() {
  out_.clear();
  if (state_ == State::kHeader && held_.size() > options_.max_header) {
    overflow_ = true;
    out_ = std::move(held_);
    held_.clear();
  } else if (state_ == State::kHeader) {
    // No blank line: the whole message is its header section.
    filter_header(held_);
    held_.clear();
    held_.shrink_to_fit();
  }
  state_ = State::kDone;
  if (!verifier_finished_) {
    verifier_.finish();
    verifier_finished_ = true;
  }
  return out_;
}

void InboundFilter::filter_header(std::string_view section) {
  for (const dkim::HeaderField& field : dkim::split_header_fields(section)) {
    if (field.is("from")) read_from(field);
    if (forged(field)) {
      ++removed_;
      continue;
    }
    out_ += field.raw;
  }
}

bool InboundFilter::forged(const dkim::HeaderField& field) const {
  if (!options_.remove_forged || options_.authserv_id.empty()) return false;
  if (!field.is("authentication-results")) return false;
  const std::optional<std::string> id = authserv_id_of(unfolded_value(field));
  // "mx.example.org." or "\" mx.example.org\"" name the same host as
  // mx.example.org to anyone reading the field.
  return id && dkim::equals_ignore_case(comparable_id(*id), comparable_id(options_.authserv_id));
}

void InboundFilter::read_from(const dkim::HeaderField& field) {
  ++from_fields_;
  const std::optional<std::vector<Mailbox>> list = Mailbox::parse_list(unfolded_value(field));
  if (!list) return;
  for (const Mailbox& m : *list) {
    const size_t at = m.address.rfind('@');
    if (at == std::string::npos || at + 1 == m.address.size()) continue;
    from_domains_.push_back(ascii_lower(std::string_view(m.address).substr(at + 1)));
  }
}

}  // namespace tern::authres
