// One TLS session outcome as SMTP TLS Reporting counts it (RFC 8460 4):
// what the relay tells the recorder (log.h) after each attempt to deliver
// over TLS to a domain, and what the daily report (report.h) sums up.
//
// Value types; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::tlsrpt {

// RFC 8460 4.4 "policy-type": which policy applied to the session.
enum class PolicyType {
  kSts,            // "sts": an MTA-STS policy (RFC 8461)
  kTlsa,           // "tlsa": DANE TLSA records (RFC 7672)
  kNoPolicyFound,  // "no-policy-found": neither (reported only on request)
};

// RFC 8460 4.3 result types; kSuccess is a successful session (counted in
// the summary, not a failure detail).
enum class ResultType {
  kSuccess,
  // 4.3.1 negotiation failures
  kStarttlsNotSupported,     // "starttls-not-supported"
  kCertificateHostMismatch,  // "certificate-host-mismatch"
  kCertificateExpired,       // "certificate-expired"
  kCertificateNotTrusted,    // "certificate-not-trusted"
  kValidationFailure,        // "validation-failure": any other failure
  // 4.3.2.1 DANE policy failures
  kTlsaInvalid,    // "tlsa-invalid": the TLSA records are unusable
  kDnssecInvalid,  // "dnssec-invalid": no valid DNSSEC answer
  kDaneRequired,   // "dane-required": DANE is required, no TLSA found
  // 4.3.2.2 MTA-STS policy failures
  kStsPolicyFetchError,  // "sts-policy-fetch-error"
  kStsPolicyInvalid,     // "sts-policy-invalid"
  kStsWebpkiInvalid,     // "sts-webpki-invalid"
};

// "sts", "tlsa", "no-policy-found".
const char* policy_type_name(PolicyType t);
std::optional<PolicyType> parse_policy_type(std::string_view s);
// "success" for kSuccess, else the RFC 8460 4.3 name.
const char* result_type_name(ResultType r);
std::optional<ResultType> parse_result_type(std::string_view s);

// What the relay records for one session (or one failed attempt before a
// session, such as a policy that could not be fetched).
struct SessionResult {
  int64_t time = 0;           // unix seconds; picks the UTC day
  std::string policy_domain;  // the recipient domain whose policy applied
  PolicyType policy_type = PolicyType::kNoPolicyFound;
  // "policy-string": for sts, the policy's lines ("version: STSv1",
  // "mode: enforce", "mx: *.example.com", "max_age: 86400"); for tlsa, the
  // TLSA records in presentation form ("3 1 1 ab12...").
  std::vector<std::string> policy_strings;
  std::vector<std::string> mx_host;  // sts: the policy's mx patterns
  ResultType result = ResultType::kSuccess;
  // Failure details (4.4); any may be "" when unknown.
  std::string sending_mta_ip;
  std::string receiving_mx_hostname;
  std::string receiving_mx_helo;
  std::string receiving_ip;
  std::string failure_reason_code;     // free text, e.g. an OpenSSL reason
  std::string additional_information;  // a URI with more, or ""

  friend bool operator==(const SessionResult&, const SessionResult&) = default;
};

}  // namespace tern::tlsrpt
