#include "server/server.h"

#include <openssl/x509.h>
#include <sys/stat.h>

#include <filesystem>
#include <future>

#include "base/clock.h"
#include "base/log.h"
#include "http/server.h"
#include "metrics/server_metrics.h"
#include "net/awaitable.h"
#include "net/stream.h"
#include "server/connection.h"
#include "server/fd_reserve.h"
#include "server/file_access.h"
#include "server/service_notify.h"
#include "sts/publish.h"
#include "tls/tls.h"

namespace tern {

namespace {

// Keeps the connection alive for as long as its coroutine runs.
asio::awaitable<void> run_connection(std::shared_ptr<Connection> conn) { co_await conn->run(); }

// [acme] as the certificate manager takes it: the hostname first (the CN),
// then the extra names.
acme::ManagerOptions acme_options(const Config& c) {
  acme::ManagerOptions o;
  o.directory_url = c.acme.directory;
  o.email = c.acme.email;
  o.names = {c.hostname};
  for (const std::string& n : c.acme.names)
    if (std::find(o.names.begin(), o.names.end(), n) == o.names.end()) o.names.push_back(n);
  o.ca_file = c.acme.ca_file;
  o.dir = c.data_dir + "/acme";
  o.retry_min = c.acme.retry_min;
  o.renew_after = c.acme.renew_after;
  return o;
}

// What identifies the content of the configured certificate and key files
// without reading them: device, inode, size and modification time of each,
// through symlinks (certbot's live/ links point at a new archive/ file on
// every renewal). "" without configured files.
std::string tls_files_signature(const Config& c) {
  if (c.tls_certificate.empty() || c.acme.enabled) return "";
  std::string out;
  for (const std::string* path : {&c.tls_certificate, &c.tls_private_key}) {
    struct stat st {};
    if (::stat(path->c_str(), &st) != 0) {
      out += "missing;";
      continue;
    }
    out += fmt::format("{}:{}:{}:{}.{};", st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec,
                       st.st_mtim.tv_nsec);
  }
  return out;
}

void make_dir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw std::runtime_error("cannot create " + path + ": " + ec.message());
}

// notAfter of the certificate `ctx` serves, as a gauge (0: none).
void publish_certificate_expiry(asio::ssl::context* ctx) {
  X509* cert = ctx ? SSL_CTX_get0_certificate(ctx->native_handle()) : nullptr;
  std::tm tm{};
  double when = 0;
  if (cert && ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
    when = static_cast<double>(timegm(&tm));
  metrics::server().certificate_expiry.with({}).set(when);
}

// The queue gauges from the loop's snapshot; ages are as of `now`.
void publish_queue(const QueueStats& q, int64_t now) {
  metrics::ServerMetrics& m = metrics::server();
  const std::pair<const char*, const QueueStats::State*> states[] = {
      {"active", &q.active}, {"ready", &q.ready}, {"deferred", &q.deferred}};
  for (const auto& [name, st] : states) {
    m.queue_messages.with({name}).set(static_cast<double>(st->messages));
    const int64_t age = st->oldest > 0 ? std::max<int64_t>(0, now - st->oldest) : 0;
    m.queue_oldest_age.with({name}).set(static_cast<double>(age));
  }
}

}  // namespace

Server::Server(Config config, std::string config_path, std::vector<BoundListener> listeners)
    : config_path_(std::move(config_path)),
      directory_(std::make_shared<const Config>(config)),
      store_(config.data_dir + "/queue", config.queue.fsync),
      quarantine_(config.data_dir + "/quarantine", store_, config.queue.fsync),
      worker_(io_, pool_, &store_, &quarantine_, &directory_, config.data_dir),
      screen_(config),
      free_space_(config.data_dir + "/queue") {
  make_dir(config.data_dir);
  ::chmod(config.data_dir.c_str(), 0700);
  // As the user we run as (privileges.h): what it cannot read or write is
  // an error now, not at the first delivery or reload.
  if (Status s = check_files(config, config_path_); !s.ok()) throw std::runtime_error(s.message());
  make_dir(config.data_dir + "/mail");
  if (Status s = store_.open(); !s.ok())
    throw std::runtime_error("queue " + config.data_dir + "/queue: " + s.message());
  // Before the scheduler loads the queue: a release a crash cut short is
  // completed (queue/quarantine.h). A failure leaves it for the next start.
  if (Status s = quarantine_.recover(); !s.ok())
    log_error("quarantine {}/quarantine: {}", config.data_dir, s.message());
  if (Status s = directory_.load(); !s.ok()) throw std::runtime_error(s.message());
  worker_.open();
  screen_.open(unix_seconds());
  if (config.acme.enabled) {
    acme_ = std::make_unique<acme::Manager>(acme_options(config), challenges_, [this] {
      asio::post(io_, [this] { swap_acme_certificate(); });
    });
    acme_->prepare();
  }
  tls_files_seen_ = tls_files_signature(config);
  tls_ = make_server_tls_context(tls_options(config));
  publish_certificate_expiry(tls_.get());
  if (sts_cert_) sts_cert_->set(tls_);
  set_trusted(config);
  for (BoundListener& l : listeners) {
    asio::ip::tcp::acceptor acc(io_);
    acc.assign(l.v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), l.release());
    try {
      acc.listen(asio::socket_base::max_listen_connections);
    } catch (const std::system_error& e) {
      throw std::runtime_error("listener " + std::string(listener_kind_name(l.config().kind)) +
                               " " + l.config().address + ": " + e.code().message());
    }
    acceptors_.push_back(std::move(acc));
    listeners_.push_back(l.config());
  }
}

Server::~Server() {
  if (sts_http_) sts_http_->stop();
  if (acme_) acme_->stop();
  if (acme_http_) acme_http_->stop();
  if (metrics_http_) metrics_http_->stop();
  worker_.stop();
}

void Server::serve_metrics(std::unique_ptr<http::Server> http) {
  metrics_http_ = std::move(http);
  metrics_http_->get("/metrics", [this](const http::Request&) { return scrape(); });
}

http::Response Server::scrape() {
  struct Snapshot {
    QueueStats queue;
  };
  auto task = std::make_shared<std::promise<Snapshot>>();
  std::future<Snapshot> result = task->get_future();
  asio::post(io_, [this, task] {
    metrics::publish_limits(admission_.counters());
    task->set_value(Snapshot{worker_.scheduler().stats()});
  });
  // A loop too busy to answer within a second (or stopped) leaves the
  // queue gauges as they were: the scrape itself must not hang.
  if (result.wait_for(std::chrono::seconds(1)) == std::future_status::ready) {
    try {
      publish_queue(result.get().queue, unix_seconds());
    } catch (const std::future_error&) {
      // the loop stopped and dropped the task
    }
  }
  if (std::optional<acme::ManagerStatus> a = acme_status()) {  // the manager's own lock
    metrics::ServerMetrics& m = metrics::server();
    m.acme_last_success.with({}).set(static_cast<double>(a->last_success));
    m.acme_last_failure.with({}).set(static_cast<double>(a->last_failure));
    m.acme_failures.with({}).set(static_cast<double>(a->failures));
    m.acme_next_attempt.with({}).set(static_cast<double>(a->next_attempt));
  }
  return http::Response{200, std::string(metrics::kContentType), metrics::registry().render()};
}

ServerTlsOptions Server::tls_options(const Config& c) const {
  ServerTlsOptions o{c.tls_certificate, c.tls_private_key, c.tls, c.hostname, c.data_dir};
  // Until the first issuance the self-signed pair is served: the listeners
  // (and port 80 for the challenge) must be up for the CA to validate.
  if (acme_ && acme_->usable()) {
    o.certificate = acme_->chain_path();
    o.private_key = acme_->key_path();
  }
  return o;
}

void Server::use_acme_listener(std::unique_ptr<http::Server> listener) {
  acme_http_ = std::move(listener);
  // RFC 8555 8.3: GET /.well-known/acme-challenge/TOKEN answers the key
  // authorization, as text; anything else is 404.
  acme_http_->get_prefix("/.well-known/acme-challenge/", [this](const http::Request& req) {
    const std::string token = req.path.substr(req.path.rfind('/') + 1);
    if (std::optional<std::string> ka = challenges_.find(token)) {
      log_info("acme: challenge answered token={} client={}", log_value(token), req.remote_addr);
      return http::Response{200, "application/octet-stream", *ka};
    }
    log_warn("acme: unknown challenge token={} client={}", log_value(token), req.remote_addr);
    return http::Response{404, "text/plain; charset=utf-8", "no such challenge\n"};
  });
}

void Server::serve_mta_sts(std::unique_ptr<http::Server> listener,
                           std::shared_ptr<CertificateSlot> cert) {
  sts_http_ = std::move(listener);
  sts_cert_ = std::move(cert);
  sts_cert_->set(tls_);
  const MtaStsConfig& m = directory_.config()->mta_sts;
  const sts::Policy policy = sts::make_policy(m.mode, m.mx, m.max_age);
  serve_mta_sts_policy(*sts_http_, policy);
  log_info("mta-sts: serving policy id={} mode={} mx={} max_age={}", sts::policy_id(policy), m.mode,
           fmt::join(m.mx, ","), m.max_age);
}

std::optional<acme::ManagerStatus> Server::acme_status() const {
  if (!acme_) return std::nullopt;
  return acme_->status();
}

void Server::swap_acme_certificate() {
  try {
    tls_ = make_server_tls_context(tls_options(*directory_.config()));
    publish_certificate_expiry(tls_.get());
    if (sts_cert_) sts_cert_->set(tls_);
    log_info("acme: listeners serve the new certificate from now on");
  } catch (const std::exception& e) {
    log_error("acme: cannot use the new certificate, keeping the old one: {}", e.what());
  }
}

int Server::run() {
  auto config = directory_.config();
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    log_info("listening kind={} address={}", listener_kind_name(listeners_[i].kind),
             listeners_[i].address);
    asio::co_spawn(io_, accept_loop(acceptors_[i], listeners_[i]), asio::detached);
  }
  asio::co_spawn(io_, signal_loop(), asio::detached);
  asio::co_spawn(io_, watch_tls_files(), asio::detached);
  worker_.start();
  if (metrics_http_) {
    metrics_http_->start();
    log_info("metrics listening address={}", config->metrics.listen);
  }
  metrics::server().start_time.with({}).set(static_cast<double>(unix_seconds()));
  if (acme_http_) {
    log_info("listening kind=acme-http-01 port={}", acme_http_->port());
    acme_http_->start();
  }
  if (sts_http_) {
    log_info("listening kind=mta-sts-https port={}", sts_http_->port());
    sts_http_->start();
  }
  if (acme_) acme_->start();
  log_info("tern {} started hostname={} data_dir={} domains={} config={}", TERN_VERSION,
           config->hostname, config->data_dir, fmt::join(config->domains, ","), config->source);
  // The listeners accept (listen() ran in the constructor) and root is gone
  // (serve_cmd.cc dropped it first): a Type=notify unit is up now.
  notify_ready(ready_status());
  start_watchdog(io_);
  io_.run();
  if (sts_http_) sts_http_->stop();
  if (acme_) acme_->stop();
  if (acme_http_) acme_http_->stop();
  if (metrics_http_) metrics_http_->stop();
  worker_.stop();
  pool_.join();
  auth_pool_.join();
  log_info("tern stopped");
  return 0;
}

std::string Server::ready_status() const {
  std::string s = "serving";
  for (const ListenerConfig& l : listeners_)
    s += fmt::format(" {}={}", listener_kind_name(l.kind), l.address);
  return s;
}

asio::awaitable<void> Server::accept_loop(asio::ip::tcp::acceptor& acceptor,
                                          ListenerConfig listener) {
  asio::steady_timer shutdown_poll(io_);
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (draining_) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // EMFILE and friends: back off instead of spinning.
      log_warn("accept on {}: {}", listener.address, ec.message());
      shutdown_poll.expires_after(std::chrono::milliseconds(100));
      co_await shutdown_poll.async_wait(use_tuple);
      continue;
    }
    if (descriptors_short(socket.native_handle())) {
      // The last descriptors are for the sessions running (fd_reserve.h).
      log_warn("refused connection on {}: too few file descriptors left", listener.address);
      refuse_short_of_descriptors(socket.native_handle());
      metrics::server()
          .connections.with({listener_kind_name(listener.kind), "refused_descriptors"})
          .inc();
      continue;  // `socket` closes here
    }
    auto conn = std::make_shared<Connection>(
        connection_deps(), std::make_unique<SmtpStream>(std::move(socket)), listener);
    asio::co_spawn(io_, run_connection(std::move(conn)), asio::detached);
  }
}

asio::awaitable<void> Server::watch_tls_files() {
  asio::steady_timer timer(io_);
  while (!draining_) {
    const auto every = directory_.config()->tls_reload_check;
    timer.expires_after(every.count() > 0 ? every : std::chrono::seconds(60));
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec || draining_) co_return;
    auto config = directory_.config();
    if (config->tls_reload_check.count() == 0) continue;
    const std::string now = tls_files_signature(*config);
    if (now.empty() || now == tls_files_seen_) continue;
    // Remembered even when the pair does not load: certbot writes the
    // certificate and the key one after the other, and the second write is
    // a change of its own.
    tls_files_seen_ = now;
    try {
      tls_ = make_server_tls_context(tls_options(*config));
      publish_certificate_expiry(tls_.get());
      if (sts_cert_) sts_cert_->set(tls_);
      log_info("tls: certificate files changed; listeners serve the new certificate from {}",
               config->tls_certificate);
    } catch (const std::exception& e) {
      log_warn("tls: certificate files changed but do not load, keeping the old pair: {}",
               e.what());
    }
  }
}

asio::awaitable<void> Server::signal_loop() {
  for (;;) {
    auto [ec, sig] = co_await signals_.async_wait(use_tuple);
    if (ec) co_return;
    if (sig == SIGHUP) {
      notify_reloading();
      const bool ok = reload();
      // READY=1 either way: after a refused reload the old config serves.
      notify_ready(ok ? ready_status() : "reload failed (see the log); " + ready_status());
      continue;
    }
    log_info("signal {}: shutting down", sig == SIGTERM ? "TERM" : "INT");
    notify_stopping("shutting down");
    begin_shutdown();
    std::error_code ignored;
    signals_.clear(ignored);  // a second signal acts at once, as the system's default
    co_return;
  }
}

bool Server::reload() {
  if (config_path_.empty()) {
    log_info("SIGHUP: embedded config; reloading certificate, users and aliases");
  }
  try {
    auto fresh = std::make_shared<const Config>(config_path_.empty() ? *directory_.config()
                                                                     : load_config(config_path_));
    if (Status s = check_files(*fresh, config_path_); !s.ok())
      throw std::runtime_error(s.message());
    auto ctx = make_server_tls_context(tls_options(*fresh));
    if (fresh->data_dir != directory_.config()->data_dir)
      log_warn("SIGHUP: data_dir changes need a restart; keeping the old one");
    if (fresh->listeners.size() != listeners_.size())
      log_warn("SIGHUP: listener changes need a restart");
    if (fresh->run_as != directory_.config()->run_as)
      log_warn("SIGHUP: run_as changes need a restart (root is gone)");
    tls_ = std::move(ctx);
    set_log_format(fresh->log_format);
    publish_certificate_expiry(tls_.get());
    if (sts_cert_) sts_cert_->set(tls_);
    tls_files_seen_ = tls_files_signature(*fresh);
    set_trusted(*fresh);
    worker_.reconfigure(*fresh);
    directory_.set_config(std::move(fresh));
    if (Status s = directory_.load(); !s.ok()) log_warn("SIGHUP: {}", s.message());
    if (acme_) acme_->wake();  // a staged key.next.pem (tern acme rollkey) is acted on now
    log_info("SIGHUP: configuration reloaded");
    return true;
  } catch (const std::exception& e) {
    log_error("SIGHUP: reload failed, keeping the running configuration: {}", e.what());
    return false;
  }
}

void Server::begin_shutdown() {
  draining_ = true;
  for (auto& acc : acceptors_) {
    std::error_code ec;
    acc.close(ec);  // the accept loops end with operation_aborted
  }
  for (auto& [c, ip] : connections_) c->drain();
  // Deliveries in flight finish too (none starts), so none is cut between
  // its Maildir copy and its record.
  worker_.drain([this] {
    deliveries_idle_ = true;
    maybe_stop();
  });
  grace_timer_.expires_after(directory_.config()->limits.shutdown_grace);
  grace_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    log_warn("shutdown grace over: closing {} connection(s)", connections_.size());
    grace_over_ = true;
    for (auto& [c, ip] : connections_) c->force_close();
    maybe_stop();
  });
  maybe_stop();
}

void Server::maybe_stop() {
  if (!draining_ || !connections_.empty() || !(deliveries_idle_ || grace_over_)) return;
  grace_timer_.cancel();
  io_.stop();
}

ConnectionDeps Server::connection_deps() {
  ConnectionDeps d;
  d.config = config();
  d.tls = tls_;
  d.store = &store_;
  d.quarantine = &quarantine_;
  d.recipients = &directory_;
  d.limits = this;
  d.handoff = this;
  d.dns = &worker_.dns();
  d.screen = &screen_;
  d.blocking = pool_.get_executor();
  d.hashing = auth_pool_.get_executor();
  return d;
}

std::optional<size_t> Server::flush_domain(const std::string& domain, bool subdomains) {
  if (draining_) return std::nullopt;
  return worker_.scheduler().flush_domain(domain, subdomains);
}

void Server::record_dmarc(const dmarc::AggregateRow& row) { worker_.dmarc_log().record(row); }

std::optional<Reply> Server::admit(Connection* c, const std::string& ip) {
  auto config = directory_.config();
  const std::string& host = config->hostname;
  auto refused = [c](const char* outcome) {
    metrics::server().connections.with({listener_kind_name(c->listener().kind), outcome}).inc();
  };
  if (draining_) {
    refused("refused_shutdown");
    return Reply(421, "4.3.2", host + " Service shutting down, try again later");
  }
  if (connections_.size() >= config->limits.max_connections) {
    refused("refused_busy");
    return Reply(421, "4.7.0", host + " Too many connections, try again later");
  }
  if (!trusted(ip)) {
    if (std::optional<LimitRefusal> r = admission_.connect(ip, std::chrono::steady_clock::now())) {
      refused("refused_limit");
      log_refusal(ip, "", *r);
      return r->reply(host);
    }
    limited_.insert(c);
  }
  return std::nullopt;
}

bool Server::storage_low(uint64_t declared_size) {
  return free_space_.low(directory_.config()->queue.min_free_space, declared_size);
}

std::optional<Reply> Server::limit_mail(const std::string& ip, const std::string& user) {
  const std::string& limited_ip = trusted(ip) ? std::string() : ip;
  std::optional<LimitRefusal> r =
      admission_.mail(limited_ip, user, std::chrono::steady_clock::now());
  if (!r) return std::nullopt;
  log_refusal(ip, user, *r);
  return r->reply(directory_.config()->hostname);
}

std::optional<Reply> Server::limit_rcpt(const std::string& ip, const std::string& user,
                                        bool outbound) {
  const std::string& limited_ip = trusted(ip) ? std::string() : ip;
  std::optional<LimitRefusal> r =
      admission_.rcpt(limited_ip, user, outbound, std::chrono::steady_clock::now());
  if (!r) return std::nullopt;
  log_refusal(ip, user, *r);
  return r->reply(directory_.config()->hostname);
}

void Server::log_refusal(const std::string& ip, const std::string& user, const LimitRefusal& r) {
  log_info("limit client={} auth={} limit={} key={} value={} max={}", ip, user.empty() ? "-" : user,
           limit_name(r.limit), r.key, r.value, r.max);
}

// The trusted networks, and the limits that exempt them.
void Server::set_trusted(const Config& config) {
  trusted_.clear();
  for (const auto& net : config.trusted_networks)
    if (auto c = Cidr::parse(net)) trusted_.push_back(*c);  // validated at load
  const Limits& l = config.limits;
  AdmissionLimits a;
  a.connections_per_ip = l.max_connections_per_ip;
  a.connections_per_network = l.max_connections_per_network;
  a.connection_rate_per_ip = l.connection_rate_per_ip;
  a.connection_rate_per_network = l.connection_rate_per_network;
  a.messages_per_hour_per_ip = l.messages_per_hour_per_ip;
  a.messages_per_hour_per_network = l.messages_per_hour_per_network;
  a.recipients_per_hour_per_ip = l.recipients_per_hour_per_ip;
  a.recipients_per_hour_per_network = l.recipients_per_hour_per_network;
  a.messages_per_hour_per_user = l.messages_per_hour_per_user;
  a.recipients_per_hour_per_user = l.recipients_per_hour_per_user;
  a.outbound_recipients_per_hour_per_user = l.outbound_recipients_per_hour_per_user;
  admission_.set_limits(a);
}

bool Server::trusted(const std::string& ip) const {
  if (is_loopback_ip(ip) && directory_.config()->limits.loopback_exempt) return true;
  for (const Cidr& c : trusted_)
    if (c.contains(ip)) return true;
  return false;
}

void Server::attach(Connection* c, const std::string& ip) { connections_.emplace(c, ip); }

void Server::detach(Connection* c, const std::string& ip) {
  if (connections_.erase(c) == 0) return;
  if (limited_.erase(c)) admission_.disconnect(ip, std::chrono::steady_clock::now());
  if (draining_) maybe_stop();
}

std::chrono::milliseconds Server::auth_failure_delay(const std::string& ip) {
  auto now = std::chrono::steady_clock::now();
  AuthFailures& f = auth_failures_[ip];
  if (now - f.last > std::chrono::minutes(10)) f.count = 0;
  f.last = now;
  ++f.count;
  if (auth_failures_.size() > 10000) auth_failures_.clear();  // bounded memory
  // 1 s, 2 s, 4 s, ... capped at 16 s: slows guessing, not a mistyped password.
  int shift = std::min(f.count - 1, 4);
  return std::chrono::milliseconds(1000 << shift);
}

}  // namespace tern
