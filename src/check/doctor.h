// The set-up doctor behind `tern check DOMAIN`: what a mail domain served by
// this server needs in DNS, looked up and judged the way a self-hoster's
// guide walks through it, each finding with the exact record to publish
// when something is missing or wrong (docs/check.md).
//
// What is checked, in this order:
//   mx    the MX records of DOMAIN: none (implicit MX), a null MX (RFC 7505),
//         MX hosts that are IP literals or aliases (CNAME, RFC 2181 10.3) or
//         that have no address; whether one of them is this server
//         (options.hostname);
//   host  each MX host's addresses (A/AAAA), and this server's own name when
//         it is not among the MX hosts (it is the EHLO name of outgoing mail);
//   ptr   the reverse DNS of each of those addresses, and whether the PTR
//         name resolves back to the address (forward-confirmed reverse DNS);
//   spf   the SPF record of DOMAIN (RFC 7208 4.5, 4.6): none, several,
//         syntax, the "all" at its end, and check_host() for each address of
//         this server: does mail from here pass, within the lookup limits;
//   dkim  each key in <data_dir>/dkim/DOMAIN/: is "<selector>._domainkey.
//         DOMAIN" published, and is the published key this key;
//   dmarc the record at _dmarc.DOMAIN (RFC 7489 6.6.3), or of the
//         organizational domain when DOMAIN is below it: none, several,
//         unparsable, p=none (monitoring only), pct below 100, no rua=;
//   sts   MTA-STS (RFC 8461, doctor_transport.cc): the _mta-sts TXT record,
//         the policy fetched over HTTPS, every MX host matched by it, and
//         (with [mta_sts] serve) the record and policy we serve;
//   tlsrpt the _smtp._tls TXT record (RFC 8460 3): present, one, valid;
//   dane  the TLSA 3 1 1 record of the key this server serves (RFC 7672)
//         and whether _25._tcp.<mail host> publishes it (signed, or a
//         secure RRset without it: DANE senders defer), and a warning
//         when a next key is staged and not published (tern acme rollkey);
//   bulk  with DoctorOptions::bulk (`tern check --bulk`): what Gmail, Yahoo
//         and Outlook.com require of bulk senders (5000+ messages a day),
//         summed up from the checks above: SPF passing for this server and
//         DKIM signing with d=DOMAIN (both aligned with a From in DOMAIN),
//         a DMARC record (p=none at least), forward-confirmed reverse DNS
//         of this server's addresses matching its EHLO name, and TLS.
//
// run_checks never throws for DNS trouble: a lookup that fails for now is a
// finding of its own ("could not look up ...").
//
// Thread safety: a check runs on the thread of the DnsLookup it is given
// (Resolver: its io_context thread). load_local_keys reads files.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/keys.h"
#include "dns/lookup.h"
#include "sts/policy.h"

namespace tern::check {

// kFail: mail will bounce, be rejected or be junked until it is fixed;
// kWarn: it works, but not as well as it should (or we cannot tell).
enum class Level { kOk, kWarn, kFail };

// "ok", "warn", "FAIL".
const char* level_name(Level level);

struct Finding {
  Level level = Level::kOk;
  std::string topic;    // "mx", "host", "ptr", "spf", "dkim", "dmarc"
  std::string summary;  // one line: what was found
  // What it means and what to do, one line each, for people.
  std::vector<std::string> notes;
  // Records to publish, as zone-file lines ("example.org. IN TXT \"v=spf1 mx
  // -all\""): exactly what is missing or should replace what is there.
  std::vector<std::string> publish;
};

// A DKIM key of the domain found in <data_dir>/dkim/<domain>/.
struct LocalKey {
  std::string selector;  // lower-case, from the file name
  dkim::PrivateKey key;
  std::string path;
  // True for the key the server signs with: the newest of its type
  // (dkim/key_store.h); the others are left over from a rotation.
  bool signing = true;
};

// The keys of `domain` (any case) under <data_dir>/dkim, sorted by
// selector. Files that cannot be used add a line to *problems each.
std::vector<LocalKey> load_local_keys(const std::string& data_dir, std::string_view domain,
                                      std::vector<std::string>* problems);

struct DoctorOptions {
  std::string hostname;  // this server's name ([hostname] of the config)
  std::vector<LocalKey> dkim_keys;
  std::string dkim_dir;  // where they were looked for, for the notes
  // Lines from load_local_keys: each becomes a dkim warning.
  std::vector<std::string> key_problems;
  int64_t now = 0;  // seconds since the epoch (SPF's %{t})

  // Fetches a domain's MTA-STS policy over HTTPS (relay/sts_fetch.h);
  // nullopt with *error set when it cannot. Unset: the policy is not fetched.
  std::function<asio::awaitable<std::optional<sts::Policy>>(std::string domain, std::string* error)>
      fetch_sts_policy;
  std::optional<sts::Policy> served_sts_policy;  // [mta_sts] serve: the policy we serve
  // The TLSA 3 1 1 data (64 hex digits) of the key the server serves, and
  // of a staged next key (tern acme rollkey); "" when none. cert_problem
  // says why the first is unknown.
  std::string tlsa_current;
  std::string tlsa_next;
  std::string cert_problem;
  bool cert_missing = false;  // the certificate file does not exist (yet)
  // Adds the "bulk" section; each unmet requirement is a kFail, since
  // those receivers junk or refuse bulk mail without it.
  bool bulk = false;
  // For the TLS line of the bulk section: the smarthost all mail goes to
  // ([relay] smarthost), or "" for delivery by MX.
  std::string smarthost;
};

// Runs every check for `domain` (a domain name, any case) and returns the
// findings in the order above. REQUIRES: `dns` outlives the awaitable.
asio::awaitable<std::vector<Finding>> run_checks(DnsLookup& dns, std::string domain,
                                                 DoctorOptions options);

// The TLSA 3 1 1 data (RFC 6698 2.1: SHA-256 of the SubjectPublicKeyInfo,
// 64 lower-case hex digits) of the first certificate in `pem`; "" with
// *error set when there is none.
std::string tlsa_3_1_1_of_certificate(std::string_view pem, std::string* error);

// True when some finding is kFail.
bool any_failed(const std::vector<Finding>& findings);

}  // namespace tern::check
