// `tern check DOMAIN [--config FILE] [--bulk]`: the set-up doctor (check/doctor.h,
// docs/check.md). Looks up what DOMAIN publishes through the resolver
// outbound mail uses ([dns] forward honoured, like `tern resolve`), compares
// it with this server (hostname, DKIM keys in <data_dir>/dkim/DOMAIN/) and
// prints one line per check, with what to do and what to publish under it:
//
//   ok    mx     example.org has MX 10 mail.example.org
//   FAIL  spf    example.org has no SPF record
//                Without one, receivers cannot tell mail from this server ...
//                  example.org. IN TXT "v=spf1 mx -all"
//
// Exit status: 0 nothing failed (warnings allowed), 1 something failed, 2
// usage or configuration error.
#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "acme/cert.h"
#include "check/doctor.h"
#include "commands.h"
#include "core/ascii.h"
#include "dkim/keys.h"
#include "dns/resolver.h"
#include "fs/file_io.h"
#include "relay/sts_fetch.h"
#include "sts/publish.h"
#include "with_resolver.h"

namespace tern {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct CheckOptions {
  std::string config;
  std::string domain;
  bool bulk = false;  // add the bulk sender requirements (check/doctor.h)
};

constexpr size_t kWidth = 100;  // notes are wrapped to this many columns
constexpr int kIndent = 13;     // notes start under the summary
constexpr int kRecordIndent = 15;

// Prints `text` indented by kIndent, wrapped at spaces before kWidth.
void print_wrapped(const std::string& text) {
  const size_t room = kWidth - kIndent;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.size();
    if (end - start > room) {
      const size_t space = text.rfind(' ', start + room);
      end = space != std::string::npos && space > start ? space : text.find(' ', start + room);
      if (end == std::string::npos) end = text.size();
    }
    std::printf("%*s%.*s\n", kIndent, "", static_cast<int>(end - start), text.data() + start);
    start = end < text.size() ? end + 1 : end;
  }
}

void print(const std::string& domain, const std::string& hostname, const std::string& dns,
           const std::vector<check::Finding>& findings) {
  std::printf("tern check %s (this server: %s; DNS: %s)\n\n", domain.c_str(),
              hostname.empty() ? "hostname unset" : hostname.c_str(), dns.c_str());
  size_t failed = 0, warned = 0, ok = 0;
  for (const check::Finding& f : findings) {
    failed += f.level == check::Level::kFail;
    warned += f.level == check::Level::kWarn;
    ok += f.level == check::Level::kOk;
    std::printf("%-5s %-6s %s\n", check::level_name(f.level), f.topic.c_str(), f.summary.c_str());
    for (const std::string& n : f.notes) print_wrapped(n);
    // Records go whole, on lines of their own: they are for copying.
    for (const std::string& p : f.publish) std::printf("%*s%s\n", kRecordIndent, "", p.c_str());
  }
  std::printf("\n%zu failed, %zu %s, %zu ok\n", failed, warned,
              warned == 1 ? "warning" : "warnings", ok);
}

// The TLSA 3 1 1 data of the certificate the listeners serve (ACME's,
// the configured one, or the self-signed one) and of a key staged by
// `tern acme rollkey`.
void read_server_keys(const Config& config, check::DoctorOptions* options) {
  std::string path = config.tls_certificate;
  if (config.acme.enabled) {
    path = config.data_dir + "/acme/chain.pem";
  } else if (path.empty()) {
    path = config.data_dir + "/tls/cert.pem";
  }
  std::string pem;
  bool missing = false;
  Status s = read_file(path, &pem, &missing);
  if (!s.ok() || missing) {
    options->cert_missing = s.ok();
    options->cert_problem = missing ? path + " does not exist yet" : s.message();
  } else {
    options->tlsa_current = check::tlsa_3_1_1_of_certificate(pem, &options->cert_problem);
    if (!options->cert_problem.empty()) options->cert_problem = path + ": " + options->cert_problem;
  }
  if (config.acme.enabled) {
    std::string next;
    if (read_file(config.data_dir + "/acme/key.next.pem", &next, &missing).ok() && !missing) {
      if (auto key = acme::EcKey::from_pem(next)) options->tlsa_next = acme::tlsa_3_1_1(*key);
    }
  }
}

void run_check(const CheckOptions& o) {
  std::string domain = ascii_lower(o.domain);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (!dkim::valid_domain(domain, 2)) {
    std::fprintf(stderr, "tern: not a domain name: '%s'\n", o.domain.c_str());
    throw CLI::RuntimeError(kExitUsage);
  }
  const Config config = load_config_or_exit(o.config);
  const ResolverOptions resolver = cli_resolver_options(config);
  std::string dns_text;
  for (const std::string& f : config.dns.forward) dns_text += (dns_text.empty() ? "" : ", ") + f;
  if (dns_text.empty()) dns_text = resolver.resolv_conf;

  check::DoctorOptions options;
  options.hostname = config.hostname;
  options.dkim_dir = config.data_dir + "/dkim";
  options.bulk = o.bulk;
  options.smarthost = config.relay.smarthost;
  options.dkim_keys = check::load_local_keys(config.data_dir, domain, &options.key_problems);
  options.now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();

  // Transport security (check/doctor.h: sts, tlsrpt, dane).
  if (config.mta_sts.serve) {
    options.served_sts_policy =
        sts::make_policy(config.mta_sts.mode, config.mta_sts.mx, config.mta_sts.max_age);
  }
  read_server_keys(config, &options);
  std::vector<check::Finding> findings;
  asio::io_context io(1);
  asio::thread_pool blocking(1);
  try {
    Resolver dns(io, resolver);
    StsSettings sts;
    sts.fetch_timeout = config.mta_sts.fetch_timeout;
    sts.ca_file = config.mta_sts.ca_file;
    sts.https_port = config.mta_sts.https_port;
    StsPolicies policies(io, blocking.get_executor(), &dns, sts, [] { return int64_t{0}; });
    options.fetch_sts_policy = [&policies](std::string d, std::string* error) {
      return policies.fetch(std::move(d), error);
    };
    asio::co_spawn(io, check::run_checks(dns, domain, options),
                   [&findings](std::exception_ptr e, std::vector<check::Finding> f) {
                     if (e) std::rethrow_exception(e);
                     findings = std::move(f);
                   });
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tern: %s\n", e.what());
    throw CLI::RuntimeError(kExitUsage);
  }
  print(domain, config.hostname, dns_text, findings);
  std::fflush(stdout);
  if (check::any_failed(findings)) throw CLI::RuntimeError(kExitFailed);
}

}  // namespace

void add_check_command(CLI::App& app) {
  auto o = std::make_shared<CheckOptions>();
  CLI::App* cmd = app.add_subcommand(
      "check",
      "Check what DOMAIN publishes in DNS for mail (MX, PTR, SPF, DKIM, DMARC, MTA-STS, "
      "TLS-RPT, DANE)");
  cmd->add_option("DOMAIN", o->domain, "The mail domain, e.g. example.org")->required();
  cmd->add_option("-c,--config", o->config, "TOML config file (default: built-in)");
  cmd->add_flag("--bulk", o->bulk,
                "Also check what Gmail, Yahoo and Outlook.com require of bulk senders");
  cmd->footer(
      "Prints one line per check (ok, warn, FAIL) with the records to publish under it. "
      "Exit status: 0 nothing failed, 1 something failed, 2 usage or configuration error.");
  cmd->callback([o] { run_check(*o); });
}

}  // namespace tern
