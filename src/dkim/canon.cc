#include "dkim/canon.h"

#include <stdexcept>

namespace tern::dkim {
namespace {

constexpr size_t kBlock = 8192;

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

const char* canon_name(Canon c) { return c == Canon::kSimple ? "simple" : "relaxed"; }

std::string canonicalize_header(Canon c, std::string_view field) {
  const size_t colon = field.find(':');
  if (c == Canon::kSimple || colon == std::string_view::npos) return std::string(field);
  // RFC 6376 3.4.2: lowercase the name and drop WSP before the colon.
  std::string out;
  size_t name_end = colon;
  while (name_end > 0 && is_wsp(field[name_end - 1])) --name_end;
  for (size_t i = 0; i < name_end; ++i) out += lower(field[i]);
  out += ':';
  // Unfold (CRLFs go; the WSP after them stays and is compressed), make each
  // WSP run one SP, and drop WSP at both ends of the value. The field's own
  // final CRLF is unfolded away too and put back at the end.
  bool space = false;
  bool started = false;
  for (size_t i = colon + 1; i < field.size(); ++i) {
    const char ch = field[i];
    if (ch == '\r' && i + 1 < field.size() && field[i + 1] == '\n') {
      ++i;
      continue;
    }
    if (is_wsp(ch)) {
      space = true;
      continue;
    }
    if (space && started) out += ' ';
    space = false;
    started = true;
    out += ch;
  }
  out += "\r\n";
  return out;
}

BodyCanonicalizer::BodyCanonicalizer(Canon c, Sink sink) : canon_(c), sink_(std::move(sink)) {
  out_.reserve(kBlock + 64);
}

void BodyCanonicalizer::flush() {
  if (!out_.empty()) sink_(out_);
  out_.clear();
}

void BodyCanonicalizer::put(char c) {
  out_ += c;
  wrote_any_ = true;
  if (out_.size() >= kBlock) flush();
}

void BodyCanonicalizer::put(std::string_view s) {
  out_ += s;
  wrote_any_ = true;
  if (out_.size() >= kBlock) flush();
}

// The held-back CRLFs were not trailing after all: they go out now, and so
// does a held-back WSP run (relaxed), which was inside a line.
void BodyCanonicalizer::flush_pending_lines() {
  for (; pending_crlf_ > 0; --pending_crlf_) put("\r\n");
  if (pending_wsp_) put(' ');
  pending_wsp_ = false;
}

void BodyCanonicalizer::write(std::string_view chunk) {
  size_t i = 0;
  while (i < chunk.size()) {
    const char c = chunk[i];
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') {
        // End of a line. Trailing WSP goes (relaxed, 3.4.4 "ignore all
        // whitespace at the end of lines"); the CRLF waits, since empty lines
        // at the end of the body are dropped (3.4.3, 3.4.4).
        pending_wsp_ = false;
        ++pending_crlf_;
        ++i;
        continue;
      }
      flush_pending_lines();
      put('\r');  // a lone CR is data; `c` is looked at afresh below
      continue;
    }
    if (c == '\r') {
      pending_cr_ = true;
      ++i;
      continue;
    }
    if (canon_ == Canon::kRelaxed && is_wsp(c)) {
      // 3.4.4: a WSP run becomes one SP, unless it ends the line.
      pending_wsp_ = true;
      ++i;
      continue;
    }
    flush_pending_lines();
    // Copy the run of ordinary octets in one go (a block at most).
    size_t j = i + 1;
    while (j < chunk.size() && j - i < kBlock && chunk[j] != '\r' &&
           !(canon_ == Canon::kRelaxed && is_wsp(chunk[j]))) {
      ++j;
    }
    put(chunk.substr(i, j - i));
    i = j;
  }
}

void BodyCanonicalizer::finish() {
  if (pending_cr_) {
    flush_pending_lines();
    put('\r');
    pending_cr_ = false;
  }
  // A WSP run on an unterminated last line is kept as one SP before the CRLF
  // added below: the WSP rule speaks of "the end of lines", and dkimpy
  // keeps it.
  if (pending_wsp_) flush_pending_lines();
  // simple (3.4.3): "0*CRLF" at the end becomes one CRLF, so an empty body
  // is "\r\n". relaxed (3.4.4, erratum 1384): a non-empty body gets its
  // final CRLF (added if missing); an empty one stays empty.
  if (canon_ == Canon::kSimple || wrote_any_) put("\r\n");
  pending_crlf_ = 0;
  flush();
}

std::string canonicalize_body(Canon c, std::string_view body) {
  std::string out;
  BodyCanonicalizer canon(c, [&out](std::string_view s) { out += s; });
  canon.write(body);
  canon.finish();
  return out;
}

BodyHash::BodyHash(Canon c, std::optional<uint64_t> limit)
    : md_(EVP_MD_CTX_new()), limit_(limit), canon_(c, [this](std::string_view s) { consume(s); }) {
  if (md_ == nullptr || EVP_DigestInit_ex(md_, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(md_);
    throw std::runtime_error("dkim: cannot set up SHA-256");
  }
}

BodyHash::~BodyHash() { EVP_MD_CTX_free(md_); }

void BodyHash::consume(std::string_view canonical) {
  total_ += canonical.size();
  std::string_view part = canonical;
  if (limit_) {
    const uint64_t room = *limit_ > hashed_ ? *limit_ - hashed_ : 0;
    if (part.size() > room) part = part.substr(0, room);
  }
  if (!part.empty()) EVP_DigestUpdate(md_, part.data(), part.size());
  hashed_ += part.size();
}

std::string BodyHash::finish() {
  canon_.finish();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md_, digest, &len);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("dkim: SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(digest), len);
}

}  // namespace tern::dkim
