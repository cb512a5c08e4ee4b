// tern serve: run the SMTP server.
#include <sys/resource.h>

#include <cstdio>

#include "base/log.h"
#include "commands.h"
#include "http/server.h"
#include "server/privileges.h"
#include "server/server.h"

namespace tern {

namespace {

// Each session is a socket: lift the soft descriptor limit to the hard one.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Run the SMTP server");
  auto path = std::make_shared<std::string>();
  cmd->add_option("-c,--config", *path, "Config file (TOML); without it, the embedded default");
  cmd->callback([path] {
    Config config = load_config_or_exit(*path);
    set_log_format(config.log_format);
    raise_fd_limit();
    std::signal(SIGPIPE, SIG_IGN);
    try {
      std::string error;
      std::optional<RunAsPlan> plan = plan_for(config, &error);
      if (!plan) throw std::runtime_error(error);
      // Bind as root (ports below 1024), then switch before any thread,
      // file or key exists: the server reads everything as the user it
      // runs as, at start as at SIGHUP (docs/security.md).
      std::vector<BoundListener> listeners = bind_listeners(config.listeners);
      std::unique_ptr<http::Server> metrics_http;  // [metrics]: bound now, served from run()
      if (!config.metrics.listen.empty()) {
        const MetricsConfig& m = config.metrics;
        metrics_http = std::make_unique<http::Server>("metrics");
        metrics_http->bind(m.host.empty() ? "0.0.0.0" : m.host, m.port);
      }
      // [acme]'s HTTP-01 listener: port 80, so bound now too.
      std::unique_ptr<http::Server> acme_http;
      if (config.acme.enabled) {
        acme_http = std::make_unique<http::Server>("acme");
        const http::HostPort at = http::parse_listen_address(config.acme.listen);
        // ":80" means every address, IPv6 too: a CA validates over IPv6
        // when the name has an AAAA record. "::" is dual-stack; a host
        // without IPv6 gets IPv4 only.
        if (config.acme.listen.front() == ':') {
          try {
            acme_http->bind("::", at.port);
          } catch (const std::runtime_error&) {
            acme_http->bind(at.host, at.port);
          }
        } else {
          acme_http->bind(at.host, at.port);
        }
      }
      // [mta_sts] serve: our policy over HTTPS, port 443 by default, so bound now too.
      std::unique_ptr<http::Server> sts_http;
      auto sts_cert = std::make_shared<CertificateSlot>();
      if (config.mta_sts.serve) {
        sts_http = std::make_unique<http::Server>("mta-sts", http::ServerLimits{},
                                                  certificate_slot_tls(sts_cert));
        const http::HostPort at = http::parse_listen_address(config.mta_sts.listen);
        if (config.mta_sts.listen.front() == ':') {
          try {
            sts_http->bind("::", at.port);
          } catch (const std::runtime_error&) {
            sts_http->bind(at.host, at.port);
          }
        } else {
          sts_http->bind(at.host, at.port);
        }
      }
      if (plan->change) {
        if (Status s = prepare_data_dir(config, plan->account); !s.ok())
          throw std::runtime_error(s.message());
        if (Status s = drop_privileges(plan->account); !s.ok())
          throw std::runtime_error(s.message());
        log_info("running as user {} (uid {}, gid {})", plan->account.name, plan->account.uid,
                 plan->account.gid);
      }
      if (!plan->warning.empty()) log_warn("{}", plan->warning);
      Server server(std::move(config), *path, std::move(listeners));
      if (metrics_http) server.serve_metrics(std::move(metrics_http));
      if (acme_http) server.use_acme_listener(std::move(acme_http));
      if (sts_http) server.serve_mta_sts(std::move(sts_http), sts_cert);
      // The thread pools exist now: none may have kept root.
      if (plan->change) {
        if (Status s = verify_threads(plan->account); !s.ok())
          throw std::runtime_error(s.message());
      }
      int rc = server.run();
      if (rc != 0) throw CLI::RuntimeError(rc);
    } catch (const CLI::RuntimeError&) {
      throw;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tern serve: %s\n", e.what());
      throw CLI::RuntimeError(1);
    }
  });
}

}  // namespace tern
