#include "server/delivery_worker.h"

#include <chrono>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "dmarc/reporter.h"
#include "net/awaitable.h"
#include "queue/queue_id.h"
#include "relay/arc_seal.h"
#include "relay/inject.h"
#include "server/queue_admin.h"
#include "server/relay_settings.h"

namespace tern {
namespace {

// A LocalDeliveryEnv that keeps alive the config and aliases it points to.
struct LocalEnvSnapshot : LocalDeliveryEnv {
  std::shared_ptr<const Config> config;
  std::shared_ptr<const Aliases> aliases_snapshot;
};

// The resolver of outbound mail, as [dns] says.
ResolverOptions resolver_options(const DnsConfig& dns) {
  ResolverOptions o;
  o.forwarders = dns.forward;
  o.timeout = dns.timeout;
  if (dns.dnssec) o.trust_anchor = dns.trust_anchor;  // DANE (docs/tls.md)
  return o;
}

// SRS, as the Directory decides: the sender of a copy an alias forwards,
// and where a DSN about it goes.
std::function<Address(const Address&, int64_t)> forward_sender_of(Directory* directory) {
  return [directory](const Address& from, int64_t now) {
    return directory->forward_sender(from, now);
  };
}
std::function<Address(const Address&, int64_t)> dsn_recipient_of(Directory* directory) {
  return [directory](const Address& sender, int64_t now) {
    return directory->bounce_recipient(sender, now);
  };
}

// The DKIM signing keys in `dir`, each problem logged (a bad key file never
// stops the server: that domain's mail goes unsigned, or signed by the
// domain's other key).
std::shared_ptr<const dkim::KeyStore> load_dkim_keys(const std::string& dir) {
  std::vector<std::string> problems;
  auto store = std::make_shared<const dkim::KeyStore>(dkim::KeyStore::load(dir, &problems));
  for (const std::string& p : problems) log_warn("dkim: {}", p);
  for (const std::string& d : store->describe()) log_info("dkim: signing for {}", d);
  return store;
}

// [relay] as the config says, with the DKIM keys.
std::shared_ptr<const RelaySettings> outbound_settings(const Config& config,
                                                       const std::string& dkim_dir) {
  RelaySettings s = relay_settings(config, local_addresses());
  s.dkim_keys = load_dkim_keys(dkim_dir);
  std::string problem;
  s.arc_sealing = arc_sealing(config, *s.dkim_keys, &problem);
  if (!problem.empty()) log_warn("arc: {}", problem);
  if (s.arc_sealing) {
    log_info("arc: sealing forwarded mail as d={} s={}", s.arc_sealing->domain,
             s.arc_sealing->selector);
  }
  return std::make_shared<const RelaySettings>(std::move(s));
}

// [delivery]'s LMTP settings; the host name goes in LHLO.
LmtpSettings lmtp_settings(const Config& config) {
  LmtpSettings s;
  s.lhlo_name = config.hostname.empty() ? "localhost" : config.hostname;
  s.timeout = config.delivery.lmtp_timeout;
  s.max_messages_per_connection = config.delivery.lmtp_max_messages_per_connection;
  return s;
}

// [mta_sts] for outbound mail: null when switched off.
std::unique_ptr<StsPolicies> mta_sts(asio::io_context& io, asio::thread_pool& pool, DnsLookup* dns,
                                     const MtaStsConfig& c) {
  if (!c.enabled) return nullptr;
  StsSettings s;
  s.cache_dir = c.cache_dir;
  s.fetch_timeout = c.fetch_timeout;
  s.ca_file = c.ca_file;
  s.https_port = c.https_port;
  return std::make_unique<StsPolicies>(io, pool.get_executor(), dns, s, unix_seconds);
}

}  // namespace

SchedulerOptions scheduler_options(const Config& config) {
  SchedulerOptions o;
  o.policy.intervals = config.queue.retry;
  o.policy.max_age = config.queue.max_age;
  o.policy.delay_warning = config.queue.delay_warning;
  o.max_concurrency = config.queue.max_concurrency;
  o.max_per_destination = config.queue.max_per_destination;
  o.hostname = config.hostname.empty() ? "localhost" : config.hostname;
  if (!config.relay.smarthost.empty()) o.remote_limit_key = "smarthost:" + config.relay.smarthost;
  return o;
}

DeliveryWorker::DeliveryWorker(asio::io_context& io, asio::thread_pool& pool, QueueStore* store,
                               Quarantine* quarantine, Directory* directory,
                               const std::string& data_dir)
    : directory_(directory),
      store_(store),
      mail_root_(data_dir + "/mail"),
      dkim_dir_(data_dir + "/dkim"),
      random_(std::random_device{}()),
      lmtp_(io.get_executor(), pool.get_executor(), directory->config()->delivery.lmtp_idle,
            lmtp_settings(*directory->config())),
      local_(
          pool.get_executor(), [this] { return local_env(); },
          [this](std::shared_ptr<const QueuedMessage> msg, std::string address,
                 std::vector<std::string> mailboxes) {
            return lmtp_.deliver(std::move(msg), std::move(address), std::move(mailboxes));
          }),
      tls_rpt_log_(data_dir + "/tls-rpt"),
      resolver_(std::make_unique<Resolver>(io, resolver_options(directory->config()->dns))),
      dns_config_(directory->config()->dns),
      sts_(mta_sts(io, pool, resolver_.get(), directory->config()->mta_sts)),
      remote_(io.get_executor(), pool.get_executor(), resolver_.get(),
              outbound_settings(*directory->config(), dkim_dir_)),
      scheduler_(
          io.get_executor(),
          SchedulerEnv{
              .store = store,
              .local = &local_,
              .remote = &remote_,
              .is_local_domain =
                  [directory](std::string_view d) { return directory->is_local_domain(d); },
              .clock = unix_seconds,
              .random = [this] { return std::uniform_real_distribution<double>(0, 1)(random_); },
              .blocking = pool.get_executor(),
              .new_id = new_queue_id,
              .forward_sender = forward_sender_of(directory),
              .dsn_recipient = dsn_recipient_of(directory),
          },
          scheduler_options(*directory->config())),
      admin_(io, data_dir + "/admin.sock",
             [this, quarantine, blocking = pool.get_executor()](nlohmann::json request) {
               return handle_queue_request(QueueAdmin{scheduler_, quarantine, blocking},
                                           std::move(request));
             }),
      dmarc_log_(data_dir + "/dmarc"),
      report_timer_(io),
      tls_rpt_loop_(
          io, pool, *resolver_, tls_rpt_log_.dir(), [directory] { return directory->config(); },
          [this](const std::vector<std::string>& rcpts, const std::string& message) {
            // Listener "tls-rpt": RFC 8460 5.3 wants reports delivered
            // despite TLS failures, so the relay can tell them apart.
            return inject_report(directory_->config()->tls_rpt.contact, rcpts, message, "tls-rpt");
          }) {
  remote_.set_mta_sts(sts_.get());
  remote_.set_tls_rpt(&tls_rpt_log_);
}

DeliveryWorker::~DeliveryWorker() { stop(); }

void DeliveryWorker::open() {
  if (Status s = admin_.open(); !s.ok()) {
    log_warn("{}; `tern queue` will not reach this server", s.message());
  }
}

void DeliveryWorker::start() {
  admin_.start();
  scheduler_.start();
  asio::co_spawn(report_timer_.get_executor(), report_loop(), asio::detached);
  tls_rpt_loop_.start();
}

// A report is a message like a DSN: made here, queued durably, DKIM-signed
// on the way out (listener "report", dkim/key_store.h), retried and bounced
// to report_email like any other. A failure is logged and the day is tried
// again next hour (the reporter marks a day only after its reports are in).
asio::awaitable<void> DeliveryWorker::report_loop() {
  std::chrono::seconds wait{60};  // the first look soon after start
  while (!stopped_) {
    report_timer_.expires_after(wait);
    auto [ec] = co_await report_timer_.async_wait(use_tuple);
    if (ec || stopped_) co_return;
    wait = std::chrono::hours(1);
    std::shared_ptr<const Config> config = directory_->config();
    if (!config->dmarc.reports) continue;
    dmarc::ReporterOptions options;
    options.dir = dmarc_log_.dir();
    options.info = {config->dmarc.report_org, config->dmarc.report_email, config->hostname};
    options.log = [](const std::string& line) { log_info("dmarc: {}", line); };
    const std::string from = config->dmarc.report_email;
    auto inject = [this, from](const std::vector<std::string>& rcpts, const std::string& message) {
      return inject_report(from, rcpts, message, "dmarc");
    };
    int n = co_await dmarc::send_due_reports(options, *resolver_, inject, unix_seconds());
    if (n > 0) log_info("dmarc: {} aggregate report(s) queued", n);
  }
}

Status DeliveryWorker::inject_report(const std::string& from, const std::vector<std::string>& rcpts,
                                     const std::string& message, const char* what) {
  Envelope env;
  env.id = new_queue_id();
  env.listener = std::strcmp(what, "tls-rpt") == 0 ? "tls-rpt" : "report";
  env.received_at = unix_seconds();
  size_t at = from.rfind('@');
  env.mail.from = Address{from.substr(0, at), from.substr(at + 1)};
  for (const std::string& r : rcpts) {
    size_t a = r.rfind('@');
    if (a == std::string::npos) continue;
    RcptArgs rcpt;
    rcpt.to = Address{r.substr(0, a), r.substr(a + 1)};
    env.rcpts.push_back(std::move(rcpt));
  }
  if (env.rcpts.empty()) return Status::Permanent("no valid rua address");
  Status s = inject_message(*store_, env, message);
  if (s.ok()) {
    log_info("{} report id={} to={} queued", what, env.id, rcpts.front());
    enqueue(env.id);
  }
  return s;
}

void DeliveryWorker::enqueue(std::string id) { scheduler_.enqueue(std::move(id)); }
void DeliveryWorker::enqueue(const Envelope& env) { scheduler_.enqueue(env); }

void DeliveryWorker::reconfigure(const Config& config) {
  scheduler_.reconfigure(scheduler_options(config));
  lmtp_.reconfigure(lmtp_settings(config));  // [delivery] lmtp_idle needs a restart
  try {
    remote_.reconfigure(outbound_settings(config, dkim_dir_));
  } catch (const std::exception& e) {
    log_error("SIGHUP: [relay] not applied, keeping the running one: {}", e.what());
  }
  if (config.dns.forward != dns_config_.forward || config.dns.timeout != dns_config_.timeout)
    log_warn("SIGHUP: [dns] changes need a restart");
}

void DeliveryWorker::drain(std::function<void()> idle) {
  admin_.stop();
  // Deliveries first (none starts, those in flight end), then the idle
  // connections they left say QUIT.
  scheduler_.drain([this, idle = std::move(idle)]() mutable {
    remote_.drain([this, idle = std::move(idle)]() mutable { lmtp_.drain(std::move(idle)); });
  });
}

void DeliveryWorker::stop() {
  stopped_ = true;
  report_timer_.cancel();
  tls_rpt_loop_.stop();
  scheduler_.stop();
  admin_.stop();
}

std::shared_ptr<const LocalDeliveryEnv> DeliveryWorker::local_env() const {
  auto env = std::make_shared<LocalEnvSnapshot>();
  env->config = directory_->config();
  env->aliases_snapshot = directory_->aliases();
  env->mail_root = mail_root_;
  env->is_local_domain = [config = env->config](std::string_view d) {
    return is_local_domain(*config, d);
  };
  env->aliases = env->aliases_snapshot.get();
  Directory* directory = directory_;
  env->is_mailbox = [directory](const std::string& a) { return directory->is_mailbox(a); };
  env->postmaster_domain =
      env->config->domains.empty() ? "localhost" : env->config->domains.front();
  env->lmtp_route = [config = env->config](const std::string& target) {
    return lmtp_route(config->delivery, target);
  };
  return env;
}

}  // namespace tern
