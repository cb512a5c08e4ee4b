// Adding our ARC set to a message we pass on (RFC 8617 5.1), without I/O:
// the Sealer takes the message as it streams and gives the three fields to
// put on top of it:
//
//   ARC-Seal: i=N; cv=pass; a=rsa-sha256; d=example.org; s=arc; t=...; b=...
//   ARC-Message-Signature: i=N; a=rsa-sha256; c=relaxed/relaxed; d=...; h=...; bh=...; b=...
//   ARC-Authentication-Results: i=N; mx.example.org; spf=pass ...; arc=pass ...
//
// N is one more than the message's most recent set. What goes into the AAR
// is our own Authentication-Results field (the one with our authserv-id,
// written when the message arrived, authres/header.h): its results are
// copied after "i=N;" (4.1.1); without one the AAR says "none".
// cv= (the chain validation status, 4.1.3) comes from that same field's
// arc= result, which is what our verifier found when the message arrived:
//   no ARC set in the message                    cv=none
//   arc=pass                                     cv=pass
//   arc=fail                                     cv=fail, and the seal covers
//                                                only our own set (5.1.2)
// and the message is not sealed (finish() says why) when it has ARC sets
// but no arc= result of ours (we never judged the chain), when its most
// recent seal already says cv=fail (the chain ended there, 5.1.2), when it
// has 50 sets already (4.2.1), or when its ARC fields are malformed.
//
// The AMS is a DKIM signature (dkim::Signer with arc_instance) over the
// header fields of dkim::default_signed_headers() plus DKIM-Signature,
// relaxed/relaxed; it never signs Authentication-Results or ARC fields
// (4.1.2, and dkimpy refuses to).
//
// Thread-compatible; no I/O, no clock (options.timestamp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "arc/sets.h"
#include "core/status.h"
#include "dkim/keys.h"
#include "dkim/message.h"
#include "dkim/signer.h"

namespace tern::arc {

struct SealOptions {
  std::string domain;       // d= of the AMS and the AS
  std::string selector;     // s=
  std::string authserv_id;  // ours: which Authentication-Results field is ours
  int64_t timestamp = 0;    // t=, seconds since the epoch
  size_t max_header = 1 << 20;
};

class Sealer {
 public:
  // REQUIRES: key.valid().
  Sealer(dkim::PrivateKey key, SealOptions options);
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  // Takes the next octets of the message (CRLF line ends), in any chunks.
  void write(std::string_view chunk);

  // Ends the message and sets *fields to the ARC-Seal, ARC-Message-Signature
  // and ARC-Authentication-Results fields (each ending in CRLF, in that
  // order, to go on top). A message that is not to be sealed (see above)
  // gives a Permanent status saying why, and no fields. REQUIRES: called
  // once.
  Status finish(std::string* fields);

  // After finish(): the instance of our set and its cv= (for logs).
  int instance() const { return instance_; }
  ChainStatus cv() const { return cv_; }

 private:
  void decide();

  dkim::PrivateKey key_;
  SealOptions options_;
  dkim::MessageSplitter splitter_;
  std::string held_;  // the content seen before the header section ended
  bool decided_ = false;
  Status skip_ = Status::Ok();  // why not to seal, once decided
  std::vector<ArcSet> sets_;
  std::string aar_;  // our AAR field
  std::unique_ptr<dkim::Signer> ams_;
  int instance_ = 0;
  ChainStatus cv_ = ChainStatus::kNone;
};

// Our results in a header section: the payload (after the authserv-id and
// its ";", unfolded) of the topmost Authentication-Results field whose
// authserv-id is `authserv_id`, or nullopt when there is none. The
// payload of "mx.example.org; spf=pass smtp.mailfrom=a@b; arc=none" is
// "spf=pass smtp.mailfrom=a@b; arc=none".
std::optional<std::string> our_results(const std::vector<dkim::HeaderField>& fields,
                                       std::string_view authserv_id);

// The result of `method` in an Authentication-Results payload ("pass" for
// method "arc" in "spf=pass; arc=pass (i=1)"), or "" when it is not there.
// Comments and quoted strings are skipped.
std::string method_result(std::string_view payload, std::string_view method);

}  // namespace tern::arc
