// The thin I/O layer that sends TLS reports on schedule: every
// [tls_rpt] check_every (1h), when [tls_rpt] enabled, it runs
// send_due_reports (reporter.h) with the server's resolver, mail through
// our queue (the `inject` the server gives) and HTTPS POSTs through
// libcurl (http/client.h) on the server's thread pool.
//
// Thread safety: start() and stop() on the loop's thread; the loop runs
// there too.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "dns/lookup.h"
#include "tlsrpt/reporter.h"

namespace tern::tlsrpt {

class ReportLoop {
 public:
  // `dir` is the Log's directory; `config` gives the current config at
  // each run (SIGHUP changes apply at the next one). REQUIRES: every
  // argument outlives the loop.
  ReportLoop(asio::io_context& io, asio::thread_pool& pool, DnsLookup& dns, std::string dir,
             std::function<std::shared_ptr<const Config>()> config, InjectFn inject);

  void start();
  void stop();  // idempotent

 private:
  asio::awaitable<void> run();
  asio::awaitable<Status> post(std::string url, std::string body, std::string ca_file);

  asio::thread_pool& pool_;
  DnsLookup& dns_;
  std::string dir_;
  std::function<std::shared_ptr<const Config>()> config_;
  InjectFn inject_;
  asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace tern::tlsrpt
