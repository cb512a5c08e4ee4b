// RFC 8460 3's ABNF, field by field:
//   tlsrpt-record    = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
//   field-delim      = *WSP ";" *WSP
//   tlsrpt-rua       = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
//   tlsrpt-extension = ext-name "=" ext-value
//   ext-name         = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//   ext-value        = 1*(%x21-3A / %x3C / %x3E-7E)
// URIs hold no "," or ";" (percent-encoded, 3).
#include "tlsrpt/record.h"

#include "core/params.h"  // percent_decode
#include "tern/address.h"

namespace tern::tlsrpt {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool valid_ext_name(std::string_view n) {
  if (n.empty() || n.size() > 32 || !is_alnum(n[0])) return false;
  for (char c : n)
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

bool valid_ext_value(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || c == ';' || c == '=') return false;
  }
  return true;
}

bool has_prefix_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// One rua URI: a destination, or nullopt for a scheme we do not send to.
std::optional<ReportDestination> destination(std::string_view uri) {
  for (char c : uri) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return std::nullopt;
  }
  ReportDestination d;
  d.uri = std::string(uri);
  if (has_prefix_nocase(uri, "mailto:")) {
    std::string_view rest = uri.substr(7);
    rest = rest.substr(0, rest.find('?'));
    const std::optional<std::string> addr = percent_decode(rest);
    if (!addr || !parse_mailbox(*addr, /*allow_utf8=*/false)) return std::nullopt;
    d.kind = ReportDestination::Kind::kMailto;
    d.address = *addr;
    return d;
  }
  if (has_prefix_nocase(uri, "https://") && uri.size() > 8) {
    d.kind = ReportDestination::Kind::kHttps;
    return d;
  }
  return std::nullopt;
}

}  // namespace

std::string record_name(std::string_view domain) {
  std::string d(domain);
  if (!d.empty() && d.back() == '.') d.pop_back();
  return "_smtp._tls." + d;
}

std::optional<Record> parse_record(std::string_view text, std::string* error) {
  constexpr std::string_view kVersion = "v=TLSRPTv1";
  if (text.substr(0, kVersion.size()) != kVersion) {
    *error = "does not start with v=TLSRPTv1";
    return std::nullopt;
  }
  std::string_view rest = text.substr(kVersion.size());
  Record record;
  bool have_rua = false;
  size_t fields = 0;
  while (!trim(rest).empty()) {
    rest = trim(rest);
    if (rest.front() != ';') {
      *error = "fields must be separated by \";\"";
      return std::nullopt;
    }
    rest.remove_prefix(1);
    const size_t end = rest.find(';');
    const std::string_view field = trim(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (field.empty()) {
      if (trim(rest).empty()) break;  // a final ";" is allowed
      *error = "an empty field";
      return std::nullopt;
    }
    ++fields;
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos) {
      *error = "a field without \"=\": " + std::string(field);
      return std::nullopt;
    }
    const std::string_view name = field.substr(0, eq);
    const std::string_view value = field.substr(eq + 1);
    if (name == "rua") {
      if (have_rua) {
        *error = "more than one rua=";
        return std::nullopt;
      }
      have_rua = true;
      std::string_view list = value;
      while (true) {
        const size_t comma = list.find(',');
        const std::string_view uri = trim(list.substr(0, comma));
        if (uri.empty()) {
          *error = "an empty URI in rua=";
          return std::nullopt;
        }
        if (std::optional<ReportDestination> d = destination(uri)) {
          record.rua.push_back(std::move(*d));
        } else {
          record.ignored.emplace_back(uri);
        }
        if (comma == std::string_view::npos) break;
        list = list.substr(comma + 1);
      }
      continue;
    }
    if (!valid_ext_name(name) || !valid_ext_value(value)) {
      *error = "a malformed field: " + std::string(field);
      return std::nullopt;
    }
    // An extension we do not know: ignored (3).
  }
  if (fields == 0 || !have_rua) {
    *error = "no rua=";
    return std::nullopt;
  }
  if (record.rua.empty()) {
    *error = "no mailto: or https: destination in rua=";
    return std::nullopt;
  }
  return record;
}

std::optional<Record> select_record(const std::vector<std::string>& txt, std::string* error) {
  const std::string* found = nullptr;
  size_t count = 0;
  for (const std::string& t : txt) {
    if (t.rfind("v=TLSRPTv1", 0) == 0) {
      found = &t;
      ++count;
    }
  }
  if (count != 1) {
    *error = count == 0 ? "no TLSRPTv1 record" : "more than one TLSRPTv1 record";
    return std::nullopt;
  }
  return parse_record(*found, error);
}

}  // namespace tern::tlsrpt
