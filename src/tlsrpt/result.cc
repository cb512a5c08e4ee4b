#include "tlsrpt/result.h"

#include <iterator>

namespace tern::tlsrpt {
namespace {

constexpr const char* kPolicyNames[] = {"sts", "tlsa", "no-policy-found"};
constexpr const char* kResultNames[] = {"success",
                                        "starttls-not-supported",
                                        "certificate-host-mismatch",
                                        "certificate-expired",
                                        "certificate-not-trusted",
                                        "validation-failure",
                                        "tlsa-invalid",
                                        "dnssec-invalid",
                                        "dane-required",
                                        "sts-policy-fetch-error",
                                        "sts-policy-invalid",
                                        "sts-webpki-invalid"};

}  // namespace

const char* policy_type_name(PolicyType t) { return kPolicyNames[static_cast<int>(t)]; }

std::optional<PolicyType> parse_policy_type(std::string_view s) {
  for (size_t i = 0; i < std::size(kPolicyNames); ++i)
    if (s == kPolicyNames[i]) return static_cast<PolicyType>(i);
  return std::nullopt;
}

const char* result_type_name(ResultType r) { return kResultNames[static_cast<int>(r)]; }

std::optional<ResultType> parse_result_type(std::string_view s) {
  for (size_t i = 0; i < std::size(kResultNames); ++i)
    if (s == kResultNames[i]) return static_cast<ResultType>(i);
  return std::nullopt;
}

}  // namespace tern::tlsrpt
