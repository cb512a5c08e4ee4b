// The aggregate log: rows as lines, day files, appending and reading.
//
// A line (docs/dmarc.md):
//   dmarc1 t=1700000000 ip=192.0.2.1 from=example.com pd=example.com p=reject sp=-
//   pct=100 adkim=r aspf=r fo=0 rua=mailto:d@example.com!1048576 disp=reject res=fail
//   dkim=fail spf=fail why= sd=bounce.example.net ss=mfrom sr=pass sig=example.net/s1/pass
// (one line in the file). Fields are separated by one space; each is
// name=value with the value escaped by escape() below, so that it holds no
// space, "=", ",", "/", "+" (but as an escape), control or non-ASCII
// octet. rua= holds comma-separated URIs; sig= (a DKIM result,
// domain/selector/result) may repeat. Unknown names are ignored, so fields
// can be added without breaking older readers.
#include <fmt/format.h>

#include "core/params.h"  // xtext_decode
#include "dmarc/aggregate.h"

namespace tern::dmarc {
namespace {

constexpr std::string_view kMagic = "dmarc1";

// xtext (RFC 3461 4) with "," and "/" escaped too: our list separators.
std::string escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u <= 0x7e && c != '+' && c != '=' && c != ',' && c != '/') {
      out += c;
    } else {
      out += '+';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::optional<Policy> policy_from(std::string_view s) {
  if (s == "none") return Policy::kNone;
  if (s == "quarantine") return Policy::kQuarantine;
  if (s == "reject") return Policy::kReject;
  return std::nullopt;
}

std::optional<Result> result_from(std::string_view s) {
  for (Result r :
       {Result::kNone, Result::kPass, Result::kFail, Result::kTempError, Result::kPermError}) {
    if (s == result_name(r)) return r;
  }
  return std::nullopt;
}

std::optional<bool> pass_from(std::string_view s) {
  if (s == "pass") return true;
  if (s == "fail") return false;
  return std::nullopt;
}

std::optional<int64_t> int_from(std::string_view s, int64_t max) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > max) return std::nullopt;
  return n;
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

}  // namespace

AggregateRow make_row(int64_t time, std::string source_ip, const Identifiers& ids,
                      const Discovery& d, const Evaluation& e, std::string spf_scope) {
  AggregateRow row;
  row.time = time;
  row.source_ip = std::move(source_ip);
  row.header_from = ids.from_domain;
  row.policy_domain = d.policy_domain;
  row.p = d.record.p;
  row.sp = d.record.sp;
  row.pct = d.record.pct;
  row.adkim = d.record.adkim;
  row.aspf = d.record.aspf;
  row.fo = d.record.fo;
  row.rua = d.record.rua;
  row.disposition = e.applied;
  row.result = e.result;
  row.dkim_aligned = e.dkim_aligned;
  row.spf_aligned = e.spf_aligned;
  if (e.sampled_out) row.override_reason = "sampled_out";
  row.spf_domain = ids.spf_domain;
  row.spf_scope = std::move(spf_scope);
  return row;
}

std::string format_row(const AggregateRow& row) {
  std::string rua;
  for (const ReportUri& u : row.rua) {
    if (!rua.empty()) rua += ',';
    rua += escape(u.text());
  }
  std::string out = fmt::format(
      "{} t={} ip={} from={} pd={} p={} sp={} pct={} adkim={} aspf={} fo={} rua={} disp={} res={} "
      "dkim={} spf={} why={} sd={} ss={} sr={}",
      kMagic, row.time, escape(row.source_ip), escape(row.header_from), escape(row.policy_domain),
      policy_name(row.p), row.sp ? policy_name(*row.sp) : "-", row.pct, alignment_name(row.adkim),
      alignment_name(row.aspf), escape(row.fo), rua, policy_name(row.disposition),
      result_name(row.result), row.dkim_aligned ? "pass" : "fail",
      row.spf_aligned ? "pass" : "fail", escape(row.override_reason), escape(row.spf_domain),
      escape(row.spf_scope), escape(row.spf_result));
  const size_t n = std::min(row.dkim.size(), kMaxDkimResultsPerRow);
  for (size_t i = 0; i < n; ++i) {
    const DkimAuthResult& s = row.dkim[i];
    out += fmt::format(" sig={}/{}/{}", escape(s.domain), escape(s.selector), escape(s.result));
  }
  return out;
}

std::optional<AggregateRow> parse_row(std::string_view line) {
  const std::vector<std::string_view> fields = split(line, ' ');
  if (fields.empty() || fields[0] != kMagic) return std::nullopt;
  AggregateRow row;
  // Required fields, as bits: a line missing any is not ours.
  enum : unsigned { kT = 1, kIp = 2, kFrom = 4, kPd = 8, kP = 16, kDisp = 32, kRes = 64 };
  unsigned seen = 0;
  for (size_t i = 1; i < fields.size(); ++i) {
    const std::string_view f = fields[i];
    const size_t eq = f.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view name = f.substr(0, eq);
    const std::string_view raw = f.substr(eq + 1);
    if (name == "rua") {
      if (raw.empty()) continue;
      for (std::string_view item : split(raw, ',')) {
        const std::optional<std::string> text = xtext_decode(item);
        ReportUri uri;
        bool is_mailto = false;
        if (!text || !parse_report_uri(*text, &uri, &is_mailto) || !is_mailto) {
          return std::nullopt;
        }
        row.rua.push_back(std::move(uri));
      }
      continue;
    }
    if (name == "sig") {
      const std::vector<std::string_view> parts = split(raw, '/');
      if (parts.size() != 3) return std::nullopt;
      DkimAuthResult s;
      const std::optional<std::string> d = xtext_decode(parts[0]);
      const std::optional<std::string> sel = xtext_decode(parts[1]);
      const std::optional<std::string> res = xtext_decode(parts[2]);
      if (!d || !sel || !res) return std::nullopt;
      row.dkim.push_back(DkimAuthResult{*d, *sel, *res});
      continue;
    }
    const std::optional<std::string> value = xtext_decode(raw);
    if (!value) return std::nullopt;
    const std::string& v = *value;
    if (name == "t") {
      const std::optional<int64_t> t = int_from(v, INT64_MAX / 2);
      if (!t) return std::nullopt;
      row.time = *t;
      seen |= kT;
    } else if (name == "ip") {
      row.source_ip = v;
      seen |= kIp;
    } else if (name == "from") {
      row.header_from = v;
      seen |= kFrom;
    } else if (name == "pd") {
      if (v.empty()) return std::nullopt;
      row.policy_domain = v;
      seen |= kPd;
    } else if (name == "p" || name == "disp") {
      const std::optional<Policy> p = policy_from(v);
      if (!p) return std::nullopt;
      (name == "p" ? row.p : row.disposition) = *p;
      seen |= name == "p" ? kP : kDisp;
    } else if (name == "sp") {
      if (v != "-") {
        row.sp = policy_from(v);
        if (!row.sp) return std::nullopt;
      }
    } else if (name == "pct") {
      const std::optional<int64_t> pct = int_from(v, 100);
      if (!pct) return std::nullopt;
      row.pct = static_cast<int>(*pct);
    } else if (name == "adkim" || name == "aspf") {
      if (v != "r" && v != "s") return std::nullopt;
      (name == "adkim" ? row.adkim : row.aspf) =
          v == "s" ? Alignment::kStrict : Alignment::kRelaxed;
    } else if (name == "fo") {
      row.fo = v;
    } else if (name == "res") {
      const std::optional<Result> r = result_from(v);
      if (!r) return std::nullopt;
      row.result = *r;
      seen |= kRes;
    } else if (name == "dkim" || name == "spf") {
      const std::optional<bool> pass = pass_from(v);
      if (!pass) return std::nullopt;
      (name == "dkim" ? row.dkim_aligned : row.spf_aligned) = *pass;
    } else if (name == "why") {
      row.override_reason = v;
    } else if (name == "sd") {
      row.spf_domain = v;
    } else if (name == "ss") {
      row.spf_scope = v;
    } else if (name == "sr") {
      row.spf_result = v;
    }
    // Anything else: a field of a later version; ignored.
  }
  if (seen != (kT | kIp | kFrom | kPd | kP | kDisp | kRes)) return std::nullopt;
  return row;
}

AggregateLog::AggregateLog(std::string dir) : log_(std::move(dir)) {}

AggregateLog::~AggregateLog() = default;

Status AggregateLog::record(const AggregateRow& row) {
  if (row.policy_domain.empty()) return Status::Permanent("a DMARC row without a policy domain");
  return log_.append(row.time, format_row(row));
}

std::vector<AggregateRow> read_rows(const std::string& dir, const std::string& day,
                                    size_t* skipped) {
  return read_day_records(dir, day, parse_row, skipped);
}

}  // namespace tern::dmarc
