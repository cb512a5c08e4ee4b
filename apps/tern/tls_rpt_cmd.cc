// `tern tls-rpt record|parse|report`: SMTP TLS Reporting (RFC 8460,
// src/tlsrpt/, docs/tls.md "TLS-RPT") by hand.
//
//   tern tls-rpt record --domain D --type sts|tlsa|no-policy-found
//       [--policy-string S]... [--mx-host P]... --result R [--sending-ip IP]
//       [--mx HOST] [--helo NAME] [--receiving-ip IP] [--reason TEXT]
//       [--time T] [--count N] [--config F]
//     appends N results to <data_dir>/tls-rpt, exactly as the relay records
//     them (the running server reports them with the rest of the day).
//   tern tls-rpt parse 'v=TLSRPTv1; rua=...'
//     parses a _smtp._tls record and prints its destinations.
//   tern tls-rpt report --day YYYY-MM-DD [--json] [--config F]
//     the reports that day's results would give (nothing is sent, no DNS):
//     one summary line each, or with --json the report documents.
//
// Exit status: 0 done; 1 an invalid record, or no report for the day; 2
// usage or configuration error.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "dmarc/aggregate.h"  // day_start
#include "tlsrpt/log.h"
#include "tlsrpt/record.h"
#include "tlsrpt/report.h"

namespace tern {
namespace {

struct TlsRptOptions {
  std::string config;
  // record
  std::string domain, type = "sts", result, sending_ip, mx, helo, receiving_ip, reason;
  std::vector<std::string> policy_strings, mx_hosts;
  int64_t time = 0;
  int count = 1;
  // parse
  std::string text;
  // report
  std::string day;
  bool json = false;
};

[[noreturn]] void fail(int code, const std::string& message) {
  std::fprintf(stderr, "tern tls-rpt: %s\n", message.c_str());
  throw CLI::RuntimeError(code);
}

void run_record(const TlsRptOptions& o) {
  tlsrpt::SessionResult r;
  r.time = o.time != 0 ? o.time : static_cast<int64_t>(::time(nullptr));
  r.policy_domain = o.domain;
  const auto type = tlsrpt::parse_policy_type(o.type);
  if (!type) fail(2, "--type must be sts, tlsa or no-policy-found");
  r.policy_type = *type;
  const auto result = tlsrpt::parse_result_type(o.result);
  if (!result) fail(2, "--result must be success or an RFC 8460 4.3 result type");
  r.result = *result;
  r.policy_strings = o.policy_strings;
  r.mx_host = o.mx_hosts;
  r.sending_mta_ip = o.sending_ip;
  r.receiving_mx_hostname = o.mx;
  r.receiving_mx_helo = o.helo;
  r.receiving_ip = o.receiving_ip;
  r.failure_reason_code = o.reason;
  const Config config = load_config_as_run_as_or_exit(o.config);
  tlsrpt::Log log(config.data_dir + "/tls-rpt");
  for (int i = 0; i < o.count; ++i) {
    if (Status s = log.record(r); !s.ok()) fail(2, s.message());
  }
}

void run_parse(const TlsRptOptions& o) {
  std::string error;
  const std::optional<tlsrpt::Record> r = tlsrpt::parse_record(o.text, &error);
  if (!r) {
    std::printf("error: %s\n", error.c_str());
    throw CLI::RuntimeError(1);
  }
  for (const tlsrpt::ReportDestination& d : r->rua) {
    if (d.kind == tlsrpt::ReportDestination::Kind::kMailto) {
      std::printf("mailto: %s\n", d.address.c_str());
    } else {
      std::printf("https: %s\n", d.uri.c_str());
    }
  }
  for (const std::string& u : r->ignored) std::printf("ignored: %s\n", u.c_str());
}

void run_report(const TlsRptOptions& o) {
  const std::optional<int64_t> begin = dmarc::day_start(o.day);
  if (!begin) fail(2, "--day must be a date YYYY-MM-DD");
  const Config config = load_config_or_exit(o.config);
  const tlsrpt::ReporterInfo info{config.tls_rpt.organization, config.tls_rpt.contact,
                                  config.hostname};
  const auto reports = tlsrpt::build_reports(
      tlsrpt::read_results(config.data_dir + "/tls-rpt", o.day), *begin, info);
  for (const tlsrpt::DomainReport& r : reports) {
    if (o.json) {
      std::fputs(r.json.c_str(), stdout);
    } else {
      std::printf("%s: %lld successful, %lld failed sessions; %s\n", r.policy_domain.c_str(),
                  static_cast<long long>(r.successes), static_cast<long long>(r.failures),
                  r.filename.c_str());
    }
  }
  if (reports.empty()) throw CLI::RuntimeError(1);
}

}  // namespace

void add_tls_rpt_command(CLI::App& app) {
  auto o = std::make_shared<TlsRptOptions>();
  CLI::App* cmd = app.add_subcommand("tls-rpt", "SMTP TLS Reporting (RFC 8460) by hand");
  cmd->require_subcommand(1);

  CLI::App* record = cmd->add_subcommand("record", "Record a TLS result as the relay does");
  record->add_option("--domain", o->domain, "Policy domain")->required();
  record->add_option("--type", o->type, "sts, tlsa or no-policy-found")->required();
  record->add_option("--policy-string", o->policy_strings, "A policy line (repeatable)")
      ->allow_extra_args(false);
  record->add_option("--mx-host", o->mx_hosts, "An mx pattern of the policy (repeatable)")
      ->allow_extra_args(false);
  record->add_option("--result", o->result, "success or an RFC 8460 4.3 result type")->required();
  record->add_option("--sending-ip", o->sending_ip, "sending-mta-ip");
  record->add_option("--mx", o->mx, "receiving-mx-hostname");
  record->add_option("--helo", o->helo, "receiving-mx-helo");
  record->add_option("--receiving-ip", o->receiving_ip, "receiving-ip");
  record->add_option("--reason", o->reason, "failure-reason-code");
  record->add_option("--time", o->time, "Unix time (default: now)");
  record->add_option("--count", o->count, "How many times")->check(CLI::Range(1, 1000000));
  record->add_option("-c,--config", o->config, "TOML config file");
  record->callback([o] { run_record(*o); });

  CLI::App* parse = cmd->add_subcommand("parse", "Parse a _smtp._tls TXT record");
  parse->add_option("RECORD", o->text, "The record text")->required();
  parse->callback([o] { run_parse(*o); });

  CLI::App* report = cmd->add_subcommand("report", "Show the reports of a day (nothing sent)");
  report->add_option("--day", o->day, "YYYY-MM-DD (UTC)")->required();
  report->add_flag("--json", o->json, "Print the report documents");
  report->add_option("-c,--config", o->config, "TOML config file");
  report->callback([o] { run_report(*o); });
}

}  // namespace tern
