// SRS, the Sender Rewriting Scheme: how a forwarder keeps SPF passing for
// mail it forwards, and still lets bounces find their way back. The format
// is the de facto one of Shevek's "Sender Rewriting Scheme" paper (2004)
// as libsrs2 and postsrsd implement it ("guarded" scheme, '=' separator):
//
//   SRS0=HHHH=TT=orig-domain=orig-local@srs-domain
//   SRS1=HHHH=first-forwarder==HHHH=TT=orig-domain=orig-local@srs-domain
//
// TT is the day (unix time / 86400) mod 1024 as two base32 characters
// (RFC 4648 6 alphabet). HHHH is the first 4 characters of the base64
// (RFC 4648 4) HMAC-SHA1, under our secret, of the lower-cased
// concatenation TT + orig-domain + orig-local (SRS0), or first-forwarder +
// "=HHHH=TT=..." (SRS1). Everything is lower-cased before hashing, and
// hashes are compared case-insensitively, as libsrs2 does: a hop may fold
// the case of a local part.
//
// Forwarding a plain address gives SRS0. Forwarding an SRS0 address of
// another forwarder gives SRS1, which keeps that forwarder's domain and
// opaque part and signs them; forwarding an SRS1 address re-signs it. So a
// bounce retraces the chain one hop at a time, and each hop can check only
// what it signed. SRS0 addresses expire after kMaxAgeDays (postsrsd's
// default); SRS1 has no timestamp of its own.
//
// The secret lives in <data_dir>/srs.key (load_or_create_srs_key).
//
// Thread safety: Srs is immutable after construction; its const methods
// may run concurrently. The free functions are pure, except the key file.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tern/address.h"

namespace tern {

enum class SrsError {
  kOk,
  kNotSrs,     // the local part does not start with "SRS0" or "SRS1" and a separator
  kMalformed,  // it does, but a field is missing or the timestamp is not base32
  kBadHash,    // the signature does not match: forged, or another forwarder's
  kExpired,    // an SRS0 address older than kMaxAgeDays (or from the future)
};

// "invalid SRS signature" and the like, for replies and logs.
const char* srs_error_text(SrsError e);

class Srs {
 public:
  static constexpr int64_t kMaxAgeDays = 21;
  static constexpr size_t kHashLength = 4;

  // `secret`: the raw key (any octets). REQUIRES: not empty.
  explicit Srs(std::string secret);

  // The SRS form of `sender` (a local@domain address, not <>) forwarded by
  // us through `srs_domain` at unix time `now`: SRS0 for a plain address,
  // SRS1 for an SRS0 or SRS1 one. The result may not be a valid RFC 5321
  // mailbox (a quoted local part, a domain literal, more than 64 octets):
  // srs_forward_sender() checks.
  Address forward(const Address& sender, std::string_view srs_domain, int64_t now) const;

  struct Reversed {
    SrsError error = SrsError::kNotSrs;
    Address address;  // when kOk
  };
  // Undoes forward() for the local part of an address in our srs_domain:
  // SRS0 gives the original sender once its hash and age check out; SRS1
  // gives the SRS0 address at the first forwarder once its hash does.
  Reversed reverse(std::string_view local, int64_t now) const;

  // HHHH over the lower-cased concatenation of `parts`.
  std::string hash(std::initializer_list<std::string_view> parts) const;

 private:
  bool hash_ok(std::string_view given, std::initializer_list<std::string_view> parts) const;
  std::string secret_;
};

// True if `local` starts "SRS0" or "SRS1" (any case) and a separator
// ('=', '-' or '+', as libsrs2 accepts).
bool is_srs_local(std::string_view local);

// TT for unix time `now`.
std::string srs_timestamp(int64_t now);
// True if `tt` (any case) names a day at most Srs::kMaxAgeDays before `now`.
// False for a malformed `tt`, and for a day in the future.
bool srs_timestamp_fresh(std::string_view tt, int64_t now);

// The envelope sender of a copy we forward to another domain (an alias
// with a remote target): `from` itself when it is <>, when its domain is
// ours (`is_local`; SPF passes for our own domains, and our SRS addresses
// are local too), or when its SRS form would not be a valid mailbox (a
// quoted local part, a domain literal, a local part over 64 octets, RFC
// 5321 4.5.3.1.1: our own RCPT parser would refuse the bounce); else the
// SRS form in `srs_domain`.
Address srs_forward_sender(const Srs& srs, const Address& from, std::string_view srs_domain,
                           int64_t now, const std::function<bool(std::string_view)>& is_local);

// Reads the SRS secret from `path`; if there is no such file, makes one:
// 32 random octets (OpenSSL RAND_bytes), written to a temporary file of
// mode 0600, fsynced, and linked into place (link(2) never replaces an
// existing file: if another process won the race, its key is read), then
// the directory is fsynced. A file shorter than 16 octets is an error
// (Permanent), not replaced: SRS addresses handed out under it would stop
// working. REQUIRES: the directory of `path` exists.
Status load_or_create_srs_key(const std::string& path, std::string* secret);

}  // namespace tern
