// RFC 7208 12 (ABNF):
//   record = version terms *SP        version = "v=spf1"
//   terms = *( 1*SP ( directive / modifier ) )
//   directive = [ qualifier ] mechanism
//   modifier = redirect / explanation / unknown-modifier
//   unknown-modifier = name "=" macro-string
//   name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
#include "spf/record.h"

#include <fmt/format.h>

#include <asio/ip/address_v4.hpp>
#include <asio/ip/address_v6.hpp>

#include "spf/macro.h"

namespace tern::spf {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// toplabel = ( *alphanum ALPHA *alphanum ) /
//            ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool valid_toplabel(std::string_view l) {
  if (l.empty()) return false;
  bool alpha = false;
  bool dash = false;
  for (char c : l) {
    if (is_alpha(c)) {
      alpha = true;
    } else if (c == '-') {
      dash = true;
    } else if (!is_digit(c)) {
      return false;
    }
  }
  if (!dash) return alpha;
  return is_alnum(l.front()) && is_alnum(l.back());
}

// A CIDR length "0" or without leading zeros, at most `max`; -1 if bad.
int cidr_length(std::string_view s, int max) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return -1;
  int n = 0;
  for (char c : s) {
    if (!is_digit(c)) return -1;
    n = n * 10 + (c - '0');
  }
  return n <= max ? n : -1;
}

// Splits a trailing "/N" or "//N" or "/N//M" off `arg` (a and mx,
// RFC 7208 5.6 dual-cidr-length). Returns false on a malformed length.
bool split_dual_cidr(std::string& arg, Mechanism& m) {
  auto trailing_number = [](const std::string& s, size_t& slash) {
    size_t i = s.size();
    while (i > 0 && is_digit(s[i - 1])) --i;
    if (i == s.size() || i == 0 || s[i - 1] != '/') return false;
    slash = i - 1;
    return true;
  };
  size_t slash = 0;
  if (trailing_number(arg, slash) && slash > 0 && arg[slash - 1] == '/') {
    m.cidr6 = cidr_length(std::string_view(arg).substr(slash + 1), 128);
    if (m.cidr6 < 0) return false;
    arg.resize(slash - 1);
  }
  if (trailing_number(arg, slash)) {
    m.cidr4 = cidr_length(std::string_view(arg).substr(slash + 1), 32);
    if (m.cidr4 < 0) return false;
    arg.resize(slash);
  }
  return true;
}

// ip4-network: a strict dotted quad (no leading zeros).
std::optional<asio::ip::address> parse_ip4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    const size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    const std::string_view n = s.substr(start, i - start);
    if (cidr_length(n, 255) < 0) return std::nullopt;
    ++parts;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != s.size()) return std::nullopt;
  std::error_code ec;
  auto a = asio::ip::make_address_v4(std::string(s), ec);
  if (ec) return std::nullopt;
  return asio::ip::address(a);
}

std::optional<asio::ip::address> parse_ip6(std::string_view s) {
  for (char c : s) {
    if (!(is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
          c == '.')) {
      return std::nullopt;  // no zone ids, no spaces
    }
  }
  std::error_code ec;
  auto a = asio::ip::make_address_v6(std::string(s), ec);
  if (ec) return std::nullopt;
  return asio::ip::address(a);
}

// Checks a domain-spec: macro syntax and its end. Returns "" or the error.
std::string check_domain_spec(std::string_view spec, std::string_view term) {
  if (spec.empty()) return fmt::format("empty domain-spec in '{}'", term);
  if (std::string e = check_macro_string(spec, MacroContext::kDomainSpec); !e.empty()) return e;
  if (!valid_domain_end(spec)) {
    return fmt::format("'{}' does not end in a top-level domain or macro", spec);
  }
  return "";
}

// Parses a directive (a mechanism with its qualifier). Returns "" or the
// error.
std::string parse_directive(std::string_view term, Mechanism& m) {
  m.text = std::string(term);
  std::string_view rest = term;
  switch (rest.front()) {
    case '+':
      m.qualifier = Qualifier::kPass;
      rest.remove_prefix(1);
      break;
    case '-':
      m.qualifier = Qualifier::kFail;
      rest.remove_prefix(1);
      break;
    case '~':
      m.qualifier = Qualifier::kSoftFail;
      rest.remove_prefix(1);
      break;
    case '?':
      m.qualifier = Qualifier::kNeutral;
      rest.remove_prefix(1);
      break;
  }
  size_t end = 0;
  while (end < rest.size() && rest[end] != ':' && rest[end] != '/') ++end;
  const std::string name = lower(rest.substr(0, end));
  std::string_view tail = rest.substr(end);  // "", ":arg..." or "/cidr..."
  const bool has_arg = !tail.empty() && tail.front() == ':';
  std::string arg(has_arg ? tail.substr(1) : tail);  // for a/mx, may begin with "/"

  if (name == "all") {
    m.kind = MechanismKind::kAll;
    if (!tail.empty()) return fmt::format("'all' takes no argument: '{}'", term);
    return "";
  }
  if (name == "include" || name == "exists") {
    m.kind = name == "include" ? MechanismKind::kInclude : MechanismKind::kExists;
    if (!has_arg) return fmt::format("'{}' needs a domain: '{}'", name, term);
    m.domain_spec = arg;
    return check_domain_spec(m.domain_spec, term);
  }
  if (name == "a" || name == "mx") {
    m.kind = name == "a" ? MechanismKind::kA : MechanismKind::kMx;
    if (!split_dual_cidr(arg, m)) return fmt::format("invalid CIDR length in '{}'", term);
    if (!has_arg) {
      if (!arg.empty()) return fmt::format("malformed '{}'", term);
      return "";
    }
    m.domain_spec = arg;
    return check_domain_spec(m.domain_spec, term);
  }
  if (name == "ptr") {
    m.kind = MechanismKind::kPtr;
    if (!has_arg) {
      if (!tail.empty()) return fmt::format("malformed '{}'", term);
      return "";
    }
    m.domain_spec = arg;
    return check_domain_spec(m.domain_spec, term);
  }
  if (name == "ip4" || name == "ip6") {
    const bool v4 = name == "ip4";
    m.kind = v4 ? MechanismKind::kIp4 : MechanismKind::kIp6;
    if (!has_arg) return fmt::format("'{}' needs an address: '{}'", name, term);
    std::string_view net = arg;
    const size_t slash = net.find('/');
    if (slash != std::string_view::npos) {
      const int len = cidr_length(net.substr(slash + 1), v4 ? 32 : 128);
      if (len < 0) return fmt::format("invalid CIDR length in '{}'", term);
      (v4 ? m.cidr4 : m.cidr6) = len;
      net = net.substr(0, slash);
    }
    auto address = v4 ? parse_ip4(net) : parse_ip6(net);
    if (!address) return fmt::format("invalid {} address in '{}'", v4 ? "IPv4" : "IPv6", term);
    m.network = *address;
    return "";
  }
  return fmt::format("unknown mechanism '{}'", term);
}

// The length of the modifier name when `term` is `name "=" ...`, else 0.
size_t modifier_name_length(std::string_view term) {
  if (term.empty() || !is_alpha(term[0])) return 0;
  size_t i = 1;
  while (i < term.size() &&
         (is_alnum(term[i]) || term[i] == '-' || term[i] == '_' || term[i] == '.')) {
    ++i;
  }
  return (i < term.size() && term[i] == '=') ? i : 0;
}

}  // namespace

const char* mechanism_name(MechanismKind kind) {
  switch (kind) {
    case MechanismKind::kAll:
      return "all";
    case MechanismKind::kInclude:
      return "include";
    case MechanismKind::kA:
      return "a";
    case MechanismKind::kMx:
      return "mx";
    case MechanismKind::kPtr:
      return "ptr";
    case MechanismKind::kIp4:
      return "ip4";
    case MechanismKind::kIp6:
      return "ip6";
    case MechanismKind::kExists:
      return "exists";
  }
  return "?";
}

bool Mechanism::queries_dns() const {
  return kind == MechanismKind::kInclude || kind == MechanismKind::kA ||
         kind == MechanismKind::kMx || kind == MechanismKind::kPtr ||
         kind == MechanismKind::kExists;
}

bool Record::has_all() const {
  for (const Mechanism& m : mechanisms) {
    if (m.kind == MechanismKind::kAll) return true;
  }
  return false;
}

bool is_spf_record(std::string_view text) {
  if (text.size() < 6 || lower(text.substr(0, 6)) != "v=spf1") return false;
  return text.size() == 6 || text[6] == ' ';
}

bool valid_domain_end(std::string_view spec) {
  // Walk the macro-string to see whether it ends in a macro-expand.
  bool ends_in_macro = false;
  for (size_t i = 0; i < spec.size();) {
    if (spec[i] == '%' && i + 1 < spec.size()) {
      if (spec[i + 1] == '{') {
        const size_t close = spec.find('}', i);
        if (close == std::string_view::npos) return false;
        i = close + 1;
      } else {
        i += 2;
      }
      ends_in_macro = true;
    } else {
      ends_in_macro = false;
      ++i;
    }
  }
  if (ends_in_macro) return true;
  std::string_view s = spec;
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  const size_t dot = s.rfind('.');
  if (dot == std::string_view::npos) return false;
  return valid_toplabel(s.substr(dot + 1));
}

ParsedRecord parse_record(std::string_view text) {
  ParsedRecord out;
  if (!is_spf_record(text)) {
    out.error = "not an SPF record";
    return out;
  }
  Record record;
  std::string_view rest = text.substr(6);
  while (!rest.empty()) {
    const size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = rest.find(' ');
    const std::string_view term = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);

    if (const size_t n = modifier_name_length(term); n > 0) {
      const std::string name = lower(term.substr(0, n));
      const std::string_view value = term.substr(n + 1);
      if (name == "redirect" || name == "exp") {
        std::optional<std::string>& slot = name == "redirect" ? record.redirect : record.exp;
        if (slot) {
          out.error = fmt::format("'{}=' appears more than once", name);
          return out;
        }
        if (std::string e = check_domain_spec(value, term); !e.empty()) {
          out.error = std::move(e);
          return out;
        }
        slot = std::string(value);
      } else if (std::string e = check_macro_string(value, MacroContext::kDomainSpec); !e.empty()) {
        out.error = std::move(e);
        return out;
      }
      continue;
    }
    Mechanism m;
    if (std::string e = parse_directive(term, m); !e.empty()) {
      out.error = std::move(e);
      return out;
    }
    record.mechanisms.push_back(std::move(m));
  }
  out.record = std::move(record);
  return out;
}

RecordSelection select_record(const std::vector<TxtRecord>& records) {
  RecordSelection out;
  for (const TxtRecord& r : records) {
    std::string joined = txt_text(r);
    if (!is_spf_record(joined)) continue;
    if (out.status == RecordSelection::kFound) {
      out.status = RecordSelection::kMultiple;
      out.text.clear();
      return out;
    }
    out.status = RecordSelection::kFound;
    out.text = std::move(joined);
  }
  return out;
}

}  // namespace tern::spf
