// The DKIM signing keys of the running server, and the rule that decides
// which outgoing messages are signed with them (docs/dkim.md, "Signing
// outgoing mail").
//
// KeyStore: every <data_dir>/dkim/<domain>/<selector>.key (what `tern dkim
// keygen` writes), loaded at start and again on SIGHUP into a new store.
// Keyed by domain, lower-cased. A domain signs with at most one key of each
// type: an RSA key and an Ed25519 key give two signatures (RFC 8463 recommends
// both). When a domain has several keys of one type (a rotation in
// progress), the newest file (modification time; then the greater selector)
// signs and the others are reported as unused. A file that cannot be used
// (unreadable, not a key, a weak RSA key, a bad domain or selector name) is
// reported and skipped: it never stops the server.
//
// The signing rule (signing_domain): a message is ours to sign when it was
// submitted by an authenticated user or made by this server (a DSN), and
// its RFC 5322 From field holds one mailbox whose domain has a key; d= is
// that domain. Mail relayed for others (copies an alias forwards, bounces
// of SRS addresses) is never signed: it keeps its author's signatures.
//
// Thread safety: a KeyStore is immutable once loaded; share it as a
// shared_ptr<const KeyStore> and read it from any thread. The functions do
// no I/O but load().
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "dkim/keys.h"
#include "dkim/message.h"

namespace tern::dkim {

struct SigningKey {
  std::string selector;  // s=, lower-case
  PrivateKey key;
  std::string path;  // the file it came from, for logs
};

class KeyStore {
 public:
  KeyStore() = default;

  // Loads every <dir>/<domain>/<selector>.key. A missing `dir` is an empty
  // store (no problem). Each file or directory that is skipped, and each key
  // left unused by a newer one, adds one line to *problems naming the file
  // and why. Never throws.
  static KeyStore load(const std::string& dir, std::vector<std::string>* problems);

  // Adds a key for `domain` (lower-cased here). A key of a type the domain
  // already has replaces it. For load() and tests.
  void add(std::string_view domain, SigningKey key);

  // The keys of `domain` (ASCII case ignored): RSA first, then Ed25519; an
  // empty vector when it has none.
  const std::vector<SigningKey>& keys_for(std::string_view domain) const;

  bool empty() const { return keys_.empty(); }
  size_t domain_count() const { return keys_.size(); }
  // "example.com (rsa-202601, ed25519-202601)" for each domain, for logs.
  std::vector<std::string> describe() const;

 private:
  std::map<std::string, std::vector<SigningKey>> keys_;
};

// True when the message is ours: submitted by an authenticated user
// (env.auth_user), or made by this server (a DSN: env.listener "dsn"; a DMARC
// report: "report"; a TLS report: "tls-rpt").
// Copies forwarded by an alias (listener "forward") and mail that arrived
// unauthenticated are someone else's.
bool sender_is_ours(const Envelope& env);

// The domain of the RFC 5322 From field of a header section, lower-cased.
// Empty (with *why set) when there is no From field, more than one, or its
// value is not exactly one mailbox (RFC 5322 3.6.2 allows a list; DMARC,
// RFC 7489 6.6.1, cannot evaluate it, and neither do we pick one).
std::string from_domain(const std::vector<HeaderField>& fields, std::string* why);

// What to sign a message with, decided once its header section is known.
struct SigningChoice {
  std::string domain;                   // d=; empty: do not sign
  std::vector<const SigningKey*> keys;  // into the KeyStore; empty: do not sign
  std::string why_not;                  // when not signing: the reason, for logs
};

// The signing rule above. `sender_ours` is sender_is_ours(envelope).
SigningChoice signing_domain(const KeyStore& store, bool sender_ours,
                             const std::vector<HeaderField>& fields);

}  // namespace tern::dkim
