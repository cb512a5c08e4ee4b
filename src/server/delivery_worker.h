// DeliveryWorker: the server's delivery side, wired together. It owns the
// queue Scheduler (relay/scheduler.h) with its two couriers (Maildirs for
// the local domains, relay/local_courier.h; SMTP to other domains,
// relay/remote_courier.h, with the DNS Resolver it routes by, configured
// by [dns]; LMTP to a mailbox server where [delivery] says so,
// relay/lmtp_sender.h) and the admin socket that `tern queue` talks to
// (<data_dir>/admin.sock, server/admin_socket.h, server/queue_admin.h).
// It loads the DKIM signing keys (<data_dir>/dkim, dkim/key_store.h) that
// the remote courier signs outgoing mail with.
// The server tells it about each committed message.
//
// Everything runs on the server's event loop; blocking work (Maildir
// writes, store appends) on the server's thread pool. Thread safety:
// enqueue() from any thread; the rest from the loop's thread (or before
// the loop runs).
#pragma once

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <memory>
#include <random>
#include <string>

#include "config/config.h"
#include "dmarc/aggregate.h"
#include "dns/resolver.h"
#include "queue/quarantine.h"
#include "queue/store.h"
#include "relay/lmtp_sender.h"
#include "relay/local_courier.h"
#include "relay/remote_courier.h"
#include "relay/scheduler.h"
#include "relay/sts_fetch.h"
#include "server/admin_socket.h"
#include "server/directory.h"
#include "tlsrpt/log.h"
#include "tlsrpt/report_loop.h"

namespace tern {

// The scheduler's options from the config: [queue] and the host name.
SchedulerOptions scheduler_options(const Config& config);

class DeliveryWorker {
 public:
  // Throws std::runtime_error with a clear message when [dns] or [relay]
  // cannot be used (a bad forwarder, an unreadable password_file or
  // ca_file). Must be destroyed on the loop's thread, before the loop.
  // `quarantine` (may be null) is what `tern queue quarantine|release`
  // act on.
  DeliveryWorker(asio::io_context& io, asio::thread_pool& pool, QueueStore* store,
                 Quarantine* quarantine, Directory* directory, const std::string& data_dir);
  ~DeliveryWorker();

  // Opens the admin socket; on failure (a data_dir too long for a Unix
  // socket path, say) the server runs without it and says so in the log.
  void open();
  // Loads the queue and starts delivering.
  void start();
  // A message was committed. Any thread.
  void enqueue(std::string id);
  void enqueue(const Envelope& env);
  // Applies a reloaded config (retry policy, limits, host name, [relay];
  // [dns] needs a restart) and re-reads the DKIM keys (<data_dir>/dkim;
  // each unusable key file is logged and skipped). A [relay] that cannot
  // be used is logged and the running one (and its keys) kept.
  void reconfigure(const Config& config);
  // Closes the admin socket, starts no more deliveries, and calls `idle`
  // (on the loop) once the ones in flight have ended and the idle outbound
  // connections have said QUIT.
  void drain(std::function<void()> idle);
  // Stops the scheduler's timer and closes the admin socket. Idempotent.
  void stop();

  Scheduler& scheduler() { return scheduler_; }
  // The [dns] resolver, on the loop: connections check SPF with it.
  DnsLookup& dns() { return *resolver_; }
  // DMARC aggregate data (<data_dir>/dmarc), one row per checked message;
  // any thread.
  dmarc::AggregateLog& dmarc_log() { return dmarc_log_; }
  // TLS-RPT results (<data_dir>/tls-rpt, RFC 8460): the relay records the
  // outcome of each delivery to a domain with a TLS policy; any thread.
  tlsrpt::Log& tls_rpt_log() { return tls_rpt_log_; }

 private:
  std::shared_ptr<const LocalDeliveryEnv> local_env() const;
  // Hourly: queues the DMARC aggregate reports of past days ([dmarc] reports).
  asio::awaitable<void> report_loop();
  // Queues a report message (DMARC, TLS-RPT) from `from` to `rcpts`, like
  // a DSN: DKIM-signed on the way out (listener "report", or "tls-rpt"
  // when `what` is "tls-rpt"), retried and bounced like any other. `what`
  // names it in the log.
  Status inject_report(const std::string& from, const std::vector<std::string>& rcpts,
                       const std::string& message, const char* what);

  Directory* directory_;
  QueueStore* store_;
  std::string mail_root_;
  std::string dkim_dir_;  // <data_dir>/dkim: DKIM keys, re-read by reconfigure()
  std::mt19937_64 random_;
  LmtpSender lmtp_;  // before local_, which sends through it
  LocalCourier local_;
  tlsrpt::Log tls_rpt_log_;             // before remote_, which may record into it
  std::unique_ptr<Resolver> resolver_;  // on the loop; before remote_, which uses it
  DnsConfig dns_config_;                // as started: [dns] changes need a restart
  std::unique_ptr<StsPolicies> sts_;    // [mta_sts] (null when off); before remote_
  RemoteCourier remote_;
  Scheduler scheduler_;
  AdminServer admin_;
  dmarc::AggregateLog dmarc_log_;
  asio::steady_timer report_timer_;
  tlsrpt::ReportLoop tls_rpt_loop_;  // daily TLS reports ([tls_rpt])
  bool stopped_ = false;
};

}  // namespace tern
