// `tern dmarc record|lookup|evaluate|report`: DMARC (RFC 7489, src/dmarc/,
// docs/dmarc.md) by hand.
//
//   tern dmarc record 'v=DMARC1; p=reject; ...'
//     parses a record and explains it, one "key: value" a line; "error:"
//     and exit 1 when it is not usable.
//   tern dmarc lookup DOMAIN [--config F]
//     policy discovery (6.6.3) for a From domain through the resolver
//     outbound mail uses ([dns] forward honoured, like `tern spf check`):
//     the organizational domain, where the record was found, and the record
//     explained as above.
//   tern dmarc evaluate DOMAIN [--spf-domain D --spf RESULT [--helo]]
//       [--dkim D[:S]=RESULT]... [--ip IP] [--sample X] [--log DIR [--time T]] [--config F]
//     discovery, then the DMARC result for the SPF and DKIM results given,
//     as the server would decide it; with --log the aggregate row is
//     appended to DIR's day file, as the server records it.
//   tern dmarc report [--dir DIR] --day YYYY-MM-DD [--org NAME] [--email ADDR]
//       [--hostname H] [--domain D] [--xml | --message] [--config F]
//     the aggregate reports that day's log would give (nothing is sent and no
//     DNS is asked): a summary of each, or with --xml the feedback documents,
//     or with --message the whole messages. DIR defaults to
//     <data_dir>/dmarc, the hostname to the config's.
//
// Exit status: 0 done (evaluate: pass; lookup: a record was found); 1 an
// invalid record, no record, a result other than pass, or no report for the
// day; 2 usage or configuration error; 75 temporary DNS failure.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "dmarc/aggregate.h"
#include "dmarc/evaluate.h"
#include "dmarc/org_domain.h"
#include "dmarc/record.h"
#include "dns/resolver.h"
#include "with_resolver.h"

namespace tern {
namespace {

constexpr int kExitOther = 1;
constexpr int kExitUsage = 2;
constexpr int kExitTempFail = 75;  // sysexits.h EX_TEMPFAIL

struct DmarcOptions {
  std::string config;
  std::string txt;
  std::string domain;
  // evaluate
  std::string ip;
  std::string spf_domain;
  std::string spf = "none";
  bool helo = false;
  std::vector<std::string> dkim;
  double sample = 0;
  std::string log_dir;
  int64_t time = 0;
  // report
  std::string dir;
  std::string day;
  std::string org;
  std::string email;
  std::string hostname;
  std::string only_domain;
  bool xml = false;
  bool message = false;
};

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "tern: %s\n", what.c_str());
  throw CLI::RuntimeError(kExitUsage);
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string uri_list(const std::vector<dmarc::ReportUri>& uris) {
  std::string out;
  for (const dmarc::ReportUri& u : uris) {
    if (!out.empty()) out += ", ";
    out += u.text();
  }
  return out;
}

void explain(const dmarc::Record& r) {
  std::printf("p: %s%s\n", dmarc::policy_name(r.p), r.p_defaulted ? " (defaulted)" : "");
  std::printf("sp: %s\n", r.sp ? dmarc::policy_name(*r.sp) : "(absent: p applies to subdomains)");
  std::printf("adkim: %s\n", r.adkim == dmarc::Alignment::kStrict ? "s (strict)" : "r (relaxed)");
  std::printf("aspf: %s\n", r.aspf == dmarc::Alignment::kStrict ? "s (strict)" : "r (relaxed)");
  std::printf("pct: %d\n", r.pct);
  if (!r.rua.empty()) std::printf("rua: %s\n", uri_list(r.rua).c_str());
  if (!r.ruf.empty()) std::printf("ruf: %s\n", uri_list(r.ruf).c_str());
  std::printf("fo: %s\n", r.fo.c_str());
  std::printf("ri: %u\n", r.ri);
  for (const std::string& w : r.warnings) std::printf("warning: %s\n", w.c_str());
}

void run_record(const DmarcOptions& o) {
  std::string error;
  const std::optional<dmarc::Record> r = dmarc::parse_record(o.txt, &error);
  if (!r) {
    std::printf("error: %s\n", error.c_str());
    std::fflush(stdout);
    throw CLI::RuntimeError(kExitOther);
  }
  explain(*r);
}

// Runs `work` (which gets the configured resolver) to completion.
template <typename T, typename Work>
T with_resolver(const std::string& config_path, Work work) {
  const Config config = load_config_or_exit(config_path);
  return run_with_resolver<T>(cli_resolver_options(config), work);
}

asio::awaitable<dmarc::Discovery> discover_with(Resolver& dns, std::string domain) {
  co_return co_await dmarc::discover(dns, std::move(domain));
}

void print_discovery(const std::string& domain, const dmarc::Discovery& d) {
  std::printf("domain: %s\n", domain.c_str());
  std::printf("organizational-domain: %s\n", dmarc::organizational_domain(domain).c_str());
  std::printf("status: %s\n", dmarc::discovery_status_name(d.status));
  if (!d.policy_domain.empty()) {
    std::printf("policy-domain: %s\n", d.policy_domain.c_str());
    std::printf("found-at: %s\n", d.org_level ? "organizational domain" : "domain");
  }
  if (!d.record_text.empty()) std::printf("record: %s\n", d.record_text.c_str());
  if (!d.error.empty()) std::printf("problem: %s\n", d.error.c_str());
}

void exit_for(dmarc::Discovery::Status s) {
  switch (s) {
    case dmarc::Discovery::Status::kFound:
      return;
    case dmarc::Discovery::Status::kTempError:
      throw CLI::RuntimeError(kExitTempFail);
    default:
      throw CLI::RuntimeError(kExitOther);
  }
}

void run_lookup(const DmarcOptions& o) {
  const dmarc::Discovery d = with_resolver<dmarc::Discovery>(
      o.config, [&](Resolver& dns) { return discover_with(dns, o.domain); });
  print_discovery(o.domain, d);
  if (d.status == dmarc::Discovery::Status::kFound) explain(d.record);
  std::fflush(stdout);
  exit_for(d.status);
}

// "d=pass", "example.com:sel=fail": domain, optional selector, result.
dmarc::DkimAuthResult parse_dkim(const std::string& spec) {
  static const char* const kResults[] = {"none",    "pass",      "fail",     "policy",
                                         "neutral", "temperror", "permerror"};
  const size_t eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0) usage_error("--dkim wants DOMAIN[:SELECTOR]=RESULT");
  dmarc::DkimAuthResult r;
  const std::string left = spec.substr(0, eq);
  r.result = spec.substr(eq + 1);
  const size_t colon = left.find(':');
  r.domain = left.substr(0, colon);
  if (colon != std::string::npos) r.selector = left.substr(colon + 1);
  bool known = false;
  for (const char* k : kResults) known = known || r.result == k;
  if (!known) usage_error(fmt::format("unknown DKIM result '{}'", r.result));
  return r;
}

void run_evaluate(const DmarcOptions& o) {
  std::vector<dmarc::DkimAuthResult> sigs;
  for (const std::string& spec : o.dkim) sigs.push_back(parse_dkim(spec));
  if (o.sample < 0 || o.sample >= 1) usage_error("--sample must be in [0, 1)");
  if (!o.log_dir.empty() && o.ip.empty()) usage_error("--log needs --ip");

  dmarc::Identifiers ids;
  ids.from_domain = o.domain;
  ids.spf_domain = o.spf_domain;
  ids.spf_pass = o.spf == "pass";
  ids.spf_temperror = o.spf == "temperror";
  for (const dmarc::DkimAuthResult& s : sigs) {
    if (s.result == "pass") ids.dkim_pass_domains.push_back(s.domain);
    if (s.result == "temperror") ids.dkim_temperror = true;
  }
  const dmarc::Discovery d = with_resolver<dmarc::Discovery>(
      o.config, [&](Resolver& dns) { return discover_with(dns, o.domain); });
  const dmarc::Evaluation e = dmarc::evaluate(d, ids, o.sample);
  std::printf("result: %s\n", dmarc::result_name(e.result));
  if (!e.policy_domain.empty()) std::printf("policy-domain: %s\n", e.policy_domain.c_str());
  std::printf("requested: %s\n", dmarc::policy_name(e.requested));
  std::printf("applied: %s\n", dmarc::policy_name(e.applied));
  std::printf("dkim-aligned: %s\n", e.dkim_aligned ? "yes" : "no");
  std::printf("spf-aligned: %s\n", e.spf_aligned ? "yes" : "no");
  std::printf("reason: %s\n", e.reason.c_str());

  if (!o.log_dir.empty() && d.status == dmarc::Discovery::Status::kFound) {
    dmarc::AggregateRow row = dmarc::make_row(o.time ? o.time : now_seconds(), o.ip, ids, d, e,
                                              o.helo ? "helo" : "mfrom");
    row.dkim = sigs;
    row.spf_result = o.spf;
    dmarc::AggregateLog log(o.log_dir);
    if (const Status s = log.record(row); !s.ok()) usage_error(s.message());
    std::printf("logged: %s/%s\n", o.log_dir.c_str(), dmarc::utc_day(row.time).c_str());
  }
  std::fflush(stdout);
  switch (e.result) {
    case dmarc::Result::kPass:
      return;
    case dmarc::Result::kTempError:
      throw CLI::RuntimeError(kExitTempFail);
    default:
      throw CLI::RuntimeError(kExitOther);
  }
}

void run_report(DmarcOptions o) {
  if (!dmarc::day_start(o.day)) usage_error(fmt::format("'{}' is not a YYYY-MM-DD day", o.day));
  // What the server would send: [dmarc] report_org / report_email.
  if (o.dir.empty() || o.hostname.empty() || o.org.empty() || o.email.empty()) {
    const Config config = load_config_or_exit(o.config);
    if (o.dir.empty()) o.dir = config.data_dir + "/dmarc";
    if (o.hostname.empty()) o.hostname = config.hostname;
    if (o.org.empty()) o.org = config.dmarc.report_org;
    if (o.email.empty()) o.email = config.dmarc.report_email;
  }
  dmarc::ReporterInfo info;
  info.hostname = o.hostname;
  info.org_name = o.org;
  info.email = o.email;
  size_t skipped = 0;
  dmarc::read_rows(o.dir, o.day, &skipped);
  if (skipped > 0) std::fprintf(stderr, "tern: %zu unreadable lines skipped\n", skipped);
  int shown = 0;
  for (const dmarc::Report& r : dmarc::build_reports(o.dir, o.day, info, now_seconds())) {
    if (!o.only_domain.empty() && r.policy_domain != o.only_domain) continue;
    ++shown;
    if (o.xml) {
      std::fwrite(r.xml.data(), 1, r.xml.size(), stdout);
    } else if (o.message) {
      std::fwrite(r.message.data(), 1, r.message.size(), stdout);
    } else {
      std::printf("report: %s\n", r.report_id.c_str());
      std::printf("domain: %s\n", r.policy_domain.c_str());
      std::printf("to: %s\n", uri_list(r.rua).c_str());
      std::printf("messages: %lld\n", static_cast<long long>(r.messages));
      std::printf("filename: %s\n", r.filename.c_str());
      std::printf("size: %zu gzip, %zu xml, %zu message\n\n", r.gzip.size(), r.xml.size(),
                  r.message.size());
    }
  }
  std::fflush(stdout);
  if (shown == 0) {
    std::fprintf(stderr, "tern: no report for %s in %s\n", o.day.c_str(), o.dir.c_str());
    throw CLI::RuntimeError(kExitOther);
  }
}

}  // namespace

void add_dmarc_command(CLI::App& app) {
  CLI::App* dmarc = app.add_subcommand("dmarc", "DMARC (RFC 7489) records, checks and reports");
  dmarc->require_subcommand(1);
  auto o = std::make_shared<DmarcOptions>();

  CLI::App* record = dmarc->add_subcommand("record", "Parse a DMARC record and explain it");
  record->add_option("TXT", o->txt, "The record, e.g. 'v=DMARC1; p=reject'")->required();
  record->footer("Exit status: 0 usable, 1 not usable.");
  record->callback([o] { run_record(*o); });

  CLI::App* lookup =
      dmarc->add_subcommand("lookup", "Find the DMARC policy of a From domain (RFC 7489 6.6.3)");
  lookup->add_option("DOMAIN", o->domain, "The RFC5322.From domain")->required();
  lookup->add_option("-c,--config", o->config, "TOML config file (default: built-in)");
  lookup->footer("Exit status: 0 found, 1 none or unusable, 2 usage, 75 DNS failure.");
  lookup->callback([o] { run_lookup(*o); });

  CLI::App* evaluate = dmarc->add_subcommand(
      "evaluate", "DMARC result of a From domain for given SPF and DKIM results");
  evaluate->add_option("DOMAIN", o->domain, "The RFC5322.From domain")->required();
  evaluate->add_option("--spf-domain", o->spf_domain, "The domain SPF checked (MAIL FROM or HELO)");
  evaluate->add_option("--spf", o->spf, "The SPF result (default none)")
      ->check(
          CLI::IsMember({"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"}));
  evaluate->add_flag("--helo", o->helo, "SPF checked the HELO name (null MAIL FROM)");
  evaluate->add_option("--dkim", o->dkim, "A signature's result: DOMAIN[:SELECTOR]=RESULT");
  evaluate->add_option("--ip", o->ip, "The client's IP address (for --log)");
  evaluate->add_option("--sample", o->sample, "The pct= draw in [0, 1) (default 0: sampled in)");
  evaluate->add_option("--log", o->log_dir, "Append the aggregate row to this directory's log");
  evaluate->add_option("--time", o->time, "The row's time, unix seconds (default now)");
  evaluate->add_option("-c,--config", o->config, "TOML config file (default: built-in)");
  evaluate->footer("Exit status: 0 pass, 1 another result, 2 usage, 75 temperror.");
  evaluate->callback([o] { run_evaluate(*o); });

  CLI::App* report = dmarc->add_subcommand(
      "report", "Show the aggregate reports a day of the log gives (nothing is sent)");
  report->add_option("--dir", o->dir, "The aggregate log directory (default <data_dir>/dmarc)");
  report->add_option("--day", o->day, "The UTC day, YYYY-MM-DD")->required();
  report->add_option("--org", o->org, "org_name of the reports (default: [dmarc] report_org)");
  report->add_option("--email", o->email, "email of the reports (default: [dmarc] report_email)");
  report->add_option("--hostname", o->hostname, "The receiver's name (default: the config's)");
  report->add_option("--domain", o->only_domain, "Only the report for this policy domain");
  report->add_flag("--xml", o->xml, "Print the feedback XML documents");
  report->add_flag("--message", o->message, "Print the whole report messages");
  report->add_option("-c,--config", o->config, "TOML config file (default: built-in)");
  report->footer("Exit status: 0 reports shown, 1 none for that day, 2 usage.");
  report->callback([o] { run_report(*o); });
}

}  // namespace tern
