// RFC 7489 6.6.3, Policy Discovery.
#include <fmt/format.h>

#include <utility>

#include "core/ascii.h"
#include "dmarc/evaluate.h"
#include "dmarc/org_domain.h"

namespace tern::dmarc {
namespace {

// The DMARC records among one name's TXT answer.
struct Lookup {
  DnsStatus status = DnsStatus::kOk;
  std::vector<std::string> records;  // strings joined (like DKIM keys)
  std::string error;
};

Lookup dmarc_records(const TxtResult& answer) {
  Lookup out;
  out.status = answer.status;
  out.error = answer.error.empty() ? dns_status_name(answer.status) : answer.error;
  for (const TxtRecord& r : answer.records) {
    std::string joined = txt_text(r);
    // Steps 2 and 4: records not starting with v=DMARC1 are discarded.
    if (is_dmarc_record(joined)) out.records.push_back(std::move(joined));
  }
  return out;
}

// Steps 5-6 for a name that holds at least one DMARC record.
Discovery select(std::string policy_domain, bool org_level, const Lookup& l) {
  Discovery d;
  d.policy_domain = std::move(policy_domain);
  d.org_level = org_level;
  if (l.records.size() > 1) {
    d.status = Discovery::Status::kNone;
    d.error = fmt::format("{} DMARC records at _dmarc.{}: none is used (6.6.3)", l.records.size(),
                          d.policy_domain);
    d.policy_domain.clear();  // no policy: nothing was found
    d.org_level = false;
    return d;
  }
  std::string error;
  d.record_text = l.records.front();
  std::optional<Record> record = parse_record(d.record_text, &error);
  if (!record) {
    d.status = Discovery::Status::kPermError;
    d.error = fmt::format("unusable DMARC record at _dmarc.{}: {}", d.policy_domain, error);
    return d;
  }
  d.status = Discovery::Status::kFound;
  d.record = std::move(*record);
  return d;
}

Discovery temp_error(const std::string& name, const Lookup& l) {
  Discovery d;
  d.status = Discovery::Status::kTempError;
  d.error = fmt::format("{} looking up TXT of {}", l.error, name);
  return d;
}

}  // namespace

const char* discovery_status_name(Discovery::Status s) {
  switch (s) {
    case Discovery::Status::kFound:
      return "found";
    case Discovery::Status::kNone:
      return "none";
    case Discovery::Status::kTempError:
      return "temperror";
    case Discovery::Status::kPermError:
      return "permerror";
  }
  return "?";
}

asio::awaitable<Discovery> discover(DnsLookup& dns, std::string from_domain) {
  if (!from_domain.empty() && from_domain.back() == '.') from_domain.pop_back();
  from_domain = ascii_lower(from_domain);
  if (from_domain.empty()) {
    Discovery d;
    d.error = "no From domain";
    co_return d;
  }
  // Step 1.
  const std::string name = "_dmarc." + from_domain;
  const TxtResult answer = co_await dns.txt(name);
  const Lookup at_from = dmarc_records(answer);
  if (at_from.status == DnsStatus::kTempFail) co_return temp_error(name, at_from);
  if (!at_from.records.empty()) co_return select(from_domain, false, at_from);

  // Step 3: the organizational domain, if different.
  const std::string org = organizational_domain(from_domain);
  if (org == from_domain) {
    Discovery d;
    d.error = fmt::format("no DMARC record at {}", name);
    co_return d;
  }
  const std::string org_name = "_dmarc." + org;
  const TxtResult org_answer = co_await dns.txt(org_name);
  const Lookup at_org = dmarc_records(org_answer);
  if (at_org.status == DnsStatus::kTempFail) co_return temp_error(org_name, at_org);
  if (!at_org.records.empty()) co_return select(org, true, at_org);
  Discovery d;
  d.error = fmt::format("no DMARC record at {} or {}", name, org_name);
  co_return d;
}

}  // namespace tern::dmarc
