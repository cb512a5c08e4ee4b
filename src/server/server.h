// Server: `tern serve`. Owns the event loop, the listeners, the TLS
// context, the directory (users, aliases), the queue and the delivery
// worker (queue scheduler, couriers, admin socket: delivery_worker.h), and
// wires each accepted connection to a ServerSession.
//
// Signals: SIGHUP reloads the config file, certificate, users and aliases
// without dropping sessions; SIGTERM/SIGINT stop accepting, let
// transactions in flight finish (bounded by limits.shutdown_grace) and
// make run() return 0. A service manager (Type=notify) hears of each of
// these and gets watchdog pings from the loop (service_notify.h).
//
// The event loop runs on the thread that calls run(); blocking work
// (fsync, password hashing) runs on a small thread pool.
#pragma once

#include <algorithm>
#include <asio.hpp>
#include <asio/ssl.hpp>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "acme/challenges.h"
#include "acme/manager.h"
#include "config/config.h"
#include "core/admission.h"
#include "core/cidr.h"
#include "http/server.h"
#include "queue/free_space.h"
#include "queue/fs_store.h"
#include "screen/client_screen.h"
#include "server/connection_deps.h"
#include "server/delivery_worker.h"
#include "server/directory.h"
#include "server/listeners.h"
#include "server/mta_sts_http.h"
#include "tls/tls.h"

namespace tern::http {
class Server;
}

namespace tern {

class Connection;

class Server : private ClientLimits, private MailHandoff {
 public:
  // Prepares the data dir, queue and TLS, and accepts on `listeners`
  // (bound by the caller, before it gave up root: privileges.h). Checks the
  // files it needs (file_access.h), here and at each reload. Throws
  // std::runtime_error with a clear message on any start-up problem.
  Server(Config config, std::string config_path, std::vector<BoundListener> listeners);
  ~Server();

  int run();

  // Serves GET /metrics (metrics/server_metrics.h) on `http`, bound by the
  // caller before the privilege drop, from run() until it returns.
  // REQUIRES: before run().
  void serve_metrics(std::unique_ptr<http::Server> http);
  // [acme]: the HTTP-01 listener, bound by the caller before the privilege
  // drop; served from run() on. REQUIRES: before run(), acme.enabled.
  void use_acme_listener(std::unique_ptr<http::Server> listener);
  // [mta_sts] serve: `listener` (HTTPS, bound) answers our policy with the
  // certificate the listeners serve, which `cert` follows (mta_sts_http.h).
  void serve_mta_sts(std::unique_ptr<http::Server> listener, std::shared_ptr<CertificateSlot> cert);
  // The certificate manager's state, for metrics (nullopt without [acme]).
  std::optional<acme::ManagerStatus> acme_status() const;

  // For connections.
  asio::io_context& io() { return io_; }
  asio::thread_pool& pool() { return pool_; }
  asio::thread_pool& auth_pool() { return auth_pool_; }
  std::shared_ptr<const Config> config() const { return directory_.config(); }
  std::shared_ptr<asio::ssl::context> tls_context() const { return tls_; }
  Directory& directory() { return directory_; }
  QueueStore& store() { return store_; }
  DeliveryWorker& worker() { return worker_; }
  ClientScreen& screen() { return screen_; }  // DNSBL, greylist, early checks
  bool draining() const { return draining_; }

  // ClientLimits (connection_deps.h), for connections.
  // Connection accounting: returns a refusal reply when over a limit
  // (logged and counted); detach() ends what admit() counted.
  std::optional<Reply> admit(Connection* c, const std::string& ip) override;
  void attach(Connection* c, const std::string& ip) override;
  void detach(Connection* c, const std::string& ip) override;

  // Per-hour message and recipient limits (core/admission.h) of a MAIL
  // FROM and an accepted RCPT TO from `ip` by `user` ("" if none): a
  // refusal (logged and counted), or nullopt, and then it is counted.
  std::optional<Reply> limit_mail(const std::string& ip, const std::string& user) override;
  std::optional<Reply> limit_rcpt(const std::string& ip, const std::string& user,
                                  bool outbound) override;
  // Whether the spool lacks room for a message of `declared_size` octets
  // (queue.min_free_space, queue/free_space.h): MAIL FROM gets 452 4.3.1.
  bool storage_low(uint64_t declared_size) override;
  // How often each limit refused, timeouts included: for metrics.
  LimitCounters& limit_counters() override { return admission_.counters(); }

  // Failed AUTH throttle: the delay to apply before answering a failure
  // from `ip` (grows with recent failures, capped).
  std::chrono::milliseconds auth_failure_delay(const std::string& ip) override;

 private:
  // MailHandoff (connection_deps.h): to the delivery worker; no ETRN
  // flush while shutting down.
  void enqueue(const Envelope& env) override { worker_.enqueue(env); }
  std::optional<size_t> flush_domain(const std::string& domain, bool subdomains) override;
  void record_dmarc(const dmarc::AggregateRow& row) override;
  // What a new connection is given: the config and TLS context of now.
  ConnectionDeps connection_deps();

  asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, ListenerConfig listener);
  asio::awaitable<void> signal_loop();
  // False when the new configuration was refused (the old one serves on).
  bool reload();
  // STATUS= for the service manager (service_notify.h): the listeners.
  std::string ready_status() const;
  void begin_shutdown();
  // After begin_shutdown: stops the loop once no connection is left and the
  // deliveries in flight have ended (or the grace is over).
  void maybe_stop();
  // Exempt from the limits per address: loopback (unless
  // limits.loopback_exempt is false) and trusted_networks.
  bool trusted(const std::string& ip) const;
  void set_trusted(const Config& config);
  void log_refusal(const std::string& ip, const std::string& user, const LimitRefusal& r);
  // The /metrics handler (an HTTP thread): what the loop owns (the queue,
  // the limit counters) is read by a task posted to the loop.
  http::Response scrape();
  // The certificate the listeners serve: [acme]'s once it has one, else
  // tls_certificate or the self-signed pair.
  ServerTlsOptions tls_options(const Config& c) const;
  // After the ACME manager wrote a new chain (on the loop thread): the
  // listeners' next handshakes use it; sessions under way keep the old one.
  void swap_acme_certificate();
  // Every tls_reload_check: when tls.certificate or tls.private_key changed
  // (certbot renewed: a new file behind the live/ symlink), loads them as
  // SIGHUP would; a pair that does not load is logged and the old one kept.
  asio::awaitable<void> watch_tls_files();

  std::string config_path_;
  asio::io_context io_{1};
  // Blocking file work (spool commits, queue, Maildir): mostly waiting on
  // fsync. Many at once let the journal commit many sessions' fsyncs
  // together (ext4's jbd2 batches them): measured at 100 sessions, 8
  // threads 2,700-3,100 msg/s, 32 threads 4,500-5,000, 64 no better.
  asio::thread_pool pool_{32};
  // argon2id verifications (AUTH): CPU and 64 MiB each, so few at once,
  // and an AUTH flood does not hold up the spool.
  asio::thread_pool auth_pool_{std::max(2u, std::thread::hardware_concurrency())};
  Directory directory_;
  FsQueueStore store_;
  Quarantine quarantine_;  // <data_dir>/quarantine: milters' SMFIR_QUARANTINE
  DeliveryWorker worker_;
  ClientScreen screen_;
  std::shared_ptr<asio::ssl::context> tls_;
  acme::ChallengeTable challenges_;                 // HTTP-01 tokens, read by acme_http_'s threads
  std::unique_ptr<acme::Manager> acme_;             // [acme] enabled
  std::unique_ptr<http::Server> acme_http_;         // its port 80 listener
  std::string tls_files_seen_;                      // tls_files_signature() of the pair in use
  std::vector<asio::ip::tcp::acceptor> acceptors_;  // not resized after construction
  std::vector<ListenerConfig> listeners_;
  std::vector<Cidr> trusted_;  // config.trusted_networks, parsed
  std::map<Connection*, std::string> connections_;
  Admission admission_;
  FreeSpace free_space_;
  std::unordered_set<Connection*> limited_;  // counted by admission_.connect()
  struct AuthFailures {
    int count = 0;
    std::chrono::steady_clock::time_point last;
  };
  std::unordered_map<std::string, AuthFailures> auth_failures_;
  // Made with the server, before the listeners exist: a signal that comes
  // as soon as a port accepts (a test's SIGTERM) is queued, not fatal.
  asio::signal_set signals_{io_, SIGINT, SIGTERM, SIGHUP};
  bool draining_ = false;
  bool deliveries_idle_ = false;  // the delivery worker has drained
  bool grace_over_ = false;
  asio::steady_timer grace_timer_{io_};
  std::unique_ptr<http::Server> metrics_http_;  // stopped first in ~Server
  std::shared_ptr<CertificateSlot> sts_cert_;   // follows tls_ for sts_http_
  std::unique_ptr<http::Server> sts_http_;      // [mta_sts] serve
};

}  // namespace tern
