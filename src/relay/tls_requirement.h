// TLS requirements of outbound SMTP: what the configuration asks for a
// destination (TlsPolicyLevel, as Postfix's smtp_tls_policy_maps), and
// what one MX host must then offer (TlsRequirement), whoever decided it:
// the [[tls_policy]] config, DANE (RFC 7672, relay/dane.h) or MTA-STS
// (RFC 8461). The courier applies a host's requirement to the connection
// (relay/dane.h: configure_hop_tls) and logs it; nothing here does I/O.
//
// Precedence, decided once per host: a [[tls_policy]] entry wins (the
// operator knows best, as in Postfix), a next-hop entry naming the host
// before the recipient domain's entry (find_host_policy); then DANE, where the host has a
// secure, usable TLSA RRset (RFC 8461 2: DANE takes precedence over
// MTA-STS); then MTA-STS; then opportunistic TLS. A host whose
// requirement carries a `failure` is skipped, and the message deferred
// when no host is left.
//
// Value types; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/lookup.h"

namespace tern {

// A destination's level as configured ([[tls_policy]] level).
enum class TlsPolicyLevel {
  kNone,      // never STARTTLS
  kMay,       // opportunistic: STARTTLS when offered, no checks enforced
  kEncrypt,   // STARTTLS required, the certificate not checked
  kDane,      // DANE where a secure TLSA RRset is published, else kMay (the default)
  kDaneOnly,  // DANE required: a host without secure usable TLSA records is skipped
  kVerify,    // STARTTLS and a certificate that the system store trusts, for `match` names
  kSecure,    // as kVerify, with names taken from config only (nexthop, dot-nexthop)
};

// "none", "may", "encrypt", "dane", "dane-only", "verify", "secure".
const char* tls_policy_level_name(TlsPolicyLevel level);
// The inverse; nullopt for anything else (case-sensitive, as written).
std::optional<TlsPolicyLevel> parse_tls_policy_level(std::string_view text);

// One [[tls_policy]] entry, checked at load: either a domain entry or a
// next-hop entry, never both.
struct TlsPolicyEntry {
  // "example.org" matches that domain only; ".example.org" every
  // subdomain of it (not example.org itself). Lower case. "" in a next-hop
  // entry.
  std::string domain;
  TlsPolicyLevel level = TlsPolicyLevel::kDane;
  // kVerify / kSecure: what the certificate must match. "hostname" (the
  // MX host's name), "nexthop" (the destination domain; a next-hop
  // entry's host), "dot-nexthop" (any subdomain of it), or a name (".example.org": any subdomain).
  // Empty: "hostname" for kVerify, "nexthop" and "dot-nexthop" for kSecure.
  std::vector<std::string> match;
  // A next-hop entry (`next_hop = "[mx.example.net]"`, or with ":2525"):
  // the MX host it applies to, whatever the recipient domain (lower case,
  // a host name), and the port it applies at (0: any). "" in a domain entry.
  std::string next_hop_host;
  uint16_t next_hop_port = 0;
};

// The policy for recipients at `domain` (lower case): the exact entry,
// else the entry of the longest ".parent" suffix; null when none applies.
// Next-hop entries are not considered.
const TlsPolicyEntry* find_tls_policy(const std::vector<TlsPolicyEntry>& entries,
                                      std::string_view domain);

// The next-hop entry for MX host `host` (lower case) reached at `port`:
// the one naming that port, else the one without a port; null when none.
const TlsPolicyEntry* find_next_hop_policy(const std::vector<TlsPolicyEntry>& entries,
                                           std::string_view host, uint16_t port);

// The entry that decides `host` (at `port`) for mail to `domain`: a
// next-hop entry beats the domain's, being the more specific (Postfix
// has one key per delivery, the next-hop destination, and tern has no
// transport table: its next hop is always the recipient domain, so
// "[host]" names the MX host instead). Null when none applies.
const TlsPolicyEntry* find_host_policy(const std::vector<TlsPolicyEntry>& entries,
                                       std::string_view domain, std::string_view host,
                                       uint16_t port);

// Parses a next_hop value: "[mx.example.net]" (port 0: any) or
// "[mx.example.net]:2525", the host a domain name (lowered; not an address).
// Returns "" and sets *host and *port, or says what is wrong.
std::string parse_next_hop(std::string_view text, std::string* host, uint16_t* port);

// "[mx.example.net]" or "[mx.example.net]:2525": the entry's next hop.
std::string next_hop_text(const TlsPolicyEntry& e);

// What one host must offer, as applied to its connections.
enum class TlsLevel {
  kNone,     // plaintext only
  kMay,      // STARTTLS when offered; a failed handshake retries in plaintext
  kEncrypt,  // STARTTLS or fail; no authentication
  kDane,     // STARTTLS, authenticated by `tlsa` (OpenSSL's DANE API)
  kVerify,   // STARTTLS, the chain trusted by the system store, a name of `names`
};

// Who decided a TlsRequirement.
enum class TlsSource {
  kDefault,  // nothing applies: the default level
  kConfig,   // a [[tls_policy]] entry
  kDane,     // the host's TLSA records
  kSts,      // the domain's MTA-STS policy (enforce mode)
};

struct TlsRequirement {
  TlsLevel level = TlsLevel::kMay;
  TlsSource source = TlsSource::kDefault;
  // kVerify: names the certificate may match (".example.org": any
  // subdomain). kDane: the TLSA base domain (the host) comes first; used
  // for DANE-TA(2) name checks (RFC 7672 3.2.2).
  std::vector<std::string> names;
  std::vector<TlsaRecord> tlsa;  // kDane: the usable records, at least one
  // Non-empty: this host must not be used ("TLSA lookup for
  // _25._tcp.mx.example.org failed: DNSSEC validation failed ..."); the
  // recipients are deferred with 4.7.5 when no host is left.
  std::string failure;
  // The DANE state for logs: "none" (no TLSA, or not looked up),
  // "insecure", "unusable" (secure TLSA RRset, none usable), "usable",
  // "bogus"; after the handshake "verified(3 1 1)" replaces "usable".
  std::string dane = "none";
  // Where the requirement came from, for logs: "default", "config
  // example.org", "config [mx.example.org]", "dane", "sts example.org".
  std::string origin = "default";
  // The destination's level was dane-only: DANE was required for this
  // host, whatever came of it (TLS-RPT "dane-required", relay/tls_report.h).
  bool dane_required = false;
};

// kEncrypt and above: a handshake failure never falls back to plaintext.
inline bool tls_mandatory(const TlsRequirement& r) { return r.level >= TlsLevel::kEncrypt; }
// kDane and kVerify: the certificate must check out.
inline bool tls_authenticated(const TlsRequirement& r) { return r.level >= TlsLevel::kDane; }

// Whether an MTA-STS policy (RFC 8461) may decide this host: only when
// neither a [[tls_policy]] entry nor DANE did (RFC 8461 2: DANE first).
// MTA-STS in enforce mode then sets level kVerify, names {host}, source
// kSts, origin "sts DOMAIN" for a host matching the policy's mx patterns,
// and a `failure` for one that does not.
inline bool sts_may_decide(const TlsRequirement& r) { return r.source == TlsSource::kDefault; }

// "none", "may", "encrypt", "dane", "verify".
const char* tls_level_name(TlsLevel level);

// For the delivery log: "policy=dane(dane) dane=usable" and the like.
std::string requirement_text(const TlsRequirement& r);

}  // namespace tern
