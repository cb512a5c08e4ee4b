// Signing a message with DKIM (RFC 6376 5, RFC 8463): feed the message as
// it streams, then take the "DKIM-Signature: ...\r\n" field to put on top
// of it. One Signer makes one signature; for both an RSA and an Ed25519
// key, run two signers over the same message (the order of the two fields
// does not matter: neither signs the other).
//
//   dkim::Signer signer(key, {.domain = "example.com", .selector = "rsa-202601",
//                             .timestamp = now});
//   signer.write(message_part);  // as often as needed
//   std::string field;
//   if (Status s = signer.finish(&field); s.ok()) send(field + message);
//
// Thread-compatible; no I/O (the key is loaded by the caller).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "dkim/canon.h"
#include "dkim/keys.h"
#include "dkim/message.h"

namespace tern::dkim {

// The header fields signed by default, lower-cased: RFC 6376 5.4.1's list
// plus Sender, Message-ID and the MIME fields (so that the displayed
// content cannot be swapped), and the List-* fields of RFC 2369/2919/8058
// (List-Unsubscribe and List-Unsubscribe-Post also oversigned when present:
// SignOptions::oversign_group).
const std::vector<std::string>& default_signed_headers();

struct SignOptions {
  std::string domain;    // d=; REQUIRES: a domain name of two labels or more
  std::string selector;  // s=
  Canon header_canon = Canon::kRelaxed;
  Canon body_canon = Canon::kRelaxed;
  // The fields to sign; empty for default_signed_headers(). Each name goes
  // into h= once per instance the message has (none for an absent field),
  // and once more when it is also in `oversign`, so that an instance added
  // later breaks the signature (RFC 6376 8.15). From is always signed.
  std::vector<std::string> headers;
  std::vector<std::string> oversign = {"from"};
  // Of the names signed, oversigned together, but only when the message has at least one of
  // them: then each is listed once more than it occurs (an absent one
  // once), so none can be added or doubled. RFC 8058 3.1 and 4: one-click
  // unsubscribe counts only when DKIM covers both fields, and an added or
  // second List-Unsubscribe(-Post) must break the signature. Mail without
  // them lists neither, so a mailing list may still add its own List-*.
  std::vector<std::string> oversign_group = {"list-unsubscribe", "list-unsubscribe-post"};
  std::string identity;               // i=; empty for none (then "@d" is implied)
  std::optional<int64_t> timestamp;   // t=, seconds since the epoch
  std::optional<int64_t> expiration;  // x=, seconds since the epoch
  // Adds l= (the canonical body length). Off by default: it lets anyone
  // append to the body (RFC 6376 8.2). For tests of verifiers.
  bool body_length = false;
  size_t max_header = 1 << 20;  // octets of header section we accept
  // Above 0: make an ARC-Message-Signature of this instance instead (RFC
  // 8617 4.1.2: i= the instance first, no v=, `identity` unused).
  int arc_instance = 0;
};

class Signer {
 public:
  // REQUIRES: key.valid().
  Signer(PrivateKey key, SignOptions options);

  // Takes the next octets of the message (header section, blank line, body;
  // CRLF line ends), in chunks of any size.
  void write(std::string_view chunk);

  // Ends the message and sets *field to the complete DKIM-Signature field,
  // folded to lines of at most 78 octets, ending in CRLF. Permanent errors:
  // bad domain, selector or identity; x= not after t=; a message without a From field
  // (RFC 5322 3.6 requires one, and DKIM must sign it); a header section
  // over max_header octets; a signing failure. REQUIRES: called once.
  Status finish(std::string* field);

 private:
  std::vector<std::string> signed_names() const;

  PrivateKey key_;
  SignOptions options_;
  MessageSplitter splitter_;
  std::unique_ptr<BodyHash> body_;
};

}  // namespace tern::dkim
