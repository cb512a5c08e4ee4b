// ClientScreen: the Asio side of the checks before DATA (docs/filtering.md).
// At connect it asks the DNSBL/DNSWL zones ([dnsbl], screen/dnsbl.h) and
// the client's PTR record ([checks] reverse_dns) concurrently, all within
// dnsbl.timeout, through the delivery worker's resolver, and keeps what it
// learnt per address for the answers' TTL (screen/ttl_cache.h). At MAIL
// FROM it runs the early checks (screen/early_checks.h), at RCPT TO the
// greylist ([greylist], screen/greylist_store.h). The decisions are in
// those I/O-free files; this one only looks up, logs and counts.
//
// Which clients are screened is the connection's call: the smtp listener,
// not trusted_networks, not loopback unless check_loopback (as SPF).
//
// Thread-compatible: one per server, used on its event loop only. The
// greylist settings are read once at start (a reload keeps them); the
// others come with each call from the connection's configuration.
#pragma once

#include <asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "dns/lookup.h"
#include "screen/dnsbl.h"
#include "screen/early_checks.h"
#include "screen/greylist_store.h"
#include "screen/ttl_cache.h"
#include "tern/address.h"
#include "tern/reply.h"

namespace tern {

// What was learnt of one client at connect.
struct ClientFacts {
  DnsblVerdict dnsbl;
  std::string reason;  // the top zone's TXT text, when refused
  ReverseDns rdns = ReverseDns::kNotChecked;
  std::string ptr;  // the first PTR name, when found
};

class ClientScreen {
 public:
  explicit ClientScreen(const Config& config);

  // Opens the greylist's log (with [greylist] enabled), logging a failure.
  void open(int64_t now);

  // True when connect() has anything to look up under `config`.
  static bool wanted(const Config& config);

  // The lookups for `ip`, or the cached facts; logs one "screen" line.
  asio::awaitable<ClientFacts> connect(const Config& config, DnsLookup& dns, std::string ip,
                                       std::string session_id);

  // The 554 5.7.1 greeting for a client the lists refuse (counted), or nullopt.
  static std::optional<Reply> greeting(const ClientFacts& facts, const std::string& ip);

  // The early checks at MAIL FROM (counted), or nullopt.
  static std::optional<Reply> check_mail(const Config& config, const ClientFacts& facts,
                                         const std::string& ip, const std::string& helo,
                                         const Address& from);

  // With [checks] reverse_dns = "mark" and no PTR record: the field
  // "X-Tern-Reverse-DNS: missing (client [IP] has no PTR record)" with
  // CRLF, to go on top of the message; else "".
  static std::string mark_header(const Config& config, const ClientFacts& facts,
                                 const std::string& ip);

  // Greylisting at RCPT TO: 451 4.7.1 for a triplet not yet passed, or
  // nullopt (also when [greylist] is off). Logs and counts the result.
  std::optional<Reply> greylist(const std::string& ip, const Address& from, const Address& rcpt,
                                int64_t now, const std::string& session_id);

 private:
  TtlCache<ClientFacts> cache_;
  std::unique_ptr<GreylistStore> greylist_;  // [greylist] enabled
};

}  // namespace tern
