#include "relay/sts_policy.h"

namespace tern {

StsHopRule sts_hop_rule(const StsState& state, std::string_view mx_host) {
  StsHopRule r;
  if (!state.policy || state.policy->mode == sts::Mode::kNone) return r;
  r.applies = true;
  r.enforce = state.policy->mode == sts::Mode::kEnforce;
  r.mx_matched = state.policy->allows(mx_host);
  r.usable = r.mx_matched || !r.enforce;
  r.require_tls = r.enforce;
  return r;
}

std::string sts_tls_failure(const ClientTlsState& tls) {
  if (!tls.active) return "starttls-not-supported";
  if (tls.check.verified) return "";
  const std::string& d = tls.check.detail;
  if (d.find("hostname mismatch") != std::string::npos ||
      d.find("IP address mismatch") != std::string::npos)
    return "certificate-host-mismatch";
  if (d.find("expired") != std::string::npos) return "certificate-expired";
  if (d.find("self-signed") != std::string::npos || d.find("self signed") != std::string::npos ||
      d.find("issuer") != std::string::npos || d.find("untrusted") != std::string::npos)
    return "certificate-not-trusted";
  return "validation-failure";
}

std::string sts_log_field(const StsHopRule& rule, const std::optional<ClientTlsState>& tls) {
  if (!rule.applies) return "";
  const char* mode = rule.enforce ? "enforce" : "testing";
  std::string what = "matched";
  if (!rule.mx_matched) {
    what = "mx-mismatch";
  } else if (tls) {
    const std::string failure = sts_tls_failure(*tls);
    if (!failure.empty()) what = failure;
  }
  return std::string("sts=") + mode + "(" + what + ")";
}

}  // namespace tern
