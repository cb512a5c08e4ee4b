// DKIM canonicalisation (RFC 6376 3.4): "simple" and "relaxed" for header
// fields and for the body, the body one streaming (chunks in, canonical
// octets out, nothing buffered beyond a small output block and a count of
// deferred empty lines), and the body hash on top of it (3.7 step 1, with
// the l= limit).
//
// Lines end with CRLF; a lone CR or LF is an ordinary octet, as in the
// RFC's "wherever CRLF occurs" reading. Where the RFC is ambiguous the
// behaviour matches dkimpy (see the comments in canon.cc).
//
// Thread-compatible; no I/O.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tern::dkim {

enum class Canon { kSimple, kRelaxed };

// "simple" or "relaxed".
const char* canon_name(Canon c);

// One header field canonicalised (RFC 6376 3.4.1, 3.4.2). `field` is the
// whole field as it appears in the message: name, ":", value with any
// folding, and the final CRLF. simple: unchanged. relaxed:
// "lowercased-name:value\r\n" with the value unfolded, WSP runs made one SP,
// and WSP at both ends (and around the colon) removed. A field without a
// colon is returned unchanged by both.
std::string canonicalize_header(Canon c, std::string_view field);

// Canonicalises a body as it streams. Output is handed to `sink` in blocks
// (up to about 8 KiB); finish() flushes the rest. Memory stays bounded
// whatever the input: runs of empty lines are counted, not stored.
class BodyCanonicalizer {
 public:
  using Sink = std::function<void(std::string_view)>;

  BodyCanonicalizer(Canon c, Sink sink);

  // Feeds the next body octets (after the blank line ending the header).
  void write(std::string_view chunk);
  // Ends the body: applies the end-of-body rules (3.4.3, 3.4.4) and
  // flushes. REQUIRES: called once, after the last write().
  void finish();

 private:
  void put(char c);
  void put(std::string_view s);
  void flush_pending_lines();
  void flush();

  Canon canon_;
  Sink sink_;
  std::string out_;
  uint64_t pending_crlf_ = 0;  // CRLFs held back: they may be trailing empty lines
  bool pending_cr_ = false;    // a CR whose LF may come in the next octet
  bool pending_wsp_ = false;   // relaxed: a WSP run not yet written
  bool wrote_any_ = false;     // something other than deferred CRLFs went out
};

// The whole canonical form of a body in memory (for tests and small inputs).
std::string canonicalize_body(Canon c, std::string_view body);

// SHA-256 over a body's canonical form, of which only the first `limit`
// octets count when a limit (l=) is given (RFC 6376 3.7 step 1, 3.5 l=).
class BodyHash {
 public:
  BodyHash(Canon c, std::optional<uint64_t> limit);
  ~BodyHash();
  BodyHash(const BodyHash&) = delete;
  BodyHash& operator=(const BodyHash&) = delete;

  void write(std::string_view chunk) { canon_.write(chunk); }
  // The 32-octet digest. REQUIRES: called once.
  std::string finish();

  // After finish(): the length of the whole canonical body, limited or not,
  // and how much of it went into the hash.
  uint64_t canonical_length() const { return total_; }
  uint64_t hashed_length() const { return hashed_; }

 private:
  void consume(std::string_view canonical);

  EVP_MD_CTX* md_;
  std::optional<uint64_t> limit_;
  uint64_t total_ = 0;
  uint64_t hashed_ = 0;
  BodyCanonicalizer canon_;
};

// SHA-256 of `data` (32 octets).
std::string sha256(std::string_view data);

}  // namespace tern::dkim
