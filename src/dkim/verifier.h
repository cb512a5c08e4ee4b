// Checking the DKIM signatures of a message (RFC 6376 6), without I/O:
// the Verifier takes the message as it streams and says which key records
// it needs; the caller looks them up (see dkim/dns_keys.h for the DNS one)
// and hands the answers back; then there is one result per DKIM-Signature.
//
//   dkim::Verifier v({.now = clock.now()});
//   v.write(chunk);                       // as often as needed
//   ... v.key_queries() may already be looked up here, once headers_done() ...
//   v.finish();
//   for (const std::string& q : v.key_queries()) v.add_key(q, lookup(q));
//   for (const dkim::SignatureResult& r : v.results()) ...
//
// Results use the names of RFC 8601 2.7.1:
//   pass       the signature verified;
//   fail       the body hash (failure kBodyHash) or the signature
//              (kSignature) did not match;
//   neutral    the signature could not be processed: syntax errors, missing
//              or unsupported tags, From not signed, i= outside d=;
//   policy     it may be valid but is not acceptable here: expired (x=),
//              rsa-sha1, an RSA key under 1024 bits (RFC 8301), content
//              beyond l= (see below), or past max_signatures;
//   temperror  the key could not be fetched now (DNS failure);
//   permerror  no usable key: no record, revoked, malformed, wrong type
//              or hash, not for email, t=s violated.
//
// l= (body length): a signature with l= covers only the start of the body,
// so anyone can append to it (RFC 6376 8.2). When the canonical body is
// longer than l= the result is policy ("N body octets beyond l= are not
// signed"), unless options.accept_partial_body; either way unsigned_octets
// says how many. An l= larger than the body is a fail (3.5: l= "MUST NOT be
// larger than the actual number of octets").
//
// Order (RFC 6376 6.1.2, then 6.1.3): the key is fetched and validated
// before the body hash counts, so a signature with a missing or broken key
// is permerror (temperror when the lookup failed for now) even if its body
// hash does not match too; fail is only ever said with a usable key. The
// body hash is still computed while the message streams.
//
// Thread-compatible; no I/O, no clock (options.now).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/canon.h"
#include "dkim/message.h"
#include "dkim/signature.h"

namespace tern::dkim {

enum class Result { kPass, kFail, kNeutral, kPolicy, kTempError, kPermError };

// "pass", "fail", "neutral", "policy", "temperror", "permerror".
const char* result_name(Result r);

enum class Failure { kNone, kBodyHash, kSignature };

struct SignatureResult {
  Result result = Result::kNeutral;
  Failure failure = Failure::kNone;  // which hash did not match, for kFail
  std::string reason;                // why, for anything but kPass (also notes on pass)
  // What the signature says (as far as it could be read).
  std::string domain;     // d=
  std::string selector;   // s=
  std::string algorithm;  // a=
  std::string identity;   // i=, or "@" + d=
  std::string b;          // b= without FWS (for Authentication-Results header.b, RFC 6008)
  std::optional<uint64_t> body_length;  // l=
  uint64_t unsigned_octets = 0;         // canonical body octets after l=
  bool testing = false;                 // the key record says t=y
  int key_bits = 0;                     // size of the key used, when one was
};

struct VerifyOptions {
  int64_t now = 0;            // seconds since the epoch, for x=
  int64_t clock_skew = 300;   // seconds x= may be past (RFC 6376 3.5 allows drift)
  size_t max_signatures = 8;  // more are reported as policy, not checked
  size_t max_header = 1 << 20;
  int min_rsa_bits = 1024;  // RFC 8301 3.2
  bool accept_partial_body = false;
};

// The answer to one key query.
struct KeyAnswer {
  enum class Status {
    kFound,     // TXT records came back
    kNotFound,  // NXDOMAIN or no TXT record: permerror
    kTempFail,  // try again later: temperror
  };
  Status status = Status::kTempFail;
  // Each TXT record, its strings joined with nothing between (3.6.2.2).
  std::vector<std::string> records;
  std::string error;  // for kNotFound / kTempFail: what the lookup said

  static KeyAnswer found(std::vector<std::string> records);
  static KeyAnswer not_found(std::string error = "no key record");
  static KeyAnswer temp_fail(std::string error);
};

class Verifier {
 public:
  explicit Verifier(VerifyOptions options = {});
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // Takes the next octets of the message, in chunks of any size.
  void write(std::string_view chunk);
  // Ends the message and computes the body hashes (their verdict waits for
  // the key, see results()). REQUIRES: called once.
  void finish();

  // True once the header section has been read; key_queries() is
  // meaningful from then on.
  bool headers_done() const { return headers_done_; }

  // The key records still needed ("sel._domainkey.example.com"), each once,
  // without those already given to add_key: every signature that passed
  // the syntax and expiry checks, whatever its body hash (so lookups can
  // run while the body streams).
  std::vector<std::string> key_queries() const;
  // The answer for `query`; an answer for a name nobody asked is ignored.
  void add_key(const std::string& query, KeyAnswer answer);

  // One result per DKIM-Signature field, top to bottom. A signature whose
  // key was never given is a temperror ("key not looked up"). A header
  // section over max_header gives a single permerror. Empty when the
  // message has no DKIM-Signature (the caller's "none").
  // REQUIRES: finish() was called.
  std::vector<SignatureResult> results() const;

 private:
  struct Entry;

  void start_body();
  void check_key(const Entry& e, const KeyAnswer& answer, SignatureResult* r) const;

  VerifyOptions options_;
  MessageSplitter splitter_;
  bool headers_done_ = false;
  std::vector<Entry> entries_;
  std::vector<std::unique_ptr<BodyHash>> hashes_;
  std::map<std::string, KeyAnswer> keys_;
};

// Verifies a whole message in memory, asking `lookup` for each key record
// needed: the I/O-free core in one call, for tests and tools.
using KeyLookupFn = std::function<KeyAnswer(const std::string& query)>;
std::vector<SignatureResult> verify(std::string_view message, const KeyLookupFn& lookup,
                                    const VerifyOptions& options = {});

}  // namespace tern::dkim
