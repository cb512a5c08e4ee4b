#include "server/inbound_auth.h"

#include <algorithm>
#include <random>

#include "arc/dns_keys.h"
#include "arc/report.h"
#include "authres/header.h"
#include "base/log.h"
#include "dkim/dns_keys.h"
#include "dmarc/evaluate.h"
#include "metrics/server_metrics.h"
#include "server/dmarc_action.h"

namespace tern {

namespace {

authres::InboundOptions filter_options(const Config& config, int64_t now) {
  authres::InboundOptions o;
  o.authserv_id = config.hostname;
  o.verify_dkim = config.dkim.verify;
  o.dkim.now = now;
  return o;
}

double pct_sample() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::string domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return std::string(at == std::string_view::npos ? address : address.substr(at + 1));
}

}  // namespace

InboundAuth::InboundAuth(const Config& config, int64_t now)
    : config_(config), now_(now), filter_(filter_options(config, now)) {}

asio::awaitable<InboundVerdict> InboundAuth::decide(DnsLookup& dns, InboundInputs in) {
  InboundVerdict v;
  std::vector<authres::MethodResult> results;

  // SPF, as the session checked it at the first RCPT.
  dmarc::Identifiers ids;
  std::string spf_scope = "mfrom";
  if (in.spf && in.spf_request) {
    const SpfRequest& req = *in.spf_request;
    const char* name = spf_result_name(in.spf->result);
    results.push_back(authres::spf_result(name, req.mail_from, req.helo, req.helo_identity));
    ids.spf_domain = req.helo_identity ? req.helo : domain_of(req.mail_from);
    if (req.helo_identity) spf_scope = "helo";
    ids.spf_pass = in.spf->result == SpfResult::kPass;
    ids.spf_temperror = in.spf->result == SpfResult::kTempError;
    v.summary = std::string("spf=") + name;
  }

  // DKIM: every signature, its key looked up (before its body hash counts).
  std::vector<dkim::SignatureResult> sigs;
  if (config_.dkim.verify) {
    co_await dkim::fetch_keys(filter_.verifier(), dns);
    sigs = filter_.verifier().results();
    for (const authres::MethodResult& r : authres::dkim_results(sigs)) results.push_back(r);
    std::string dk;
    for (const dkim::SignatureResult& s : sigs) {
      if (s.result == dkim::Result::kPass) ids.dkim_pass_domains.push_back(s.domain);
      if (s.result == dkim::Result::kTempError) ids.dkim_temperror = true;
      dk += std::string(dk.empty() ? "" : ",") + dkim::result_name(s.result) + "(" + s.domain + ")";
      metrics::server().dkim.with({dkim::result_name(s.result)}).inc();
    }
    if (sigs.empty()) metrics::server().dkim.with({"none"}).inc();
    v.summary += std::string(v.summary.empty() ? "" : " ") + "dkim=" + (dk.empty() ? "none" : dk);
  }

  // ARC (RFC 8617 5.2): the chain's verdict, recorded for a later seal of
  // ours (arc/sealer.h reads it back) and for DMARC's trusted sealers.
  arc::ChainResult chain;
  if (config_.arc.verify) {
    co_await arc::fetch_keys(arc_, dns);
    chain = arc_.result();
    results.push_back(arc::arc_result(chain, in.client_ip));
    v.summary +=
        std::string(v.summary.empty() ? "" : " ") + "arc=" + arc::chain_status_name(chain.status);
  }

  // DMARC of each distinct From domain; the strictest outcome counts, so a
  // second From field cannot hide a failing one (RFC 7489 6.6.1).
  if (config_.dmarc.enabled) {
    std::vector<std::string> domains = filter_.from_domains();
    std::sort(domains.begin(), domains.end());
    domains.erase(std::unique(domains.begin(), domains.end()), domains.end());
    std::vector<DmarcOutcome> outcomes;
    for (const std::string& domain : domains) {
      dmarc::Discovery d = co_await dmarc::discover(dns, domain);
      ids.from_domain = domain;
      dmarc::Evaluation e = dmarc::evaluate(d, ids, pct_sample());
      // RFC 8617 7.2.1: a trusted sealer's word that the original passed.
      const std::string sealer = e.result == dmarc::Result::kFail
                                     ? arc::vouching_sealer(chain, config_.arc.trusted_sealers)
                                     : "";
      if (!sealer.empty()) {
        log_info("dmarc override: trusted ARC sealer {} vouches for {}", sealer, domain);
        e.applied = dmarc::Policy::kNone;
      }
      dmarc::Policy mine = dmarc_disposition(config_.dmarc, e.applied);
      const bool found = d.status == dmarc::Discovery::Status::kFound;
      if (found) {
        dmarc::AggregateRow row = dmarc::make_row(now_, in.client_ip, ids, d, e, spf_scope);
        row.disposition = mine;  // what we did, after [dmarc] on_reject/on_quarantine
        if (mine != e.applied) row.override_reason = "local_policy";
        if (!sealer.empty())
          row.override_reason = "trusted_forwarder";  // RFC 7489 C PolicyOverride
        row.dkim.clear();
        for (const dkim::SignatureResult& sig : sigs)
          if (row.dkim.size() < dmarc::kMaxDkimResultsPerRow)
            row.dkim.push_back({sig.domain, sig.selector, dkim::result_name(sig.result)});
        if (in.spf) row.spf_result = spf_result_name(in.spf->result);
        v.report_rows.push_back(std::move(row));
      }
      outcomes.push_back(DmarcOutcome{domain, found, std::move(e)});
    }
    const DmarcAction a = decide_dmarc(config_.dmarc, outcomes);
    results.push_back(authres::dmarc_result(a.result, a.from, a.policy, a.dis));
    v.summary +=
        " dmarc=" + a.result + (a.policy.empty() ? "" : "(p=" + a.policy + " dis=" + a.dis + ")");
    v.refuse = dmarc_refusal(a);
    metrics::server().dmarc.with({a.result}).inc();
    if (a.act == dmarc::Policy::kQuarantine) v.header = "X-Spam-Flag: YES\r\n";
  }

  if (!results.empty()) v.header = authres::build_header(config_.hostname, results) + v.header;
  co_return v;
}

}  // namespace tern
