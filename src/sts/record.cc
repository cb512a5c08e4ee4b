#include "sts/record.h"

#include <fmt/format.h>

namespace tern::sts {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

RecordResult invalid(std::string why) {
  RecordResult r;
  r.kind = RecordResult::Kind::kInvalid;
  r.error = std::move(why);
  return r;
}

// sts-ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
bool valid_ext_name(std::string_view n) {
  if (n.empty() || n.size() > 32 || !is_alnum(n.front())) return false;
  for (char c : n) {
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

// sts-ext-value: 1*(%x21-3A / %x3C / %x3E-7E), i.e. VCHAR but "=" and ";".
bool valid_ext_value(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || c == '=' || c == ';') return false;
  }
  return true;
}

}  // namespace

RecordResult parse_record(std::string_view text) {
  // 3.1: "v=STSv1" is case-sensitive (%s) and must come first.
  constexpr std::string_view kVersion = "v=STSv1";
  if (!text.starts_with(kVersion)) return {};
  std::string_view rest = text.substr(kVersion.size());
  // Only WSP may sit between the version and its ";".
  rest = trim_wsp(rest);
  if (rest.empty() || rest.front() != ';') return {};
  rest.remove_prefix(1);

  std::string id;
  bool any_field = false;
  while (true) {
    rest = trim_wsp(rest);
    if (rest.empty()) break;  // the optional trailing ";"
    const size_t semi = rest.find(';');
    const std::string_view field = trim_wsp(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos) return invalid(fmt::format("field without '=': '{}'", field));
    const std::string_view name = field.substr(0, eq);
    const std::string_view value = field.substr(eq + 1);
    any_field = true;
    if (name == "id") {
      if (!id.empty()) return invalid("id given twice");
      if (value.empty() || value.size() > 32)
        return invalid(fmt::format("id '{}' is not 1-32 letters and digits", value));
      for (char c : value) {
        if (!is_alnum(c))
          return invalid(fmt::format("id '{}' is not 1-32 letters and digits", value));
      }
      id = std::string(value);
    } else if (!valid_ext_name(name) || !valid_ext_value(value)) {
      return invalid(fmt::format("malformed field '{}'", field));
    }  // else an extension: ignored
  }
  if (!any_field || id.empty()) return invalid("id missing");
  RecordResult r;
  r.kind = RecordResult::Kind::kFound;
  r.id = std::move(id);
  return r;
}

RecordResult select_record(const std::vector<TxtRecord>& records) {
  std::vector<std::string> candidates;
  for (const TxtRecord& rec : records) {
    std::string joined = txt_text(rec);
    // 3.1: "records that do not begin with 'v=STSv1;' are discarded". We
    // allow WSP before the ";" (the ABNF does), so test the version only.
    if (joined.starts_with("v=STSv1") && parse_record(joined).kind != RecordResult::Kind::kNone)
      candidates.push_back(std::move(joined));
  }
  if (candidates.empty()) return {};
  if (candidates.size() > 1) return invalid(fmt::format("{} records", candidates.size()));
  return parse_record(candidates.front());
}

}  // namespace tern::sts
