// `tern spf check IP SENDER [--helo H] [--config FILE]`: runs SPF's
// check_host() (spf/check.h) for a client IP and a MAIL FROM, through the
// resolver outbound mail uses ([dns] forward honoured, like `tern
// resolve`), and prints what it found, one "key: value" a line:
//
//   result: fail
//   mechanism: -all
//   domain: example.org
//   explanation: 192.0.2.1 is not one of example.org's designated mail servers
//
// "mechanism" is the term that decided (absent when none matched),
// "domain" the domain whose record decided (after redirect=),
// "explanation" only for fail, "problem" for none/temperror/permerror.
// SENDER "" or "<>" (the null path) checks postmaster@HELO; so does
// --identity helo.
// Exit status: 0 pass, 1 any other result, 2 usage or configuration error,
// 75 temperror (EX_TEMPFAIL).
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "dns/resolver.h"
#include "spf/check.h"
#include "with_resolver.h"

namespace tern {
namespace {

constexpr int kExitPass = 0;
constexpr int kExitOther = 1;
constexpr int kExitUsage = 2;
constexpr int kExitTempFail = 75;  // sysexits.h EX_TEMPFAIL

struct SpfOptions {
  std::string config;
  std::string ip;
  std::string sender;
  std::string helo;
  std::string identity = "mailfrom";
};

void print(const spf::CheckResult& r) {
  std::printf("result: %s\n", spf::result_name(r.result));
  if (!r.mechanism.empty()) std::printf("mechanism: %s\n", r.mechanism.c_str());
  if (!r.domain.empty()) std::printf("domain: %s\n", r.domain.c_str());
  if (r.result == spf::Result::kFail) std::printf("explanation: %s\n", r.explanation.c_str());
  if (!r.problem.empty()) std::printf("problem: %s\n", r.problem.c_str());
}

asio::awaitable<spf::CheckResult> run_check(Resolver& dns, asio::ip::address ip, SpfOptions o,
                                            spf::CheckOptions options) {
  if (o.identity == "helo") {
    co_return co_await spf::check_helo(dns, ip, o.helo, std::move(options));
  }
  co_return co_await spf::check_mail_from(dns, ip, o.sender, o.helo, std::move(options));
}

void run_spf_check(SpfOptions o) {
  std::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(o.ip, ec);
  if (ec) {
    std::fprintf(stderr, "tern: '%s' is not an IP address\n", o.ip.c_str());
    throw CLI::RuntimeError(kExitUsage);
  }
  if (o.sender == "<>") o.sender.clear();
  if (o.sender.size() >= 2 && o.sender.front() == '<' && o.sender.back() == '>') {
    o.sender = o.sender.substr(1, o.sender.size() - 2);
  }
  if ((o.sender.empty() || o.identity == "helo") && o.helo.empty()) {
    std::fprintf(stderr, "tern: the null sender and --identity helo need --helo\n");
    throw CLI::RuntimeError(kExitUsage);
  }
  const Config config = load_config_or_exit(o.config);
  spf::CheckOptions options;
  options.receiver = config.hostname;
  options.timestamp = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const spf::CheckResult result = run_with_resolver<spf::CheckResult>(
      cli_resolver_options(config), [&](Resolver& dns) { return run_check(dns, ip, o, options); });
  print(result);
  std::fflush(stdout);
  switch (result.result) {
    case spf::Result::kPass:
      return;
    case spf::Result::kTempError:
      throw CLI::RuntimeError(kExitTempFail);
    default:
      throw CLI::RuntimeError(kExitOther);
  }
}

}  // namespace

void add_spf_command(CLI::App& app) {
  CLI::App* spf = app.add_subcommand("spf", "SPF (RFC 7208) checks");
  spf->require_subcommand(1);
  auto o = std::make_shared<SpfOptions>();
  CLI::App* check = spf->add_subcommand(
      "check", "Evaluate the SPF policy of SENDER's domain for a client IP, as a receiver would");
  check->add_option("IP", o->ip, "The client's IP address")->required();
  check->add_option("SENDER", o->sender, "MAIL FROM address (\"\" or \"<>\": the null sender)")
      ->required();
  check->add_option("--helo", o->helo, "The client's HELO/EHLO name (%{h}; the null sender's)");
  check->add_option("--identity", o->identity, "mailfrom (default) or helo")
      ->check(CLI::IsMember({"mailfrom", "helo"}));
  check->add_option("-c,--config", o->config, "TOML config file (default: built-in)");
  check->footer(
      "Exit status: 0 pass, 1 another result, 2 usage or configuration error, "
      "75 temperror.");
  check->callback([o] { run_spf_check(*o); });
}

}  // namespace tern
