// The TLS-RPT mapping; the rules are in tls_report.h.
#include "relay/tls_report.h"

#include <fmt/format.h>

namespace tern {
namespace {

using tlsrpt::PolicyType;
using tlsrpt::ResultType;
using tlsrpt::SessionResult;

// "3 1 1 ab12..." (RFC 6698 2.2 presentation form, hex in lower case).
std::string tlsa_text(const TlsaRecord& r) {
  std::string hex;
  for (unsigned char c : r.data) hex += fmt::format("{:02x}", c);
  return fmt::format("{} {} {} {}", r.usage, r.selector, r.matching, hex);
}

// The policy's lines, as RFC 8460 4.4 "policy-string" wants them.
std::vector<std::string> policy_lines(const sts::Policy& p) {
  std::vector<std::string> out;
  const std::string text = p.text();
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

SessionResult base(const TlsAttempt& a, PolicyType type) {
  SessionResult r;
  r.time = a.time;
  r.policy_domain = a.policy_domain;
  r.policy_type = type;
  r.sending_mta_ip = a.sending_ip;
  r.receiving_mx_hostname = a.mx_host;
  r.receiving_ip = a.receiving_ip;
  r.receiving_mx_helo = a.receiving_helo;
  return r;
}

// DANE (RFC 7672) decided the host: authenticated by a TLSA record, or not.
SessionResult dane_result(const TlsAttempt& a, const TlsRequirement& req) {
  SessionResult r = base(a, PolicyType::kTlsa);
  for (const TlsaRecord& t : req.tlsa) r.policy_strings.push_back(tlsa_text(t));
  if (!a.tls) {  // skipped before connecting: nothing more to say
    r.result = ResultType::kValidationFailure;
    r.failure_reason_code = req.failure;
  } else if (a.tls->active && !a.tls->check.dane.empty()) {
    r.result = ResultType::kSuccess;
  } else if (!a.tls->active && a.tls->check.detail.empty()) {
    // No TLS and no certificate seen: STARTTLS was not offered or refused
    // (handshake_failed is also set then, so it cannot tell these apart).
    r.result = ResultType::kStarttlsNotSupported;
  } else {
    // The handshake failed or the certificate matched no TLSA record: our
    // DANE check aborts the handshake on a mismatch, so both are this.
    r.result = ResultType::kTlsaInvalid;
    r.failure_reason_code = a.tls->check.detail;
  }
  return r;
}

SessionResult sts_result(const TlsAttempt& a) {
  SessionResult r = base(a, PolicyType::kSts);
  if (a.sts_state && a.sts_state->policy) {
    r.policy_strings = policy_lines(*a.sts_state->policy);
    r.mx_host = a.sts_state->policy->mx;
  }
  if (!a.sts.mx_matched) {
    // RFC 8460 has no type of its own for an MX host outside the policy;
    // 4.3.1 "validation-failure" is the catch-all.
    r.result = ResultType::kValidationFailure;
    r.failure_reason_code = "MX host not in the MTA-STS policy";
    return r;
  }
  if (!a.tls) {
    r.result = ResultType::kValidationFailure;
    return r;
  }
  std::string failure = sts_tls_failure(*a.tls);
  if (failure == "starttls-not-supported" && !a.tls->check.detail.empty())
    failure = "validation-failure";  // a handshake that failed after STARTTLS
  if (failure.empty()) return r;     // kSuccess
  r.result = tlsrpt::parse_result_type(failure).value_or(ResultType::kValidationFailure);
  r.failure_reason_code = a.tls->check.detail;
  return r;
}

}  // namespace

std::optional<SessionResult> tls_session_result(const TlsAttempt& a) {
  if (a.requirement) {
    const TlsRequirement& req = *a.requirement;
    // RFC 8460 4.3.2.1 "dnssec-invalid": no valid DNSSEC answer (a bogus
    // TLSA RRset, or a lookup that failed: the host is skipped either way).
    if (req.dane == "bogus" || req.dane == "failed") {
      SessionResult r = base(a, PolicyType::kTlsa);
      r.result = ResultType::kDnssecInvalid;
      r.failure_reason_code = req.failure;
      return r;
    }
    // RFC 8460 4.3.2.1 "dane-required": DANE was required (dane-only) and
    // the host had no secure usable TLSA records, so it was skipped.
    // A secure RRset of unusable records is "tlsa-invalid" ("none of the
    // records in the RRset were found to be valid").
    if (req.dane_required && !req.failure.empty() && req.tlsa.empty()) {
      SessionResult r = base(a, PolicyType::kTlsa);
      r.result = req.dane == "unusable" ? ResultType::kTlsaInvalid : ResultType::kDaneRequired;
      r.failure_reason_code = req.failure;
      return r;
    }
    if (req.source == TlsSource::kDane) return dane_result(a, req);
  }
  if (a.sts.applies) return sts_result(a);
  return std::nullopt;
}

std::optional<SessionResult> sts_fetch_result(const StsState& state,
                                              const std::string& policy_domain, int64_t time) {
  // sts_fetch.cc: "fetch failed: WHY" only when a record exists, the fetch
  // failed and nothing usable was cached.
  static constexpr std::string_view kFailed = "fetch failed: ";
  if (state.policy || !state.source.starts_with(kFailed)) return std::nullopt;
  SessionResult r;
  r.time = time;
  r.policy_domain = policy_domain;
  r.policy_type = PolicyType::kSts;
  const std::string why = state.source.substr(kFailed.size());
  r.result = state.webpki_invalid ? ResultType::kStsWebpkiInvalid
             : why.starts_with("invalid policy") || why.starts_with("media type")
                 ? ResultType::kStsPolicyInvalid
                 : ResultType::kStsPolicyFetchError;
  r.failure_reason_code = why;
  return r;
}

void relax_for_tls_report(std::map<std::string, TlsRequirement>& tls) {
  for (auto& [host, req] : tls) {
    if (req.level == TlsLevel::kNone) continue;
    req.level = TlsLevel::kMay;
    req.failure.clear();
    req.tlsa.clear();
    req.origin = "tls-rpt report (RFC 8460 5.3)";
  }
}

}  // namespace tern
