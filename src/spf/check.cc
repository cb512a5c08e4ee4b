// check_host() (RFC 7208 4-6). One Evaluation per check holds the
// counters of RFC 7208 4.6.4 and the client's validated names; evaluate()
// runs one record and recurses for include and redirect.
#include "spf/check.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "core/ascii.h"
#include "spf/macro.h"
#include "spf/record.h"

namespace tern::spf {
namespace {

// RFC 7208 4.3: labels of 1-63 octets, at most 253 octets (without the
// trailing dot, which is dropped).
bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = name.find('.', start);
    const size_t len = (dot == std::string_view::npos ? name.size() : dot) - start;
    if (len == 0 || len > 63) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string strip_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// RFC 7208 7.3: an expanded name over 253 octets loses labels on the left.
std::string truncate_name(std::string s) {
  while (s.size() > 253) {
    const size_t dot = s.find('.');
    if (dot == std::string::npos) break;
    s.erase(0, dot + 1);
  }
  return s;
}

bool in_network(const asio::ip::address& ip, const asio::ip::address& net, int prefix) {
  if (ip.is_v4() != net.is_v4()) return false;
  auto compare = [prefix](const auto& a, const auto& b) {
    int bits = prefix;
    for (size_t i = 0; i < a.size() && bits > 0; ++i, bits -= 8) {
      const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
      if ((a[i] & mask) != (b[i] & mask)) return false;
    }
    return true;
  };
  if (ip.is_v4()) return compare(ip.to_v4().to_bytes(), net.to_v4().to_bytes());
  return compare(ip.to_v6().to_bytes(), net.to_v6().to_bytes());
}

Result from_qualifier(Qualifier q) {
  switch (q) {
    case Qualifier::kPass:
      return Result::kPass;
    case Qualifier::kFail:
      return Result::kFail;
    case Qualifier::kSoftFail:
      return Result::kSoftFail;
    case Qualifier::kNeutral:
      return Result::kNeutral;
  }
  return Result::kNeutral;
}

// What one record's evaluation gave.
struct Outcome {
  Result result = Result::kNone;
  std::string mechanism;
  std::string domain;
  std::string problem;
  std::optional<std::string> exp;  // exp= of the deciding record, for a fail
};

// How one mechanism went.
enum class Match { kNo, kYes, kTempError, kPermError };

class Evaluation {
 public:
  Evaluation(DnsLookup& dns, asio::ip::address ip, std::string sender, std::string helo,
             CheckOptions options)
      : dns_(dns), options_(std::move(options)) {
    values_.ip = ip;
    values_.sender = std::move(sender);
    values_.helo = std::move(helo);
    values_.receiver = options_.receiver;
    values_.timestamp = options_.timestamp;
  }

  int dns_mechanisms() const { return dns_mechanisms_; }
  int void_lookups() const { return void_lookups_; }

  // Runs the record of `domain`; `depth` is 0 for the checked domain and
  // grows through include and redirect (only depth 0 wants a multi-label name).
  asio::awaitable<Outcome> evaluate(std::string domain, int depth) {
    Outcome out;
    out.domain = domain;
    if (!valid_name(domain) || (depth == 0 && domain.find('.') == std::string::npos)) {
      out.problem = fmt::format("'{}' is not a usable domain name", domain);
      co_return out;  // kNone, RFC 7208 4.3
    }
    if (depth > 2 * options_.limits.dns_mechanisms + 2) {  // cannot happen within the limits
      out.result = Result::kPermError;
      out.problem = "too deep";
      co_return out;
    }
    TxtResult txt = co_await dns_.txt(domain);
    if (txt.status == DnsStatus::kTempFail) {
      out.result = Result::kTempError;
      out.problem = fmt::format("looking up TXT of {}: {}", domain, txt.error);
      co_return out;
    }
    if (!txt.ok()) {
      if (!count_void(out)) co_return out;
      out.problem = fmt::format("{} has no SPF record ({})", domain, dns_status_name(txt.status));
      co_return out;  // kNone
    }
    const RecordSelection selection = select_record(txt.records);
    if (selection.status == RecordSelection::kNone) {
      out.problem = fmt::format("{} has no SPF record", domain);
      co_return out;
    }
    if (selection.status == RecordSelection::kMultiple) {
      out.result = Result::kPermError;
      out.problem = fmt::format("{} has more than one SPF record", domain);
      co_return out;
    }
    ParsedRecord parsed = parse_record(selection.text);
    if (!parsed.record) {
      out.result = Result::kPermError;
      out.problem = fmt::format("SPF record of {}: {}", domain, parsed.error);
      co_return out;
    }
    const Record& record = *parsed.record;

    for (const Mechanism& m : record.mechanisms) {
      if (m.queries_dns() && !count_dns_mechanism(out)) co_return out;
      const Match match = co_await evaluate_mechanism(m, domain, depth, out);
      if (match == Match::kNo) continue;
      if (match == Match::kYes) {
        out.result = from_qualifier(m.qualifier);
        out.mechanism = m.text;
        if (out.result == Result::kFail) out.exp = record.exp;
      } else {
        out.result = match == Match::kTempError ? Result::kTempError : Result::kPermError;
        if (out.mechanism.empty()) out.mechanism = m.text;
      }
      co_return out;
    }

    if (record.redirect && !record.has_all()) {  // RFC 7208 6.1
      if (!count_dns_mechanism(out)) co_return out;
      std::optional<std::string> target = co_await target_name(*record.redirect, domain, out);
      if (!target) co_return out;
      Outcome redirected = co_await evaluate(*target, depth + 1);
      if (redirected.result == Result::kNone) {
        redirected.result = Result::kPermError;  // RFC 7208 6.1
        redirected.problem = fmt::format("redirect={}: {}", *target, redirected.problem);
      }
      co_return redirected;
    }
    out.result = Result::kNeutral;  // RFC 7208 4.7
    co_return out;
  }

  // RFC 7208 6.2: the explanation of a fail.
  asio::awaitable<std::string> explanation(const Outcome& failed) {
    MacroValues values = values_;
    values.domain = failed.domain;
    if (failed.exp) {
      std::optional<std::string> text = co_await fetch_explanation(*failed.exp, values);
      if (text) co_return *text;
    }
    Expansion def = expand_macros(options_.default_explanation, values, MacroContext::kExplanation);
    co_return def.ok ? def.value : options_.default_explanation;
  }

 private:
  // False (and out set to permerror) when the limit is passed.
  bool count_dns_mechanism(Outcome& out) {
    if (++dns_mechanisms_ <= options_.limits.dns_mechanisms) return true;
    out.result = Result::kPermError;
    out.problem = fmt::format("more than {} DNS-querying mechanisms (RFC 7208 4.6.4)",
                              options_.limits.dns_mechanisms);
    return false;
  }

  bool count_void(Outcome& out) {
    if (++void_lookups_ <= options_.limits.void_lookups) return true;
    out.result = Result::kPermError;
    out.problem =
        fmt::format("more than {} void DNS lookups (RFC 7208 4.6.4)", options_.limits.void_lookups);
    return false;
  }

  // Counts a void answer; false (out set) if that passes the limit.
  bool note(DnsStatus s, Outcome& out) {
    if (s == DnsStatus::kNoData || s == DnsStatus::kNxDomain) return count_void(out);
    return true;
  }

  // Expands a domain-spec (empty: the current domain) into the name to
  // query. nullopt with out set to permerror when the expansion fails.
  asio::awaitable<std::optional<std::string>> target_name(std::string spec, std::string domain,
                                                          Outcome& out) {
    if (spec.empty()) co_return domain;
    MacroValues values = values_;
    values.domain = domain;
    if (validated_name_needed(spec)) values.validated = co_await validated_name(domain);
    const Expansion e = expand_macros(spec, values, MacroContext::kDomainSpec);
    if (!e.ok) {
      out.result = Result::kPermError;
      out.problem = e.error;
      co_return std::nullopt;
    }
    std::string name = truncate_name(strip_dot(e.value));
    if (name.empty()) {
      out.result = Result::kPermError;
      out.problem = fmt::format("'{}' expands to nothing", spec);
      co_return std::nullopt;
    }
    co_return name;
  }

  // A for an IPv4 client, AAAA for IPv6; an unusable name is NXDOMAIN.
  asio::awaitable<AddressResult> addresses(std::string name, bool v4) {
    if (!valid_name(name)) {
      AddressResult r;
      r.status = DnsStatus::kNxDomain;
      r.error = "invalid name";
      co_return r;
    }
    if (v4) co_return co_await dns_.a(std::move(name));
    co_return co_await dns_.aaaa(std::move(name));
  }

  bool matches(const AddressResult& r, const Mechanism& m) const {
    const int prefix = values_.ip.is_v4() ? m.cidr4 : m.cidr6;
    for (const asio::ip::address& a : r.records) {
      if (in_network(values_.ip, a, prefix)) return true;
    }
    return false;
  }

  asio::awaitable<Match> evaluate_mechanism(const Mechanism& m, std::string domain, int depth,
                                            Outcome& out) {
    const bool v4 = values_.ip.is_v4();
    switch (m.kind) {
      case MechanismKind::kAll:
        co_return Match::kYes;
      case MechanismKind::kIp4:
      case MechanismKind::kIp6: {
        const int prefix = m.kind == MechanismKind::kIp4 ? m.cidr4 : m.cidr6;
        co_return in_network(values_.ip, m.network, prefix) ? Match::kYes : Match::kNo;
      }
      default:
        break;
    }
    std::optional<std::string> target = co_await target_name(m.domain_spec, domain, out);
    if (!target) co_return Match::kPermError;

    if (m.kind == MechanismKind::kInclude) {  // RFC 7208 5.2
      Outcome inner = co_await evaluate(*target, depth + 1);
      switch (inner.result) {
        case Result::kPass:
          co_return Match::kYes;
        case Result::kFail:
        case Result::kSoftFail:
        case Result::kNeutral:
          co_return Match::kNo;
        case Result::kTempError:
          out.problem = inner.problem;
          co_return Match::kTempError;
        case Result::kNone:
          out.problem = fmt::format("include:{}: {}", *target, inner.problem);
          co_return Match::kPermError;
        case Result::kPermError:
          out.problem = inner.problem;
          co_return Match::kPermError;
      }
      co_return Match::kPermError;
    }

    if (m.kind == MechanismKind::kA || m.kind == MechanismKind::kExists) {  // 5.3, 5.7
      const bool want_v4 = v4 || m.kind == MechanismKind::kExists;
      AddressResult r = co_await addresses(*target, want_v4);
      if (r.status == DnsStatus::kTempFail) {
        out.problem =
            fmt::format("looking up {} of {}: {}", want_v4 ? "A" : "AAAA", *target, r.error);
        co_return Match::kTempError;
      }
      if (!note(r.status, out)) co_return Match::kPermError;
      if (m.kind == MechanismKind::kExists) co_return r.ok() ? Match::kYes : Match::kNo;
      co_return matches(r, m) ? Match::kYes : Match::kNo;
    }

    if (m.kind == MechanismKind::kMx) {  // RFC 7208 5.4
      MxResult mx;
      if (valid_name(*target)) {
        mx = co_await dns_.mx(*target);
      } else {
        mx.status = DnsStatus::kNxDomain;
      }
      if (mx.status == DnsStatus::kTempFail) {
        out.problem = fmt::format("looking up MX of {}: {}", *target, mx.error);
        co_return Match::kTempError;
      }
      if (!note(mx.status, out)) co_return Match::kPermError;
      if (static_cast<int>(mx.records.size()) > options_.limits.mx_names) {
        out.problem = fmt::format("{} has more than {} MX records (RFC 7208 4.6.4)", *target,
                                  options_.limits.mx_names);
        co_return Match::kPermError;
      }
      std::stable_sort(
          mx.records.begin(), mx.records.end(),
          [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
      for (const MxRecord& host : mx.records) {
        if (host.host == ".") continue;  // null MX (RFC 7505): no addresses
        AddressResult r = co_await addresses(host.host, v4);
        if (r.status == DnsStatus::kTempFail) {
          out.problem =
              fmt::format("looking up {} of {}: {}", v4 ? "A" : "AAAA", host.host, r.error);
          co_return Match::kTempError;
        }
        if (!note(r.status, out)) co_return Match::kPermError;
        if (matches(r, m)) co_return Match::kYes;
      }
      co_return Match::kNo;
    }

    // ptr (RFC 7208 5.5): a validated name equal to or under the target.
    const bool within_limits = co_await validated_names(out);
    if (!within_limits) co_return Match::kPermError;
    const std::string t = ascii_lower(*target);
    for (const std::string& name : *validated_) {
      if (name == t || (name.size() > t.size() && name.ends_with(t) &&
                        name[name.size() - t.size() - 1] == '.')) {
        co_return Match::kYes;
      }
    }
    co_return Match::kNo;
  }

  // RFC 7208 5.5: the PTR names of the client whose addresses include it
  // (at most ptr_names of them looked at). DNS errors make a name (or all)
  // not validated. Computed once per check. False (out set) when the void
  // limit is passed.
  asio::awaitable<bool> validated_names(Outcome& out) {
    if (validated_) co_return true;
    validated_.emplace();
    NameResult ptr = co_await dns_.ptr(values_.ip);
    if (!note(ptr.status, out)) co_return false;
    if (!ptr.ok()) co_return true;
    const size_t n = std::min<size_t>(ptr.records.size(), options_.limits.ptr_names);
    for (size_t i = 0; i < n; ++i) {
      const std::string name = ascii_lower(strip_dot(ptr.records[i]));
      AddressResult r = co_await addresses(name, values_.ip.is_v4());
      if (!note(r.status, out)) co_return false;
      for (const asio::ip::address& a : r.records) {
        if (a == values_.ip) {
          validated_->push_back(name);
          break;
        }
      }
    }
    co_return true;
  }

  // %{p} (RFC 7208 7.3): the validated name that is `domain`, else one
  // under it, else any; "unknown" when there is none.
  asio::awaitable<std::string> validated_name(std::string domain) {
    Outcome ignored;
    co_await validated_names(ignored);
    const std::string d = ascii_lower(domain);
    std::string sub;
    for (const std::string& name : *validated_) {
      if (name == d) co_return name;
      if (sub.empty() && name.ends_with("." + d)) sub = name;
    }
    if (!sub.empty()) co_return sub;
    if (!validated_->empty()) co_return validated_->front();
    co_return std::string("unknown");
  }

  // exp=: nullopt when anything goes wrong (RFC 7208 6.2: then the default).
  asio::awaitable<std::optional<std::string>> fetch_explanation(std::string spec,
                                                                MacroValues values) {
    if (validated_name_needed(spec)) values.validated = co_await validated_name(values.domain);
    const Expansion name = expand_macros(spec, values, MacroContext::kDomainSpec);
    if (!name.ok) co_return std::nullopt;
    const std::string target = truncate_name(strip_dot(name.value));
    if (!valid_name(target)) co_return std::nullopt;
    TxtResult txt = co_await dns_.txt(target);
    if (!txt.ok() || txt.records.size() != 1) co_return std::nullopt;
    const std::string text = txt_text(txt.records.front());
    if (validated_name_needed(text)) values.validated = co_await validated_name(values.domain);
    const Expansion e = expand_macros(text, values, MacroContext::kExplanation);
    if (!e.ok) co_return std::nullopt;
    co_return e.value;
  }

  DnsLookup& dns_;
  CheckOptions options_;
  MacroValues values_;
  int dns_mechanisms_ = 0;
  int void_lookups_ = 0;
  std::optional<std::vector<std::string>> validated_;
};

// RFC 7208 4.3: a sender without a local part gets "postmaster".
std::string full_sender(std::string sender) {
  const size_t at = sender.rfind('@');
  if (at == std::string::npos) return "postmaster@" + sender;
  if (at == 0) return "postmaster" + sender;
  return sender;
}

}  // namespace

const char* result_name(Result r) {
  switch (r) {
    case Result::kNone:
      return "none";
    case Result::kNeutral:
      return "neutral";
    case Result::kPass:
      return "pass";
    case Result::kFail:
      return "fail";
    case Result::kSoftFail:
      return "softfail";
    case Result::kTempError:
      return "temperror";
    case Result::kPermError:
      return "permerror";
  }
  return "?";
}

asio::awaitable<CheckResult> check_host(DnsLookup& dns, asio::ip::address ip, std::string domain,
                                        std::string sender, std::string helo,
                                        CheckOptions options) {
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
    ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
  }
  Evaluation evaluation(dns, ip, full_sender(std::move(sender)), std::move(helo),
                        std::move(options));
  Outcome outcome = co_await evaluation.evaluate(strip_dot(std::move(domain)), 0);
  CheckResult result;
  result.result = outcome.result;
  result.mechanism = std::move(outcome.mechanism);
  result.domain = outcome.domain;
  result.problem = std::move(outcome.problem);
  if (result.result == Result::kFail) {
    result.explanation = co_await evaluation.explanation(outcome);
  }
  result.dns_mechanisms = evaluation.dns_mechanisms();
  result.void_lookups = evaluation.void_lookups();
  co_return result;
}

asio::awaitable<CheckResult> check_mail_from(DnsLookup& dns, asio::ip::address ip,
                                             std::string mail_from, std::string helo,
                                             CheckOptions options) {
  if (mail_from.empty()) {
    co_return co_await check_helo(dns, ip, std::move(helo), std::move(options));
  }
  const size_t at = mail_from.rfind('@');
  std::string domain = at == std::string::npos ? mail_from : mail_from.substr(at + 1);
  co_return co_await check_host(dns, ip, std::move(domain), std::move(mail_from), std::move(helo),
                                std::move(options));
}

asio::awaitable<CheckResult> check_helo(DnsLookup& dns, asio::ip::address ip, std::string helo,
                                        CheckOptions options) {
  std::string sender = "postmaster@" + helo;
  std::string domain = helo;
  co_return co_await check_host(dns, ip, std::move(domain), std::move(sender), std::move(helo),
                                std::move(options));
}

}  // namespace tern::spf
