// Publishing our own MTA-STS policy (RFC 8461 3): the policy [mta_sts]
// describes, the id of its _mta-sts TXT record, and the records to
// publish. The id is derived from the policy text (a SHA-256 prefix), so it
// changes exactly when the policy does (3.1: "id ... MUST change when the
// policy changes") and `tern init`, `tern check` and the server agree on it
// without storing anything. No I/O.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sts/policy.h"

namespace tern::sts {

// The policy with `mode` ("enforce", "testing", "none"; anything else is
// "none"), the mx patterns and max_age (capped at kMaxMaxAge).
Policy make_policy(std::string_view mode, const std::vector<std::string>& mx, uint32_t max_age);

// 32 hex digits: the start of SHA-256 over policy.text(). A valid sts-id
// (1*32 ALPHA / DIGIT).
std::string policy_id(const Policy& policy);

// `_mta-sts.DOMAIN. IN TXT "v=STSv1; id=ID"`.
std::string txt_record_line(std::string_view domain, const Policy& policy);

}  // namespace tern::sts
