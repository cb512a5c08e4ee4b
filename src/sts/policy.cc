#include "sts/policy.h"

#include <fmt/format.h>

#include "core/ascii.h"

namespace tern::sts {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view strip_dot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

bool valid_label(std::string_view l) {
  if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
  for (char c : l) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  while (true) {
    const size_t dot = d.find('.');
    if (!valid_label(d.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    d.remove_prefix(dot + 1);
  }
}

// Safe printing of hostile values in errors: at most 40 octets, controls as '?'.
std::string shown(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u > 0x7e) ? '?' : c;
  }
  if (v.size() > 40) out += "...";
  return out;
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kEnforce:
      return "enforce";
    case Mode::kTesting:
      return "testing";
    case Mode::kNone:
      return "none";
  }
  return "?";
}

bool valid_mx_pattern(std::string_view pattern) {
  pattern = strip_dot(pattern);
  if (pattern.starts_with("*.")) pattern.remove_prefix(2);
  return valid_domain(pattern);
}

bool mx_matches(std::string_view pattern, std::string_view host) {
  const std::string p = ascii_lower(strip_dot(pattern));
  const std::string h = ascii_lower(strip_dot(host));
  if (p.empty() || h.empty()) return false;
  if (!p.starts_with("*.")) return p == h;
  // "*.example.com": the host minus its first label is "example.com", and
  // that first label is not empty.
  const size_t dot = h.find('.');
  if (dot == 0 || dot == std::string::npos) return false;
  return std::string_view(h).substr(dot + 1) == std::string_view(p).substr(2);
}

bool Policy::allows(std::string_view host) const {
  for (const std::string& p : mx) {
    if (mx_matches(p, host)) return true;
  }
  return false;
}

std::string Policy::text() const {
  std::string out = fmt::format("version: STSv1\nmode: {}\n", mode_name(mode));
  for (const std::string& p : mx) out += fmt::format("mx: {}\n", p);
  out += fmt::format("max_age: {}\n", max_age);
  return out;
}

std::optional<Policy> parse_policy(std::string_view text, std::string* error) {
  auto fail = [error](std::string why) -> std::optional<Policy> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  Policy p;
  bool have_version = false, have_mode = false, have_max_age = false;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    text = lf == std::string_view::npos ? std::string_view() : text.substr(lf + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);  // CRLF or LF (3.2's sts-policy-term)
    if (trim_wsp(line).empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      return fail(fmt::format("line {}: no ':' in '{}'", line_no, shown(line)));
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = trim_wsp(line.substr(colon + 1));
    auto once = [&](bool* seen) {
      if (*seen) return false;
      *seen = true;
      return true;
    };
    if (key == "version") {
      if (!once(&have_version)) return fail("version given twice");
      if (value != "STSv1") return fail(fmt::format("version '{}' is not STSv1", shown(value)));
    } else if (key == "mode") {
      if (!once(&have_mode)) return fail("mode given twice");
      if (value == "enforce") {
        p.mode = Mode::kEnforce;
      } else if (value == "testing") {
        p.mode = Mode::kTesting;
      } else if (value == "none") {
        p.mode = Mode::kNone;
      } else {
        return fail(fmt::format("mode '{}' is not enforce, testing or none", shown(value)));
      }
    } else if (key == "max_age") {
      if (!once(&have_max_age)) return fail("max_age given twice");
      // 1*10DIGIT
      if (value.empty() || value.size() > 10)
        return fail(fmt::format("max_age '{}' is not 1-10 digits", shown(value)));
      uint64_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9')
          return fail(fmt::format("max_age '{}' is not 1-10 digits", shown(value)));
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      p.max_age = static_cast<uint32_t>(std::min<uint64_t>(n, kMaxMaxAge));
    } else if (key == "mx") {
      if (!valid_mx_pattern(value))
        return fail(fmt::format("mx '{}' is not a host name or *.domain", shown(value)));
      p.mx.push_back(ascii_lower(strip_dot(value)));
    }  // else an extension (3.2): ignored
  }
  if (!have_version) return fail("version missing");
  if (!have_mode) return fail("mode missing");
  if (!have_max_age) return fail("max_age missing");
  if (p.mx.empty() && p.mode != Mode::kNone) return fail("no mx");
  return p;
}

}  // namespace tern::sts
