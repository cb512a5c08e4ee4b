// Aggregate reports (RFC 7489 7.2): rows grouped and counted, the feedback
// document of Appendix C, gzip, the report message (7.2.1.1), and the
// check of external destinations (7.1).
#include <fmt/format.h>
#include <openssl/evp.h>

#include <asio/ip/address.hpp>
#include <map>

#include "base/gzip.h"
#include "core/ascii.h"
#include "dmarc/aggregate.h"
#include "dmarc/org_domain.h"
#include "tern/message.h"

namespace tern::dmarc {
namespace {

// XML character data: markup escaped; octets that are not valid UTF-8, and
// control characters XML 1.0 does not allow, become "?". Attacker-chosen
// names (header From) pass through here.
std::string xml_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&apos;";
          break;
        default:
          out += (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f
                     ? '?'
                     : static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence: lead byte, then 1-3 continuation bytes, shortest
    // form, no surrogates, at most U+10FFFF.
    const size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    bool ok = len > 0 && c <= 0xf4 && i + len <= s.size();
    uint32_t cp = len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (ok) {
      ok = (len == 3 && cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff) && cp != 0xfffe &&
            cp != 0xffff) ||
           (len == 4 && cp >= 0x10000 && cp <= 0x10ffff) || len == 2;
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

// Appendix C's IPAddress type allows dotted quads and IPv6 in eight groups
// only ("([A-Fa-f0-9]{1,4}:){7}[A-Fa-f0-9]{1,4}"), so IPv6 is written
// without "::" compression. Anything that does not parse is written as is.
std::string report_ip(const std::string& ip) {
  std::error_code ec;
  const asio::ip::address a = asio::ip::make_address(ip, ec);
  if (ec) return ip;
  if (a.is_v4()) return a.to_string();
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  const auto b = v6.to_bytes();
  std::string out;
  for (size_t i = 0; i < 16; i += 2) {
    if (i > 0) out += ':';
    out += fmt::format("{:x}", (b[i] << 8) | b[i + 1]);
  }
  return out;
}

// A row with its count: one <record>.
struct Group {
  AggregateRow row;
  int64_t count = 0;
};

// What makes two rows the same <record> (7.2.1.1: rows are grouped by
// everything the record shows).
std::string group_key(const AggregateRow& r) {
  std::string key =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n", report_ip(r.source_ip),
                  policy_name(r.disposition), r.dkim_aligned, r.spf_aligned, r.override_reason,
                  ascii_lower(r.header_from), ascii_lower(r.spf_domain), r.spf_scope, r.spf_result);
  for (const DkimAuthResult& s : r.dkim) {
    key += fmt::format("{}\n{}\n{}\n", ascii_lower(s.domain), s.selector, s.result);
  }
  return key;
}

void element(std::string& out, int indent, std::string_view name, std::string_view value) {
  out += fmt::format("{:{}}<{}>{}</{}>\n", "", indent, name, xml_text(value), name);
}

std::string feedback_xml(const std::string& policy_domain, const AggregateRow& published,
                         const std::vector<Group>& groups, const ReporterInfo& info,
                         const std::string& report_id, int64_t begin, int64_t end) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n";
  element(x, 2, "version", "1.0");
  x += "  <report_metadata>\n";
  element(x, 4, "org_name", info.org_name);
  element(x, 4, "email", info.email);
  element(x, 4, "report_id", report_id);
  x += "    <date_range>\n";
  element(x, 6, "begin", std::to_string(begin));
  element(x, 6, "end", std::to_string(end));
  x += "    </date_range>\n";
  x += "  </report_metadata>\n";
  x += "  <policy_published>\n";
  element(x, 4, "domain", policy_domain);
  element(x, 4, "adkim", alignment_name(published.adkim));
  element(x, 4, "aspf", alignment_name(published.aspf));
  element(x, 4, "p", policy_name(published.p));
  element(x, 4, "sp", policy_name(published.sp.value_or(published.p)));
  element(x, 4, "pct", std::to_string(published.pct));
  element(x, 4, "fo", published.fo);
  x += "  </policy_published>\n";
  for (const Group& g : groups) {
    const AggregateRow& r = g.row;
    x += "  <record>\n    <row>\n";
    element(x, 6, "source_ip", report_ip(r.source_ip));
    element(x, 6, "count", std::to_string(g.count));
    x += "      <policy_evaluated>\n";
    element(x, 8, "disposition", policy_name(r.disposition));
    element(x, 8, "dkim", r.dkim_aligned ? "pass" : "fail");
    element(x, 8, "spf", r.spf_aligned ? "pass" : "fail");
    if (!r.override_reason.empty()) {
      x += "        <reason>\n";
      element(x, 10, "type", r.override_reason);
      x += "        </reason>\n";
    }
    x += "      </policy_evaluated>\n    </row>\n";
    x += "    <identifiers>\n";
    // Appendix C requires envelope_from: the MAIL FROM domain, empty for
    // the null sender (whose SPF identity is the HELO name).
    element(x, 6, "envelope_from", r.spf_scope == "mfrom" ? ascii_lower(r.spf_domain) : "");
    element(x, 6, "header_from", ascii_lower(r.header_from));
    x += "    </identifiers>\n";
    x += "    <auth_results>\n";
    for (const DkimAuthResult& s : r.dkim) {
      x += "      <dkim>\n";
      element(x, 8, "domain", ascii_lower(s.domain));
      if (!s.selector.empty()) element(x, 8, "selector", s.selector);
      element(x, 8, "result", s.result);
      x += "      </dkim>\n";
    }
    // "There will always be at least one SPF result."
    x += "      <spf>\n";
    element(x, 8, "domain", ascii_lower(r.spf_domain));
    element(x, 8, "scope", r.spf_scope);
    element(x, 8, "result", r.spf_result);
    x += "      </spf>\n";
    x += "    </auth_results>\n  </record>\n";
  }
  x += "</feedback>\n";
  return x;
}

// The Message token (boundaries, nothing else here) from the report id,
// so that the same report renders to the same bytes.
Message::Token token_for(const std::string& id) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(id.data(), id.size(), md, &len, EVP_sha256(), nullptr);
  Message::Token t{};
  for (size_t i = 0; i < t.size() && i < len; ++i) t[i] = md[i];
  return t;
}

std::string submitter(const ReporterInfo& info) { return ascii_lower(info.hostname); }

}  // namespace

std::string report_message(const Report& report, const ReporterInfo& info,
                           const std::vector<std::string>& to, int64_t now) {
  Message m(now, token_for(report.report_id));
  Mailbox from;
  from.name = info.org_name;
  from.address = info.email;
  if (!m.set_from(from).ok() && !m.set_from(info.email).ok()) return "";
  for (const std::string& a : to) {
    if (!m.add_to(Mailbox{"", a}).ok()) return "";
  }
  // 7.2.1.1: "Report Domain:" domain "Submitter:" domain "Report-ID:" msg-id.
  if (!m.set_subject(fmt::format("Report Domain: {} Submitter: {} Report-ID: <{}>",
                                 report.policy_domain, submitter(info), report.report_id))
           .ok() ||
      !m.set_message_id("dmarc." + report.report_id).ok()) {
    return "";
  }
  m.set_text(
      fmt::format("This is a DMARC aggregate report (RFC 7489 section 7.2) from {} for {},\n"
                  "covering {} messages between {} and {} (UTC).\n"
                  "The report is the attached file {}.\n",
                  info.org_name, report.policy_domain, report.messages, utc_day(report.begin),
                  utc_day(report.end), report.filename));
  if (!m.attach(report.filename, report.gzip, "application/gzip").ok()) return "";
  std::string out;
  if (!m.render(&out).ok()) return "";
  return out;
}

std::vector<Report> build_reports(const std::string& dir, const std::string& day,
                                  const ReporterInfo& info, int64_t now) {
  std::vector<Report> reports;
  const std::optional<int64_t> begin = day_start(day);
  if (!begin) return reports;
  const int64_t end = *begin + 86400 - 1;

  struct Domain {
    const AggregateRow* last = nullptr;  // the published policy shown
    std::vector<Group> groups;
    std::map<std::string, size_t> index;  // group_key -> groups[i]
    int64_t messages = 0;
  };
  const std::vector<AggregateRow> rows = read_rows(dir, day);
  std::map<std::string, Domain> domains;
  for (const AggregateRow& r : rows) {
    Domain& d = domains[ascii_lower(r.policy_domain)];
    if (d.last == nullptr || r.time >= d.last->time) d.last = &r;
    const auto [it, added] = d.index.emplace(group_key(r), d.groups.size());
    if (added) d.groups.push_back(Group{r, 0});
    ++d.groups[it->second].count;
    ++d.messages;
  }
  for (const auto& [domain, d] : domains) {
    if (d.last->rua.empty()) continue;  // 6.3 rua: none given, no report
    Report report;
    report.policy_domain = domain;
    report.begin = *begin;
    report.end = end;
    report.messages = d.messages;
    report.report_id = fmt::format("{}.{}@{}", *begin, domain, submitter(info));
    report.filename = fmt::format("{}!{}!{}!{}.xml.gz", submitter(info), domain, *begin, end);
    report.xml = feedback_xml(domain, *d.last, d.groups, info, report.report_id, *begin, end);
    report.gzip = gzip(report.xml);
    if (report.gzip.empty()) continue;
    std::vector<std::string> to;
    for (const ReportUri& u : d.last->rua) {
      // 6.2: a URI's "!size" limits the report payload sent to it.
      if (u.max_size != 0 && report.gzip.size() > u.max_size) continue;
      report.rua.push_back(u);
      to.push_back(u.address);
    }
    if (report.rua.empty()) continue;
    report.message = report_message(report, info, to, now);
    if (report.message.empty()) continue;  // a From the Message refused
    reports.push_back(std::move(report));
  }
  return reports;
}

asio::awaitable<Destination> check_external_destination(DnsLookup& dns, std::string policy_domain,
                                                        std::string rua_domain) {
  if (aligned(policy_domain, rua_domain, Alignment::kRelaxed)) co_return Destination::kAllowed;
  // 7.1 step 1: "<policy-domain>._report._dmarc.<destination-domain>".
  const std::string name =
      ascii_lower(policy_domain) + "._report._dmarc." + ascii_lower(rua_domain);
  const TxtResult answer = co_await dns.txt(name);
  if (answer.status == DnsStatus::kTempFail) co_return Destination::kTempError;
  for (const TxtRecord& r : answer.records) {
    // 7.1 steps 4-5: one record starting with v=DMARC1 authorises.
    if (is_dmarc_record(txt_text(r))) co_return Destination::kAllowed;
  }
  co_return Destination::kRefused;
}

asio::awaitable<bool> external_destination_allowed(DnsLookup& dns, std::string policy_domain,
                                                   std::string rua_domain) {
  const Destination d =
      co_await check_external_destination(dns, std::move(policy_domain), std::move(rua_domain));
  co_return d == Destination::kAllowed;
}

}  // namespace tern::dmarc
