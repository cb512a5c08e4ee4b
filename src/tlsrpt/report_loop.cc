#include "tlsrpt/report_loop.h"

#include <fmt/format.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "http/client.h"
#include "net/awaitable.h"

namespace tern::tlsrpt {

ReportLoop::ReportLoop(asio::io_context& io, asio::thread_pool& pool, DnsLookup& dns,
                       std::string dir, std::function<std::shared_ptr<const Config>()> config,
                       InjectFn inject)
    : pool_(pool),
      dns_(dns),
      dir_(std::move(dir)),
      config_(std::move(config)),
      inject_(std::move(inject)),
      timer_(io) {}

void ReportLoop::start() { asio::co_spawn(timer_.get_executor(), run(), asio::detached); }

void ReportLoop::stop() {
  stopped_ = true;
  timer_.cancel();
}

// RFC 8460 5.4: the gzip'd report as application/tlsrpt+gzip; any 2xx is
// success. No redirects (a report server has no reason to send one).
asio::awaitable<Status> ReportLoop::post(std::string url, std::string body, std::string ca_file) {
  http::ClientRequest req;
  req.method = "POST";
  req.url = std::move(url);
  req.headers = {{"Content-Type", "application/tlsrpt+gzip"}};
  req.body = std::move(body);
  http::ClientLimits limits;
  limits.max_response = 64 * 1024;
  limits.timeout = std::chrono::seconds(60);
  limits.ca_file = std::move(ca_file);
  const http::ClientResponse r = co_await http::co_request(pool_, std::move(req), limits);
  if (!r.ok()) co_return Status::Transient(r.error);
  if (r.status < 200 || r.status > 299)
    co_return Status::Transient(fmt::format("HTTP status {}", r.status));
  co_return Status::Ok();
}

asio::awaitable<void> ReportLoop::run() {
  // The first look soon after start, as the DMARC reporter does.
  std::chrono::seconds wait = std::min(config_()->tls_rpt.check_every, std::chrono::seconds(60));
  while (!stopped_) {
    timer_.expires_after(wait);
    auto [ec] = co_await timer_.async_wait(use_tuple);
    if (ec || stopped_) co_return;
    const std::shared_ptr<const Config> config = config_();
    wait = config->tls_rpt.check_every;
    if (!config->tls_rpt.enabled) continue;
    ReporterOptions options;
    options.dir = dir_;
    options.info = {config->tls_rpt.organization, config->tls_rpt.contact, config->hostname};
    options.report_hour = config->tls_rpt.report_hour;
    options.log = [](const std::string& line) { log_info("{}", line); };
    const std::string ca_file = config->tls_rpt.ca_file;
    PostFn post = [this, ca_file](std::string url, std::string body) {
      return this->post(std::move(url), std::move(body), ca_file);
    };
    const int n = co_await send_due_reports(options, dns_, inject_, post, unix_seconds());
    if (n > 0) log_info("tls-rpt: {} report(s) sent", n);
  }
}

}  // namespace tern::tlsrpt
