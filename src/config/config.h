// Config: everything `tern serve` and the other subcommands read from the
// TOML file given with --config, or the embedded default without one.
// See docs/config.md and examples/tern.toml for every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/log.h"
#include "core/data_reader.h"
#include "tls/settings.h"

namespace tern {

enum class ListenerKind { kSmtp, kSubmission, kSubmissions };
const char* listener_kind_name(ListenerKind k);  // "smtp", "submission", "submissions"

struct ListenerConfig {
  ListenerKind kind = ListenerKind::kSmtp;
  std::string address;  // as written: "127.0.0.1:2525", "[::1]:2525", ":25" (all addresses)
  std::string host;     // "127.0.0.1", "::1", "" for any (dual-stack)
  uint16_t port = 0;
};

struct Limits {
  uint64_t max_message_size = 50u * 1024 * 1024;  // octets, advertised in SIZE
  size_t max_recipients = 100;                    // per message; RFC 5321 4.5.3.1.8 wants >= 100
  size_t max_connections = 10000;                 // total
  size_t max_connections_per_ip = 20;             // loopback and trusted_networks exempt
  size_t max_errors = 20;                         // then 421 4.7.0 and close
  std::chrono::seconds command_timeout{300};      // RFC 5321 4.5.3.2.7: 5 minutes
  std::chrono::seconds data_timeout{
      600};  // between data blocks; 4.5.3.2.6 asks >= 10 min on the client side
  std::chrono::seconds shutdown_grace{30};  // SIGTERM: time for transactions in flight
  // Against abuse (core/admission.h; 0: no limit). Per address and its
  // network (IPv4 /24, IPv6 /64), loopback and trusted_networks exempt:
  size_t max_connections_per_network = 50;
  size_t connection_rate_per_ip = 60;  // new connections per minute
  size_t connection_rate_per_network = 180;
  size_t messages_per_hour_per_ip = 500;  // MAIL FROM commands
  size_t messages_per_hour_per_network = 1500;
  size_t recipients_per_hour_per_ip = 1000;  // RCPT TO accepted
  size_t recipients_per_hour_per_network = 3000;
  // Per authenticated user, from any address (a leaked password):
  size_t messages_per_hour_per_user = 200;
  size_t recipients_per_hour_per_user = 500;
  size_t outbound_recipients_per_hour_per_user = 200;  // to other domains
  // false: loopback clients are limited as others (tests; a proxy on loopback).
  bool loopback_exempt = true;
  // A whole session, however busy: then 421 4.4.2 and close.
  std::chrono::seconds session_timeout{3600};
  // Per session (SessionOptions): commands that move no message forward
  // since the last one (Postfix smtpd_junk_command_limit), failed AUTH
  // exchanges; then 421 4.7.0 and close.
  size_t max_commands_without_message = 100;
  size_t max_auth_failures = 3;
};

// [dns]: the resolver of outbound mail (dns/resolver.h).
struct DnsConfig {
  // Servers to send queries to, as written: "IP" or "IP@port" (IPv4 or
  // IPv6 literal, no brackets: "192.0.2.53", "127.0.0.1@5353", "::1@53").
  // Empty: the nameservers of /etc/resolv.conf.
  std::vector<std::string> forward;
  std::chrono::seconds timeout{10};  // per query
  // DNSSEC validation of the server's lookups (DANE, RFC 7672): on by
  // default, with Debian's root key (dns-root-data). The upstream servers
  // must pass DNSSEC records on (most do; see docs/tls.md).
  bool dnssec = true;
  std::string trust_anchor = "/usr/share/dns/root.key";  // DS/DNSKEY, zone-file form
};

// [[tls_policy]]: TLS towards one destination domain, or one MX host
// (next_hop), never both (relay/tls_requirement.h).
struct TlsPolicyConfig {
  std::string domain;  // lower case; ".example.org" for every subdomain; "" with next_hop
  // next_hop = "[mx.example.net]" or "[mx.example.net]:2525": the host
  // (lower case) and port (0: any); "" without.
  std::string next_hop_host;
  uint16_t next_hop_port = 0;
  std::string level;               // none, may, encrypt, dane, dane-only, verify, secure (checked)
  std::vector<std::string> match;  // verify/secure only: hostname, nexthop, dot-nexthop, names
};

// [queue]: retrying, giving up and warning (relay/schedule.h), and how many
// deliveries run at once (relay/limiter.h).
struct QueueConfig {
  // Wait after the 1st, 2nd, ... failed attempt; the last one repeats. Each
  // wait is spread by +-10% (jitter).
  std::vector<std::chrono::seconds> retry = {std::chrono::minutes(5),  std::chrono::minutes(10),
                                             std::chrono::minutes(20), std::chrono::minutes(40),
                                             std::chrono::minutes(80), std::chrono::minutes(160),
                                             std::chrono::hours(4)};
  std::chrono::seconds max_age = std::chrono::hours(24 * 5);   // then bounce
  std::chrono::seconds delay_warning = std::chrono::hours(4);  // 0: no delay warnings
  size_t max_concurrency = 20;                                 // deliveries at once
  size_t max_per_destination = 5;                              // ... to one domain
  // BENCHMARKS ONLY: false skips every fsync of the queue, so a crash can
  // lose mail already acknowledged. Never set it on a real server.
  bool fsync = true;
  // Below this many free octets on the spool's file system (plus a declared
  // SIZE), MAIL FROM gets 452 4.3.1 (queue/free_space.h). 0: no check.
  uint64_t min_free_space = 100u * 1024 * 1024;
};

// [relay]: how mail leaves for other domains (relay/remote_courier.h), and
// who may make it leave (the relay policy of the receiving side).
struct RelayConfig {
  enum class Security { kStarttls, kTls };
  // FOR TESTS ONLY: the TCP port of every destination host (MX or
  // smarthost without a port). Real mail servers listen on 25.
  uint16_t port = 25;
  // "host", "host:port", "[IP]" or "[IP]:port": all non-local mail goes
  // there (port 587 unless given), with AUTH when `user` is set. Empty:
  // delivery by MX records.
  std::string smarthost;
  std::string smarthost_host;  // parsed from smarthost ("" when unset)
  uint16_t smarthost_port = 0;
  Security security = Security::kStarttls;  // the smarthost's: STARTTLS (587) or implicit TLS (465)
  std::string user;
  std::string password;       // or:
  std::string password_file;  // read at start; trailing newline stripped
  // CA bundle (PEM) that smarthost certificates are checked against, in
  // addition to the system store. MX hosts' certificates are checked and
  // the result logged, but (like every MTA without DANE/MTA-STS) never
  // enforced.
  std::string ca_file;
  std::chrono::seconds connect_timeout{30};
  // Waits for each reply (greeting, EHLO, MAIL, RCPT, DATA...) and for each
  // write, and for the reply after the message: RFC 5321 4.5.3.2's
  // minimums (5 and 10 minutes) by default.
  std::chrono::seconds command_timeout{300};
  std::chrono::seconds data_timeout{600};
  size_t max_messages_per_connection = 100;  // then a new connection
  // A Received field with the outbound hop's TLS outcome on each message
  // sent to an MX host or the smarthost (relay/outbound_trace.h).
  bool trace_tls = true;
  // Authenticated users' MAIL FROM must be an address they own: their
  // login, or an alias that points to them. false: any sender.
  bool sender_check = true;
  // Forwarded mail from a foreign sender leaves with an SRS0 sender in our
  // hostname's domain (or srs_domain), so that SPF passes at the target.
  bool srs = true;
  std::string srs_domain;  // default: hostname
  // Clients allowed to use ETRN (RFC 1985), as CIDRs. Empty: ETRN is
  // refused (502), as most servers do.
  std::vector<std::string> etrn_networks;
};

// [spf]: SPF (RFC 7208) of mail arriving on the `smtp` listener, checked
// at the first RCPT of each transaction (docs/spf.md, "Incoming mail").
struct SpfConfig {
  bool enabled = true;
  bool reject_fail = true;      // on_fail: "reject" (550 5.7.23) or "mark"
  bool defer_temperror = true;  // on_temperror: "defer" (451 4.7.24) or "mark"
};

// [dkim]: checking the signatures of mail arriving on the `smtp` listener
// (signing needs no switch: a key in <data_dir>/dkim is the switch).
struct DkimConfig {
  bool verify = true;
};

// [dmarc]: the policy of the From domain (RFC 7489) for mail arriving on
// the `smtp` listener, evaluated at the end of DATA (docs/dmarc.md).
struct DmarcConfig {
  enum class Action {
    kReject,      // 550 5.7.1 at the end of DATA
    kQuarantine,  // accept; deliver to the recipient's Junk folder
    kMark,        // accept; only the Authentication-Results header says it
  };
  bool enabled = true;
  Action on_reject = Action::kReject;          // the domain says p=reject
  Action on_quarantine = Action::kQuarantine;  // p=quarantine (kReject not allowed)
  // Aggregate data is always recorded (<data_dir>/dmarc); reports (rua)
  // are sent once a day only when this is set.
  bool reports = false;
  std::string report_org;    // default: the hostname
  std::string report_email;  // From of the reports; default: postmaster@hostname
};

// [metrics]: the Prometheus endpoint (docs/metrics.md). Off when the
// section is absent; with the section and no listen, 127.0.0.1:9325.
struct MetricsConfig {
  std::string listen;  // "HOST:PORT" ("127.0.0.1:9325"); empty: no endpoint
  std::string host;    // parsed from listen: "127.0.0.1", "::1"; "" is every address
  uint16_t port = 0;
};

// [delivery]: how mail for the local domains reaches its mailbox: tern's
// own Maildirs (the default), or a mailbox server's LMTP socket (RFC 2033,
// relay/lmtp_courier.h). Each value is "maildir" or an LMTP address
// ("unix:/run/dovecot/lmtp", "tcp:127.0.0.1:24"; core/lmtp_address.h).
// A user's entry wins over its domain's, which wins over `lmtp`.
struct DeliveryConfig {
  std::string lmtp;                            // every local domain; "": Maildir
  std::map<std::string, std::string> domains;  // lower-cased domain -> "maildir" or address
  std::map<std::string, std::string> users;    // lower-cased address -> "maildir" or address
  std::chrono::seconds lmtp_timeout{120};      // each LMTP reply and write
  std::chrono::seconds lmtp_idle{30};          // an idle LMTP connection is kept this long
  size_t lmtp_max_messages_per_connection = 100;
};

// [auth]: who checks AUTH passwords: tern's own users file (the default,
// auth/users.h) or Dovecot's auth service (auth/dovecot_auth.h) through its
// auth-client socket, so that IMAP and SMTP share one password database.
struct AuthConfig {
  enum class Backend { kUsers, kDovecot };
  Backend backend = Backend::kUsers;
  std::string dovecot_socket = "/run/dovecot/auth-client";
  std::chrono::seconds dovecot_timeout{30};  // above Dovecot's own failure delays (up to 15 s)
};

// The LMTP address (core/lmtp_address.h text) that mail for `address`
// (a local mailbox, any case) goes to, or "" for tern's Maildir.
std::string lmtp_route(const DeliveryConfig& d, std::string_view address);

// [acme]: certificates from an ACME CA (RFC 8555) for the listeners
// (acme/manager.h, docs/acme.md), instead of tls.certificate.
struct AcmeConfig {
  bool enabled = false;
  std::string directory = "https://acme-v02.api.letsencrypt.org/directory";
  std::string email;               // the account's contact; "" = none
  std::vector<std::string> names;  // besides the hostname (which comes first), lower-cased
  // The HTTP-01 listener (RFC 8555 8.3): the CA connects to port 80 of each
  // name, so ":80" (all addresses) unless a proxy forwards it elsewhere.
  std::string listen = ":80";
  std::string ca_file;  // trust for the CA's HTTPS (tests: pebble's); "" = system store
  std::chrono::seconds retry_min{60};  // first wait after a failure; doubles up to 6 h
  // FOR TESTS: renew this long after the certificate's start instead of two
  // thirds into its lifetime. 0 = unset.
  std::chrono::seconds renew_after{0};
};

// [dnsbl]: DNS block and allow lists asked for each client of the smtp
// listener at connect, as Postfix's postscreen (screen/dnsbl.h, docs/filtering.md).
struct DnsblConfig {
  // "zone[=filter][*weight]" each, validated at load; empty: no lookups.
  std::vector<std::string> sites;
  int threshold = 1;                 // a score at or above it refuses the connection
  std::chrono::seconds timeout{10};  // for all the lookups of one client together
  size_t cache_size = 10000;         // client addresses whose answers are kept (for their TTL)
};

// [greylist] (screen/greylist.h, docs/filtering.md).
struct GreylistConfig {
  bool enabled = false;
  std::chrono::seconds delay{300};
  std::chrono::seconds retry_window{std::chrono::hours(48)};
  std::chrono::seconds expiry{std::chrono::hours(24 * 35)};
  size_t auto_allow_after = 5;  // 0: never
  size_t max_entries = 100000;
};

// [checks]: early refusals of obvious forgeries at MAIL FROM (screen/early_checks.h).
struct ChecksConfig {
  bool helo_reject = false;  // helo = "reject" | "ignore"
  enum class ReverseDns { kOff, kMark, kReject } reverse_dns = ReverseDns::kOff;
  bool own_domain_sender_reject = false;  // own_domain_sender = "reject" | "off"
};

// [[milter]]: a content filter speaking the Sendmail/Postfix milter
// protocol (milter/, server/milter_hooks.h, docs/filtering.md).
struct MilterConfig {
  std::string name;    // for logs; unique
  std::string socket;  // as written: "unix:/path" or "inet:IP:port" ("inet:[::1]:11332")
  // Parsed from socket: a unix path, or an IP literal and port.
  std::string unix_path;
  std::string host;
  uint16_t port = 0;
  std::vector<ListenerKind> listeners = {ListenerKind::kSmtp};  // where it applies
  // When the milter cannot be reached or breaks the protocol: refuse with
  // 451 4.7.1 (tempfail) or go on without it (accept).
  bool default_accept = false;
  // Postfix's milter_connect_timeout, milter_command_timeout and
  // milter_content_timeout.
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{30};
  std::chrono::seconds eom_timeout{300};
};

// [arc]: ARC (RFC 8617, docs/arc.md): verifying the chains of incoming
// mail, sealing the copies an alias forwards to outside addresses, and the
// sealers whose passing chains may override a DMARC fail.
struct ArcConfig {
  bool verify = true;    // arc= in Authentication-Results of mail on `smtp` listeners
  bool seal = false;     // seal forwarded copies; needs `domain` and its key
  std::string domain;    // d= of our seals; its key is <data_dir>/dkim/<domain>/<selector>.key
  std::string selector;  // empty: the domain's key of `algorithm` in the DKIM key store
  std::string algorithm = "rsa-sha256";  // or "ed25519-sha256"
  // Sealer domains (AS d=) trusted to report the original authentication
  // (RFC 8617 7.2.1): a DMARC fail is overridden when their chain passes
  // and their ARC-Authentication-Results say dmarc=pass.
  std::vector<std::string> trusted_sealers;
  // AUTH users whose mail we relay outside and seal like a forwarded copy:
  // forwarders of ours, such as a list server submitting through us.
  std::vector<std::string> trusted_forwarders;
};

// [mta_sts]: MTA-STS (RFC 8461, docs/mta-sts.md). The client side applies
// recipient domains' policies to outbound mail (relay/sts_fetch.h); the
// server side publishes ours at https://mta-sts.<domain>/.well-known/mta-sts.txt.
struct MtaStsConfig {
  bool enabled = true;                     // apply recipient domains' policies
  std::string cache_dir;                   // default: <data_dir>/mta-sts
  std::chrono::seconds fetch_timeout{20};  // the whole HTTPS fetch of a policy
  std::string ca_file;        // trusted besides the system store for policy fetches (tests)
  uint16_t https_port = 443;  // FOR TESTS: the port policies are fetched from
  // Serving our own policy.
  bool serve = false;
  std::string listen = ":443";  // "HOST:PORT" of the HTTPS listener
  std::string listen_host;      // parsed from listen ("" = every address)
  uint16_t listen_port = 443;
  std::string mode = "testing";  // enforce | testing | none
  std::vector<std::string> mx;   // patterns; default: the hostname
  uint32_t max_age = 604800;     // seconds (a week), at most 31557600
};

// [tls_rpt]: daily SMTP TLS reports (RFC 8460) about the TLS of outbound
// deliveries, to the rua of each recipient domain's _smtp._tls record
// (tlsrpt/reporter.h, docs/tls.md "TLS-RPT"). Results are recorded
// (<data_dir>/tls-rpt) whenever the relay reports them; reports are sent
// only when enabled.
struct TlsRptConfig {
  bool enabled = false;
  std::string organization;  // "organization-name"; default: the hostname
  std::string contact;       // "contact-info" and From; default: postmaster@hostname
  int report_hour = 1;       // UTC hour from which the previous day's reports go out
  // How often due reports are looked for. FOR TESTS: seconds; 1h otherwise.
  std::chrono::seconds check_every{3600};
  // FOR TESTS: the CA bundle that HTTPS report servers are checked
  // against instead of the system store.
  std::string ca_file;
};

struct Config {
  std::string source = "<embedded>";  // the file it came from
  std::string hostname;               // default: the system's host name
  std::string data_dir = "./tern-data";
  // The user `tern serve` switches to when started as root (its primary
  // group too), and that `tern user` / `tern dkim keygen` switch to as root
  // (server/privileges.h). Empty (unset): "tern" when started as root with a
  // config file; the starting user otherwise. "root" keeps root on purpose.
  std::string run_as;
  std::vector<std::string> domains = {"localhost"};  // lower-cased
  // Deliver mail for any local part of a local domain to its own Maildir
  // (the embedded default); when false, only users and aliases are accepted.
  bool accept_any_local_part = false;
  std::vector<ListenerConfig> listeners;
  std::string tls_certificate;  // both empty: self-signed, generated in data_dir/tls/
  std::string tls_private_key;
  TlsSettings tls;  // [tls] protocol and cipher policy of the listeners
  // How often tls_certificate and tls_private_key are looked at for a
  // change (certbot's renewals; docs/acme.md); 0 = only at SIGHUP.
  std::chrono::seconds tls_reload_check{60};
  Limits limits;
  std::vector<std::string> trusted_networks;  // CIDRs, e.g. "192.0.2.0/24"
  // Sender authentication (SPF, DKIM, DMARC, Authentication-Results) skips
  // trusted_networks and, unless this is set, loopback clients
  // (127.0.0.0/8, ::1): a local filter reinjecting mail, tests.
  bool check_loopback = false;
  BareNewline bare_newline = BareNewline::kReject;
  bool vrfy = false;  // true: VRFY answers 250/550 for local users; false: 252
  LogFormat log_format = LogFormat::kText;  // log_format: "text" or "json" (docs/logging.md)
  // How long a successful AUTH is remembered (auth/users.h: set_verify_cache);
  // 0: every AUTH runs argon2.
  std::chrono::seconds auth_cache{3600};
  DnsConfig dns;
  std::vector<TlsPolicyConfig> tls_policies;  // [[tls_policy]], in file order
  QueueConfig queue;
  RelayConfig relay;
  SpfConfig spf;
  DkimConfig dkim;
  DmarcConfig dmarc;
  MetricsConfig metrics;
  DeliveryConfig delivery;
  AuthConfig auth;
  AcmeConfig acme;
  DnsblConfig dnsbl;
  GreylistConfig greylist;
  ChecksConfig checks;
  std::vector<MilterConfig> milters;  // in order: each sees the message the one before left
  ArcConfig arc;
  MtaStsConfig mta_sts;
  TlsRptConfig tls_rpt;
};

// Thrown by load_config and parse_config; what() is
// "FILE:LINE:COL: key 'K': problem" (K dotted: "limits.max_recipients",
// "listener[0].address"), "FILE:LINE:COL: TOML syntax error: ..." or, for a
// file that cannot be read, "FILE: cannot open: reason".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads and validates a TOML config file. Unknown keys are errors (a typo
// must not silently fall back to a default).
Config load_config(const std::string& path);
// Parses TOML text; `source` names it in errors.
Config parse_config(std::string_view text, const std::string& source);
// The embedded default: hostname from the system, ./tern-data, domain
// localhost with accept_any_local_part, listeners smtp 127.0.0.1:2525,
// submission 127.0.0.1:2587, submissions 127.0.0.1:2465.
Config default_config();

// True if `domain` (any case) is one of config.domains.
bool is_local_domain(const Config& config, std::string_view domain);

}  // namespace tern
