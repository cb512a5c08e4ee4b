// RFC 7489 6.4 (ABNF, abridged):
//   dmarc-record = dmarc-version dmarc-sep [dmarc-request] [dmarc-sep dmarc-srequest] ...
//   dmarc-version = "v" *WSP "=" *WSP %x44 %x4d %x41 %x52 %x43 %x31
//   dmarc-sep = *WSP %x3b *WSP
//   dmarc-request = "p" *WSP "=" *WSP ( "none" / "quarantine" / "reject" )
//   dmarc-auri = "rua" *WSP "=" *WSP dmarc-uri *(*WSP "," *WSP dmarc-uri)
//   dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]
//   dmarc-adkim = "adkim" *WSP "=" *WSP ( "r" / "s" )
//   dmarc-ainterval = "ri" *WSP "=" *WSP 1*DIGIT
//   dmarc-fo = "fo" *WSP "=" *WSP ( "0" / "1" / "d" / "s" ) *(*WSP ":" *WSP ( "0" / "1" / "d" / "s"
//   )) dmarc-percent = "pct" *WSP "=" *WSP 1*3DIGIT
#include "dmarc/record.h"

#include <fmt/format.h>

#include <set>

#include "core/ascii.h"
#include "core/params.h"  // percent_decode
#include "tern/address.h"

namespace tern::dmarc {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<Policy> parse_policy(std::string_view v) {
  const std::string l = ascii_lower(v);
  if (l == "none") return Policy::kNone;
  if (l == "quarantine") return Policy::kQuarantine;
  if (l == "reject") return Policy::kReject;
  return std::nullopt;
}

std::optional<Alignment> parse_alignment(std::string_view v) {
  const std::string l = ascii_lower(v);
  if (l == "r") return Alignment::kRelaxed;
  if (l == "s") return Alignment::kStrict;
  return std::nullopt;
}

// 1*DIGIT into *out; false when empty, not digits, or above `max`.
bool parse_number(std::string_view v, uint64_t max, uint64_t* out) {
  if (v.empty()) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (!is_digit(c)) return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (max - d) / 10) return false;
    n = n * 10 + d;
  }
  *out = n;
  return true;
}

// fo: ( "0" / "1" / "d" / "s" ) *( *WSP ":" *WSP ( "0" / "1" / "d" / "s" ) ).
bool valid_fo(std::string_view v) {
  size_t pos = 0;
  while (true) {
    const size_t colon = v.find(':', pos);
    const std::string_view item =
        trim(v.substr(pos, colon == std::string_view::npos ? std::string_view::npos : colon - pos));
    if (item.size() != 1) return false;
    const char c = ascii_lower(item[0]);
    if (c != '0' && c != '1' && c != 'd' && c != 's') return false;
    if (colon == std::string_view::npos) return true;
    pos = colon + 1;
  }
}

// rua= / ruf=: a comma-separated list of dmarc-uris. Keeps the mailto:
// ones; returns whether any URI at all was syntactically valid.
bool parse_uri_list(std::string_view tag, std::string_view v, std::vector<ReportUri>* out,
                    std::vector<std::string>* warnings) {
  bool any_valid = false;
  size_t pos = 0;
  while (pos <= v.size()) {
    const size_t comma = v.find(',', pos);
    const size_t end = comma == std::string_view::npos ? v.size() : comma;
    const std::string_view item = trim(v.substr(pos, end - pos));
    ReportUri uri;
    bool is_mailto = false;
    if (!parse_report_uri(item, &uri, &is_mailto)) {
      warnings->push_back(fmt::format("{}: '{}' is not a valid DMARC URI; ignored", tag, item));
    } else {
      any_valid = true;
      if (is_mailto) {
        out->push_back(std::move(uri));
      } else {
        // 6.3: "URIs not supported by Mail Receivers MUST be ignored."
        warnings->push_back(fmt::format("{}: '{}' is not a mailto: URI; ignored", tag, item));
      }
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return any_valid;
}

// The length of a "v" *WSP "=" *WSP "DMARC1" prefix of `txt`, or 0.
size_t version_length(std::string_view txt) {
  if (txt.empty() || ascii_lower(txt[0]) != 'v') return 0;
  size_t i = 1;
  while (i < txt.size() && is_wsp(txt[i])) ++i;
  if (i >= txt.size() || txt[i] != '=') return 0;
  ++i;
  while (i < txt.size() && is_wsp(txt[i])) ++i;
  if (txt.substr(i, 6) != "DMARC1") return 0;  // case-sensitive: %x44 %x4d ...
  i += 6;
  if (i < txt.size() && !is_wsp(txt[i]) && txt[i] != ';') return 0;
  return i;
}

}  // namespace

const char* policy_name(Policy p) {
  switch (p) {
    case Policy::kNone:
      return "none";
    case Policy::kQuarantine:
      return "quarantine";
    case Policy::kReject:
      return "reject";
  }
  return "?";
}

const char* alignment_name(Alignment a) { return a == Alignment::kStrict ? "s" : "r"; }

std::string ReportUri::domain() const {
  const size_t at = address.rfind('@');
  return at == std::string::npos ? std::string() : ascii_lower(address.substr(at + 1));
}

std::string ReportUri::text() const {
  return max_size == 0 ? uri : fmt::format("{}!{}", uri, max_size);
}

bool is_dmarc_record(std::string_view txt) { return version_length(txt) > 0; }

bool parse_report_uri(std::string_view text, ReportUri* out, bool* is_mailto) {
  *out = ReportUri{};
  *is_mailto = false;
  std::string_view uri = text;
  // The size suffix: commas and "!" inside the URI must be percent-encoded
  // (6.4), so the last "!" starts it.
  if (const size_t bang = uri.rfind('!'); bang != std::string_view::npos) {
    std::string_view size = uri.substr(bang + 1);
    uri = uri.substr(0, bang);
    uint64_t unit = 1;
    if (!size.empty() && !is_digit(size.back())) {
      switch (ascii_lower(size.back())) {
        case 'k':
          unit = uint64_t{1} << 10;
          break;
        case 'm':
          unit = uint64_t{1} << 20;
          break;
        case 'g':
          unit = uint64_t{1} << 30;
          break;
        case 't':
          unit = uint64_t{1} << 40;
          break;
        default:
          return false;
      }
      size.remove_suffix(1);
    }
    uint64_t n = 0;
    // "the numeric portion MUST fit within an unsigned 64-bit integer" (6.4);
    // the product must too, or the limit means nothing.
    if (!parse_number(size, UINT64_MAX / unit, &n)) return false;
    out->max_size = n * unit;
    // Only the last "!" may be raw: "mailto:a!1k@b.example!0" is not a URI
    // that text() could write back.
    if (uri.find('!') != std::string_view::npos) return false;
  }
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 3.1).
  const size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(uri[0])) return false;
  for (char c : uri.substr(0, colon)) {
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  const std::string_view rest = uri.substr(colon + 1);
  if (rest.empty()) return false;
  for (char c : uri) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;  // URIs are printable ASCII, no spaces
  }
  out->uri = std::string(uri);
  if (ascii_lower(uri.substr(0, colon)) != "mailto") return true;
  // RFC 6068: mailto:addr-spec[?hfields]. One address: a report goes to
  // each URI, so "%2C"-joined lists are not taken apart here.
  *is_mailto = true;
  const std::optional<std::string> address = percent_decode(rest.substr(0, rest.find('?')));
  if (!address) return false;
  const std::optional<Address> parsed = parse_mailbox(*address, /*allow_utf8=*/false);
  if (!parsed || parsed->domain.empty() || parsed->domain.front() == '[') return false;
  out->address = *address;
  return true;
}

std::optional<Record> parse_record(std::string_view txt, std::string* error) {
  auto fail = [error](std::string why) -> std::optional<Record> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  const size_t vlen = version_length(txt);
  if (vlen == 0) return fail("not a DMARC record (it must start with \"v=DMARC1\")");

  Record r;
  std::set<std::string> seen;
  bool p_valid = false;
  bool sp_invalid = false;
  bool rua_valid = false;
  std::string p_problem;
  int index = 0;  // of the tag after v
  size_t pos = vlen;
  while (pos < txt.size()) {
    // What follows the version (or a tag) is dmarc-sep: *WSP ";" *WSP.
    const size_t semi = txt.find(';', pos);
    if (semi == std::string_view::npos) {
      if (!trim(txt.substr(pos)).empty()) {
        r.warnings.push_back(
            fmt::format("'{}' is not separated by ';'; ignored", trim(txt.substr(pos))));
      }
      break;
    }
    if (!trim(txt.substr(pos, semi - pos)).empty()) {
      r.warnings.push_back(
          fmt::format("'{}' is not separated by ';'; ignored", trim(txt.substr(pos, semi - pos))));
    }
    const size_t next = txt.find(';', semi + 1);
    const size_t end = next == std::string_view::npos ? txt.size() : next;
    const std::string_view spec = trim(txt.substr(semi + 1, end - semi - 1));
    pos = end;
    if (spec.empty()) continue;  // a final ";", or ";;"
    ++index;
    const size_t eq = spec.find('=');
    if (eq == std::string_view::npos) {
      r.warnings.push_back(fmt::format("'{}' is not a tag=value; ignored", spec));
      continue;
    }
    const std::string name = ascii_lower(trim(spec.substr(0, eq)));
    const std::string_view value = trim(spec.substr(eq + 1));
    if (!seen.insert(name).second) {
      // RFC 6376 3.2 (the tag-list syntax DMARC uses, 6.3): "if a tag name
      // does occur more than once, the entire tag-list is invalid".
      return fail(fmt::format("tag '{}' appears more than once", name));
    }
    if (name == "p") {
      if (std::optional<Policy> p = parse_policy(value)) {
        r.p = *p;
        p_valid = true;
        if (index != 1) r.warnings.push_back("p= is not the tag right after v= (6.4); accepted");
      } else {
        p_problem = fmt::format("p={} is not none, quarantine or reject", value);
      }
    } else if (name == "sp") {
      if (std::optional<Policy> sp = parse_policy(value)) {
        r.sp = *sp;
      } else {
        sp_invalid = true;
        p_problem = fmt::format("sp={} is not none, quarantine or reject", value);
      }
    } else if (name == "adkim" || name == "aspf") {
      Alignment& slot = name == "adkim" ? r.adkim : r.aspf;
      if (std::optional<Alignment> a = parse_alignment(value)) {
        slot = *a;
      } else {
        r.warnings.push_back(fmt::format("{}={} is not r or s; using r", name, value));
      }
    } else if (name == "pct") {
      uint64_t n = 0;
      if (!parse_number(value, UINT64_MAX, &n)) {
        r.warnings.push_back(fmt::format("pct={} is not a number; using 100", value));
      } else if (n > 100) {
        r.pct = 100;
        r.warnings.push_back(fmt::format("pct={} is above 100; using 100", value));
      } else {
        r.pct = static_cast<int>(n);
      }
    } else if (name == "ri") {
      uint64_t n = 0;
      if (parse_number(value, UINT32_MAX, &n)) {
        r.ri = static_cast<uint32_t>(n);
      } else {
        r.warnings.push_back(
            fmt::format("ri={} is not a 32-bit unsigned number; using 86400", value));
      }
    } else if (name == "fo") {
      if (valid_fo(value)) {
        r.fo = std::string(value);
      } else {
        r.warnings.push_back(fmt::format("fo={} is not a list of 0, 1, d, s; using 0", value));
      }
    } else if (name == "rua") {
      rua_valid = parse_uri_list("rua", value, &r.rua, &r.warnings);
    } else if (name == "ruf") {
      parse_uri_list("ruf", value, &r.ruf, &r.warnings);
    } else if (name == "v") {
      return fail("tag 'v' appears more than once");
    } else if (name != "rf") {
      // rf= (failure report format) is known but unused: tern sends no
      // failure reports. Anything else: "Unknown tags MUST be ignored."
      r.warnings.push_back(fmt::format("unknown tag '{}'; ignored", name));
    }
  }
  if (!p_valid && p_problem.empty()) p_problem = "no p= tag";
  if (!p_valid || sp_invalid) {
    // 6.6.3 step 6.
    if (!rua_valid) return fail(p_problem + ", and no valid rua= to fall back on p=none");
    r.p = Policy::kNone;
    r.sp.reset();
    r.p_defaulted = true;
    r.warnings.push_back(p_problem + "; acting as p=none because rua= is valid (6.6.3)");
  }
  return r;
}

}  // namespace tern::dmarc
