// RemoteCourier: the Courier for mail to other domains. For one message and
// the recipients of one destination domain it
//
//   1. takes an idle connection for that destination from the pool, if one
//      is there (connection reuse, connection_pool.h), and sends on it;
//   2. otherwise (or for what is left) finds the route: the MX hosts of the
//      domain (dns/mx_route.h: RFC 5321 5.1 order, implicit MX, CNAME, null
//      MX 556 5.1.10 and NXDOMAIN 550 5.1.2 permanent, SERVFAIL/timeouts
//      451 4.4.3 transient) minus the hosts that are us and every host not
//      better than them (RFC 5321 5.1; none left: 554 5.4.6 "loops back to
//      myself"), or the smarthost when [relay] smarthost is set;
//   3. tries each host in order and each of its addresses in turn, until
//      every recipient is settled (remote_plan.h: settle): a connection
//      that fails, a 421 or other trouble before MAIL (greeting, EHLO,
//      STARTTLS, AUTH), or a transient failure of the whole transaction
//      moves on to the next address or host; a recipient's own 4xx/5xx to
//      RCPT, and a 5xx to the transaction, are final for this attempt;
//      what is left after the last host stays queued (transient) with the
//      last reason;
//   4. puts the connection back in the pool (while it has sent fewer than
//      [relay] max_messages_per_connection messages), or QUITs.
//
// TLS towards MX hosts follows each host's TlsRequirement (relay/dane.h,
// relay/tls_requirement.h): DANE where the host publishes secure TLSA
// records, a [[tls_policy]] entry where one applies, else opportunistic
// (RFC 7435, RFC 3207): STARTTLS whenever offered, the certificate checked
// against the MX host name and the verdict logged, never enforced. A host
// whose requirement cannot be met (a bogus TLSA answer, dane-only without
// TLSA) is skipped with 4.7.5; a host that must do TLS (encrypt, dane,
// verify) and fails STARTTLS or the check is given up, never tried in
// plaintext. Under opportunistic TLS, a STARTTLS that the server refuses
// (not 220) continues in plaintext on the same connection; a handshake
// that fails after the 220 leaves the connection unusable, so the same
// address is tried once more, in plaintext (as Postfix does with
// smtp_tls_security_level = may): a broken TLS stack must not stop mail
// that would otherwise go out in plaintext anyway.
//
// 8-bit bodies: the content is scanned before MAIL FROM; a body with 8-bit
// octets goes with BODY=8BITMIME, and to a server that does not offer
// 8BITMIME it is refused here (EightBitPolicy::kRefuse: 554 5.6.3, a
// bounce): RFC 6152 3 forbids sending it as is, and tern does not convert
// to quoted-printable (it would break signatures). Every common MTA has
// offered 8BITMIME for decades, so this is rare. A body declared 8BITMIME
// but 7-bit in fact goes as is. A message that needs SMTPUTF8 bounces with
// 553 5.6.7 at a server without it (RFC 6531 3.2; no downgrade).
//
// Smarthost ([relay] smarthost): every remote destination goes there (its
// name resolved through the same resolver, or an IP literal), STARTTLS
// required or implicit TLS, its certificate required to verify against the
// configured name (the system store plus [relay] ca_file), AUTH with
// [relay] user and password (password_file read at start). Trouble with
// the smarthost, AUTH refusals included, is transient: it is our config,
// not the recipient's fault; a 5xx to a recipient or the transaction is
// permanent.
//
// DKIM: mail whose sender is ours (dkim/key_store.h: submitted by an
// authenticated user, or a DSN of ours) and whose From domain has a key in
// RelaySettings::dkim_keys is signed during the scan before MAIL FROM
// (file_body.h); the DKIM-Signature fields go out before the queued
// file's content and count in SIZE=. Logged once per delivery as
// "relay: ID dkim=signed d=... s=..." (or "dkim=none (why)" for mail of
// ours that could not be signed).
//
// MTA-STS (relay/sts_policy.h): with a policy in enforce mode, MX hosts
// that do not match it are skipped and the others must offer STARTTLS and
// a certificate verified for the MX name (no plaintext retry); in testing
// mode delivery is as above and failures are logged ("sts=testing(...)").
//
// REQUIRETLS (RFC 8689, relay/requiretls.h): a message queued with
// REQUIRETLS goes only to hosts authenticated by DANE, by an MTA-STS policy
// or by a DNSSEC-secure MX with WebPKI, over verified TLS, to a server that
// offers REQUIRETLS; when every host is ruled out for good it bounces with
// 5.7.30, otherwise it stays queued. "TLS-Required: No" (without the
// parameter) makes DANE and MTA-STS requirements opportunistic.
//
// TLS-RPT (RFC 8460, relay/tls_report.h): with [tls_rpt] enabled, each new
// connection to an MX host that DANE or an MTA-STS policy governs is
// recorded (set_tls_rpt); TLS reports themselves (listener "tls-rpt") are
// delivered opportunistically and not recorded (RFC 8460 5.3).
//
// Trace ([relay] trace_tls, on by default): each message sent gets a
// Received field on top recording this hop's TLS outcome as we saw it
// (relay/outbound_trace.h), made after STARTTLS, once per connection.
//
// Every delivery is logged, one line per recipient:
//   relay: ID to=<rcpt> mx=host[address]:port tls=TLSv1.3/CIPHER
//     cert=verified|unverified(why) policy=LEVEL(ORIGIN) dane=STATE
//     [sts=enforce(matched)] [requiretls=yes|tls-required=no]
//     status=sent|deferred|bounced (reply)
// (dane=verified(3 1 1) when a TLSA record authenticated the server; see
// TlsRequirement::dane for the other states)
// and each host given up on as "relay: ID mx=... status=next-host (why)".
//
// Threading: deliver() runs on the loop that owns the Resolver and the
// pool (the server's io_context); content is read on `blocking`. It may be
// called concurrently for different messages; the scheduler bounds how many.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dkim/key_store.h"
#include "dns/lookup.h"
#include "relay/connection_pool.h"
#include "relay/courier.h"
#include "relay/remote_plan.h"
#include "relay/sts_policy.h"
#include "relay/tls_report.h"
#include "relay/tls_requirement.h"

namespace tern {
namespace tlsrpt {
class Log;
}

// Everything the courier needs from the config, checked and loaded once:
// a reload makes a new one.
struct ArcSealing;  // relay/arc_seal.h

struct RelaySettings {
  std::string helo_name;  // config.hostname
  SelfIdentity self;
  uint16_t port = 25;  // of MX hosts ([relay] port, tests only)
  std::chrono::seconds connect_timeout{30};
  size_t max_messages_per_connection = 100;
  // [relay] trace_tls: each message sent to an MX host or the smarthost
  // gets a Received field with the hop's TLS outcome (relay/outbound_trace.h).
  bool trace_tls = true;
  ClientTimeouts timeouts;                     // [relay] command_timeout, data_timeout
  std::shared_ptr<asio::ssl::context> mx_tls;  // the system store, DANE enabled
  // [[tls_policy]] entries, and the level of destinations without one:
  // kDane when DNSSEC is validated ([dns] dnssec), else kMay.
  std::vector<TlsPolicyEntry> tls_policies;
  TlsPolicyLevel default_tls_level = TlsPolicyLevel::kMay;
  // [tls_rpt] enabled: TLS sessions are recorded for reports (set_tls_rpt).
  // Off, nothing is: no reporter would ever send or prune the records.
  bool record_tls_rpt = false;

  // Smarthost; empty host: MX routing.
  std::string smarthost;  // the name (or bare IP) as configured
  uint16_t smarthost_port = 0;
  bool smarthost_implicit_tls = false;
  std::optional<Credentials> auth;
  std::shared_ptr<asio::ssl::context> smarthost_tls;  // the system store plus ca_file

  // The DKIM signing keys (<data_dir>/dkim); null or empty: nothing is
  // signed. Not set by relay_settings() (server/relay_settings.h): the
  // caller loads them.
  std::shared_ptr<const dkim::KeyStore> dkim_keys;
  // The ARC sealing key ([arc] seal, relay/arc_seal.h); null: nothing is
  // sealed. Set with dkim_keys.
  std::shared_ptr<const ArcSealing> arc_sealing;
};

// The addresses of this machine's network interfaces (getifaddrs).
std::vector<asio::ip::address> local_addresses();

// Reads a password file: its content without one trailing "\n" or "\r\n".
// Throws std::runtime_error naming the file when it cannot be read or the
// password is empty.
std::string read_password_file(const std::string& path);

// The route to a smarthost: an IP literal as is, a name by its AAAA and A
// records (kOk, or kRetry when it has no address: a smarthost that does
// not resolve is our problem, never the recipients').
asio::awaitable<Route> resolve_smarthost(DnsLookup& dns, std::string host);

class RemoteCourier : public Courier {
 public:
  // `dns` must live on `loop` (the Resolver's thread rules) and outlive
  // the courier; `blocking` reads message content. `clock` gives the unix
  // time for DKIM signatures (empty: the system clock).
  RemoteCourier(asio::any_io_executor loop, asio::any_io_executor blocking, DnsLookup* dns,
                std::shared_ptr<const RelaySettings> settings, RandomBelow random = system_random(),
                std::function<int64_t()> clock = {});
  ~RemoteCourier() override;

  asio::awaitable<CourierResult> deliver(std::shared_ptr<const QueuedMessage> msg, Destination dest,
                                         std::vector<size_t> rcpts) override;

  // New settings (config reload); idle connections are closed.
  void reconfigure(std::shared_ptr<const RelaySettings> settings);
  // QUITs the idle connections, then calls `done` on the loop; connections
  // that finish a delivery afterwards are closed at once. Loop thread.
  void drain(std::function<void()> done);

  ConnectionPool& pool() { return pool_; }

  // MTA-STS (RFC 8461, relay/sts_policy.h): policies come from `sts`
  // (which must outlive the courier); null, the default: none. Not for
  // smarthost delivery, which has its own required TLS.
  void set_mta_sts(class StsPolicies* sts) { sts_ = sts; }
  // TLS-RPT (RFC 8460, relay/tls_report.h): one result per connection to
  // an MX host of a domain with a DANE or MTA-STS policy goes to `log`
  // (which must outlive the courier); null, the default: none recorded.
  void set_tls_rpt(tlsrpt::Log* log) { tls_rpt_ = log; }

  // How long an idle connection waits for the next message.
  static constexpr std::chrono::seconds kIdleTime{5};

 private:
  struct Delivery;
  asio::awaitable<void> use_pooled(Delivery& d, PooledConnection pc);
  asio::awaitable<void> try_hop(Delivery& d, Hop hop, bool plaintext);
  // Sends the pending recipients' message on `pc`; true if the STARTTLS
  // handshake failed (the caller may try the host in plaintext).
  asio::awaitable<bool> send_on(Delivery& d, PooledConnection pc);
  // The message's trace fields ([relay] trace_tls), built when the
  // session asks, from `pc`'s TLS outcome (kept in pc.trace for reuse).
  std::function<std::string()> trace_for(const Delivery& d, PooledConnection& pc,
                                         const OutboundMessage& m);
  asio::awaitable<Route> route(const Destination& dest, const RelaySettings& s);
  // True when `hop`'s TLS requirement cannot be met at all (relay/dane.h):
  // the host is skipped, and its reason kept for the deferral.
  bool skip_for_tls(Delivery& d, const Hop& hop);
  // REQUIRETLS (relay/requiretls.h): every host authenticating, or ruled out.
  static void apply_requiretls(Delivery& d, const Route& r);
  // MTA-STS next to the TLS requirements (RFC 8461 2: DANE and config first).
  static StsHopRule sts_rule(const Delivery& d, const std::string& host);
  static void apply_sts(Delivery& d, const std::string& domain);
  // Records `a` (relay/tls_report.h) unless `d` is a TLS report itself.
  void record_tls(const Delivery& d, TlsAttempt a);

  asio::any_io_executor loop_;
  asio::any_io_executor blocking_;
  DnsLookup* dns_;
  std::shared_ptr<const RelaySettings> settings_;
  RandomBelow random_;
  std::function<int64_t()> clock_;  // unix seconds, for DKIM t=
  ConnectionPool pool_;
  class StsPolicies* sts_ = nullptr;
  tlsrpt::Log* tls_rpt_ = nullptr;
};

}  // namespace tern
