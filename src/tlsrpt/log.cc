#include "tlsrpt/log.h"

#include <fmt/format.h>

#include "core/params.h"  // xtext_decode

namespace tern::tlsrpt {
namespace {

constexpr std::string_view kMagic = "tlsrpt1";

// xtext (RFC 3461 4) with "," escaped too: the list separator.
std::string escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u <= 0x7e && c != '+' && c != '=' && c != ',') {
      out += c;
    } else {
      out += '+';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::string escape_list(const std::vector<std::string>& list) {
  std::string out;
  for (const std::string& s : list) {
    if (!out.empty()) out += ',';
    out += escape(s);  // never empty: format_result drops empty items
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    const size_t at = s.find(sep, pos);
    out.push_back(s.substr(pos, at == std::string_view::npos ? std::string_view::npos : at - pos));
    if (at == std::string_view::npos) return out;
    pos = at + 1;
  }
}

std::optional<std::vector<std::string>> decode_list(std::string_view raw) {
  std::vector<std::string> out;
  if (raw.empty()) return out;
  for (std::string_view item : split(raw, ',')) {
    std::optional<std::string> v = xtext_decode(item);
    if (!v) return std::nullopt;
    if (!v->empty()) out.push_back(std::move(*v));
  }
  return out;
}

}  // namespace

std::string format_result(const SessionResult& r) {
  std::vector<std::string> ps, mx;
  for (const std::string& s : r.policy_strings)
    if (!s.empty()) ps.push_back(s);
  for (const std::string& s : r.mx_host)
    if (!s.empty()) mx.push_back(s);
  return fmt::format(
      "{} t={} pd={} pt={} ps={} mx={} res={} sip={} host={} helo={} rip={} "
      "code={} info={}",
      kMagic, r.time, escape(r.policy_domain), policy_type_name(r.policy_type), escape_list(ps),
      escape_list(mx), result_type_name(r.result), escape(r.sending_mta_ip),
      escape(r.receiving_mx_hostname), escape(r.receiving_mx_helo), escape(r.receiving_ip),
      escape(r.failure_reason_code), escape(r.additional_information));
}

std::optional<SessionResult> parse_result(std::string_view line) {
  const std::vector<std::string_view> fields = split(line, ' ');
  if (fields.empty() || fields[0] != kMagic) return std::nullopt;
  SessionResult r;
  enum : unsigned { kT = 1, kPd = 2, kPt = 4, kRes = 8 };
  unsigned seen = 0;
  for (size_t i = 1; i < fields.size(); ++i) {
    const std::string_view f = fields[i];
    const size_t eq = f.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view name = f.substr(0, eq);
    const std::string_view raw = f.substr(eq + 1);
    if (name == "ps" || name == "mx") {
      std::optional<std::vector<std::string>> list = decode_list(raw);
      if (!list) return std::nullopt;
      (name == "ps" ? r.policy_strings : r.mx_host) = std::move(*list);
      continue;
    }
    const std::optional<std::string> value = xtext_decode(raw);
    if (!value) return std::nullopt;
    const std::string& v = *value;
    if (name == "t") {
      if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
      r.time = std::stoll(v);
      seen |= kT;
    } else if (name == "pd") {
      if (v.empty()) return std::nullopt;
      r.policy_domain = v;
      seen |= kPd;
    } else if (name == "pt") {
      const std::optional<PolicyType> t = parse_policy_type(v);
      if (!t) return std::nullopt;
      r.policy_type = *t;
      seen |= kPt;
    } else if (name == "res") {
      const std::optional<ResultType> t = parse_result_type(v);
      if (!t) return std::nullopt;
      r.result = *t;
      seen |= kRes;
    } else if (name == "sip") {
      r.sending_mta_ip = v;
    } else if (name == "host") {
      r.receiving_mx_hostname = v;
    } else if (name == "helo") {
      r.receiving_mx_helo = v;
    } else if (name == "rip") {
      r.receiving_ip = v;
    } else if (name == "code") {
      r.failure_reason_code = v;
    } else if (name == "info") {
      r.additional_information = v;
    }
    // Anything else: a field of a later version; ignored.
  }
  if (seen != (kT | kPd | kPt | kRes)) return std::nullopt;
  return r;
}

Log::Log(std::string dir) : log_(std::move(dir)) {}

Log::~Log() = default;

Status Log::record(const SessionResult& r) {
  if (r.policy_domain.empty()) return Status::Permanent("a TLS-RPT result without a domain");
  return log_.append(r.time, format_result(r));
}

std::vector<SessionResult> read_results(const std::string& dir, const std::string& day,
                                        size_t* skipped) {
  return read_day_records(dir, day, parse_result, skipped);
}

}  // namespace tern::tlsrpt
