// ARC chain validation (RFC 8617 5.2), without I/O: the ChainVerifier takes
// the message as it streams and says which key records it needs; the caller
// looks them up (arc/dns_keys.h through the resolver, or a test's map) and
// hands the answers back; then result() is the chain's verdict.
//
//   arc::ChainVerifier v;
//   v.write(chunk); ... v.finish();
//   for (const std::string& q : v.key_queries()) v.add_key(q, lookup(q));
//   arc::ChainResult r = v.result();   // arc=pass, i=2, oldest-pass=0
//
// The steps of 5.2, in order:
//   1. no ARC field: none;
//   2. the most recent ARC-Seal says cv=fail: fail (the chain ended there);
//   3. structure: every set 1..N complete and alone, N <= 50, instance 1
//      cv=none and every later one cv=pass; otherwise fail;
//   4. the most recent ARC-Message-Signature verifies; otherwise fail;
//   5. oldest-pass: from N-1 down, the lowest instance from which every AMS
//      verifies (0 when all do; an AMS that does not verify only sets this);
//   6. every ARC-Seal verifies, N down to 1; otherwise fail;
//   7. pass.
// Keys and signatures are checked as DKIM checks them (dkim/key_check.h):
// a key that cannot be fetched for now makes the chain fail with
// `temporary` set (the RFC 8601 arc method has no temperror).
//
// Thread-compatible; no I/O, no clock.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "arc/sets.h"
#include "dkim/canon.h"
#include "dkim/message.h"
#include "dkim/signature.h"
#include "dkim/verifier.h"

namespace tern::arc {

struct ChainOptions {
  int min_rsa_bits = 1024;  // RFC 8301 3.2, as for DKIM
  size_t max_header = 1 << 20;
};

struct ChainResult {
  ChainStatus status = ChainStatus::kNone;
  int instance = 0;        // N, the most recent set (0 without ARC fields)
  int oldest_pass = 0;     // step 5; only meaningful on pass
  std::string reason;      // why it failed (empty on pass and none)
  bool temporary = false;  // a key lookup failed for now
  // Per instance 1..N (index i - 1), as far as they could be read: the
  // sealer's domain (AS d=) and the AAR's payload after "i=N;" (the
  // authserv-id and results that sealer recorded, RFC 8617 4.1.1).
  std::vector<std::string> sealers;
  std::vector<std::string> results;
};

class ChainVerifier {
 public:
  explicit ChainVerifier(ChainOptions options = {});
  ~ChainVerifier();
  ChainVerifier(const ChainVerifier&) = delete;
  ChainVerifier& operator=(const ChainVerifier&) = delete;

  // Takes the next octets of the message (CRLF line ends), in any chunks.
  void write(std::string_view chunk);
  // Ends the message. REQUIRES: called once.
  void finish();

  // The key records needed ("sel._domainkey.example.com"), each once,
  // without those already given: meaningful once the header section has
  // been read (after finish() at the latest).
  std::vector<std::string> key_queries() const;
  // The answer for `query`; an answer nobody asked for is ignored.
  void add_key(const std::string& query, dkim::KeyAnswer answer);

  // The verdict. A key never given counts as a temporary failure.
  // REQUIRES: finish() was called.
  ChainResult result() const;

 private:
  struct Ams {
    Status parsed = Status::Ok();
    dkim::Signature sig;
    std::string header_data;
    size_t hash = 0;        // into hashes_
    std::string body_hash;  // the digest, after finish()
    uint64_t body_length = 0;
  };
  struct As {
    Status parsed = Status::Ok();
    Seal seal;
    std::string header_data;
  };

  void start_body();
  // Verifies a signature over `data` with the key of `query`; on failure
  // *why says why (and *temporary whether it may pass later).
  bool verified(const std::string& query, dkim::Algorithm algorithm, std::string_view domain,
                std::string_view data, std::string_view signature, std::string* why,
                bool* temporary) const;
  bool ams_verified(size_t k, std::string* why, bool* temporary) const;

  ChainOptions options_;
  dkim::MessageSplitter splitter_;
  bool headers_done_ = false;
  Status structure_ = Status::Ok();
  std::vector<ArcSet> sets_;
  std::vector<Ams> ams_;  // per set
  std::vector<As> as_;    // per set
  std::vector<std::string> sealers_;
  std::vector<std::string> results_;
  std::vector<std::unique_ptr<dkim::BodyHash>> hashes_;
  std::vector<std::string> digests_;
  std::map<std::string, dkim::KeyAnswer> keys_;
};

// A whole message in memory, keys from `lookup`: for tests and tools.
ChainResult verify_chain(std::string_view message, const dkim::KeyLookupFn& lookup,
                         const ChainOptions& options = {});

}  // namespace tern::arc
