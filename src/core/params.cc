// MAIL FROM / RCPT TO arguments: the path, then ESMTP parameters
// (RFC 5321 4.1.2 esmtp-param). See params.h for the contract and the
// reply each failure produces.
#include "core/params.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace tern {
namespace {

char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
bool is_alnum(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_upper(c);
  return out;
}

// atext (RFC 5322 3.2.3), for the ORCPT addr-type atom (RFC 3461 4.2).
bool is_atext(char c) {
  return is_alnum(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// RFC 3461 4.2, 4.4: DSN fields carry printable US-ASCII only; this also
// keeps CR and LF out of anything we later write into a DSN or a queue file.
bool is_printable_ascii(std::string_view s) {
  for (char c : s) {
    if (c < 32 || c > 126) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// One esmtp-param; keyword upper-cased.
struct Param {
  std::string keyword;
  std::string_view value;
  bool has_value = false;
};

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
// esmtp-value   = 1*(%d33-60 / %d62-126)
std::optional<Param> parse_param(std::string_view token) {
  const size_t eq = token.find('=');
  const std::string_view keyword = token.substr(0, eq);
  if (keyword.empty() || !is_alnum(keyword[0])) return std::nullopt;
  for (char c : keyword) {
    if (!is_alnum(c) && c != '-') return std::nullopt;
  }
  Param p{upper(keyword), {}, eq != std::string_view::npos};
  if (p.has_value) {
    p.value = token.substr(eq + 1);
    if (p.value.empty()) return std::nullopt;
    for (char c : p.value) {
      if (c < 33 || c > 126 || c == '=') return std::nullopt;
    }
  }
  return p;
}

// Splits the argument text into the "<...>" path and what follows it.
// Leading spaces are skipped; a '>' inside a quoted local part does not end
// the path. What follows must be empty or start with a space.
std::optional<std::pair<std::string_view, std::string_view>> split_path(std::string_view text) {
  const size_t start = text.find_first_not_of(' ');
  if (start == std::string_view::npos || text[start] != '<') return std::nullopt;
  bool quoted = false;
  for (size_t i = start + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      const std::string_view rest = text.substr(i + 1);
      if (!rest.empty() && rest.front() != ' ') return std::nullopt;
      return std::pair(text.substr(start, i + 1 - start), rest);
    }
  }
  return std::nullopt;
}

Reply bad_syntax() { return Reply(501, "5.5.4", "Bad parameter syntax"); }
Reply bad_value(std::string_view keyword) {
  return Reply(501, "5.5.4", "Bad " + std::string(keyword) + "= value");
}

// Parses the space-separated parameters in `rest`, calling
// handle(index, param) for each known one, where index is its position in
// `names`. Refuses bad syntax, unknown keywords and duplicates itself.
template <size_t N, typename Handler>
std::optional<Reply> for_each_param(std::string_view rest,
                                    const std::array<std::string_view, N>& names, Handler handle) {
  unsigned seen = 0;
  size_t i = 0;
  while (true) {
    i = rest.find_first_not_of(' ', i);
    if (i == std::string_view::npos) return std::nullopt;
    size_t end = rest.find(' ', i);
    if (end == std::string_view::npos) end = rest.size();
    const std::optional<Param> p = parse_param(rest.substr(i, end - i));
    i = end;
    if (!p) return bad_syntax();
    size_t index = 0;
    while (index < N && names[index] != p->keyword) ++index;
    if (index == N) return Reply(555, "5.5.4", "Unsupported parameter " + p->keyword);
    if (seen & (1u << index)) return Reply(501, "5.5.4", "Duplicate parameter " + p->keyword);
    seen |= 1u << index;
    if (std::optional<Reply> r = handle(index, *p)) return r;
  }
}

// RFC 1870: size-value = 1*20DIGIT; we also refuse values beyond 2^64-1.
std::optional<uint64_t> parse_size(std::string_view v) {
  if (v.empty() || v.size() > 20) return std::nullopt;
  uint64_t n = 0;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<uint64_t>(c - '0');
    if (n > (kMax - d) / 10) return std::nullopt;
    n = n * 10 + d;
  }
  return n;
}

// RFC 3461 4.1: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ).
unsigned parse_notify(std::string_view v) {
  const std::string u = upper(v);
  if (u == "NEVER") return kNotifyNever;
  unsigned bits = 0;
  size_t start = 0;
  while (true) {
    const size_t comma = u.find(',', start);
    const std::string_view item = std::string_view(u).substr(start, comma - start);
    if (item == "SUCCESS") {
      bits |= kNotifySuccess;
    } else if (item == "FAILURE") {
      bits |= kNotifyFailure;
    } else if (item == "DELAY") {
      bits |= kNotifyDelay;
    } else {
      return kNotifyNone;  // includes "NEVER" in a list, and empty items
    }
    if (comma == std::string::npos) return bits;
    start = comma + 1;
  }
}

// RFC 3461 4.2: orcpt-value = addr-type ";" xtext, addr-type = atom.
// Returns "addr-type;decoded", or nullopt.
std::optional<std::string> parse_orcpt(std::string_view v) {
  const size_t semi = v.find(';');
  if (semi == std::string_view::npos || semi == 0) return std::nullopt;
  const std::string_view type = v.substr(0, semi);
  for (char c : type) {
    if (!is_atext(c)) return std::nullopt;
  }
  const std::optional<std::string> addr = xtext_decode(v.substr(semi + 1));
  if (!addr || addr->empty() || !is_printable_ascii(*addr)) return std::nullopt;
  return std::string(type) + ";" + *addr;
}

enum MailParam { kSize, kBody, kSmtpUtf8, kRet, kEnvid, kAuth, kRequireTls };
constexpr std::array<std::string_view, 7> kMailParams = {"SIZE",  "BODY", "SMTPUTF8",  "RET",
                                                         "ENVID", "AUTH", "REQUIRETLS"};
enum RcptParam { kNotify, kOrcpt };
constexpr std::array<std::string_view, 2> kRcptParams = {"NOTIFY", "ORCPT"};

constexpr size_t kMaxEnvid = 100;  // RFC 3461 4.4

std::optional<Reply> apply_mail_param(size_t index, const Param& p, MailArgs& args) {
  if (index == kSmtpUtf8) {
    // RFC 6531 3.4: the SMTPUTF8 parameter has no value.
    if (p.has_value) return Reply(501, "5.5.4", "SMTPUTF8 takes no value");
    args.smtputf8 = true;
    return std::nullopt;
  }
  if (index == kRequireTls) {
    // RFC 8689 2: "REQUIRETLS" has no value.
    if (p.has_value) return Reply(501, "5.5.4", "REQUIRETLS takes no value");
    args.requiretls = true;
    return std::nullopt;
  }
  if (!p.has_value) return bad_value(p.keyword);
  const std::string v = upper(p.value);
  switch (index) {
    case kSize:
      args.size = parse_size(p.value);
      if (!args.size) return bad_value(p.keyword);
      break;
    case kBody:  // RFC 6152 2, RFC 3030 3
      if (v == "7BIT") {
        args.body = BodyType::k7Bit;
      } else if (v == "8BITMIME") {
        args.body = BodyType::k8BitMime;
      } else if (v == "BINARYMIME") {
        args.body = BodyType::kBinaryMime;
      } else {
        return bad_value(p.keyword);
      }
      break;
    case kRet:  // RFC 3461 4.3
      if (v == "FULL") {
        args.ret = DsnRet::kFull;
      } else if (v == "HDRS") {
        args.ret = DsnRet::kHdrs;
      } else {
        return bad_value(p.keyword);
      }
      break;
    case kEnvid: {
      std::optional<std::string> id = xtext_decode(p.value);
      if (p.value.size() > kMaxEnvid || !id || !is_printable_ascii(*id)) {
        return bad_value(p.keyword);
      }
      args.envid = std::move(*id);
      break;
    }
    case kAuth: {
      // Checked against SMTPUTF8 once all parameters are known.
      std::optional<std::string> who = xtext_decode(p.value);
      if (!who) return bad_value(p.keyword);
      args.auth = std::move(*who);
      break;
    }
    default:
      break;
  }
  return std::nullopt;
}

}  // namespace

std::variant<MailArgs, Reply> parse_mail_args(std::string_view text) {
  const Reply bad_sender(501, "5.1.7", "Bad sender address syntax");
  const auto parts = split_path(text);
  if (!parts) return bad_sender;
  std::optional<Address> from = parse_path(parts->first, /*allow_null=*/true,
                                           /*allow_postmaster=*/false, /*allow_utf8=*/true);
  if (!from) return bad_sender;
  MailArgs args;
  args.from = std::move(*from);
  if (std::optional<Reply> r = for_each_param(
          parts->second, kMailParams,
          [&](size_t index, const Param& p) { return apply_mail_param(index, p, args); })) {
    return *r;
  }
  // RFC 4954 5: AUTH= is "<>" or a valid mailbox (xtext-decoded).
  if (!args.auth.empty() && args.auth != "<>" && !parse_mailbox(args.auth, args.smtputf8)) {
    return bad_value("AUTH");
  }
  // RFC 6531 3.5: a non-ASCII address needs the SMTPUTF8 parameter.
  if (args.from.needs_utf8() && !args.smtputf8) {
    return Reply(553, "5.6.7", "Non-ASCII sender address needs SMTPUTF8");
  }
  return args;
}

std::variant<RcptArgs, Reply> parse_rcpt_args(std::string_view text, bool smtputf8) {
  const Reply bad_rcpt(501, "5.1.3", "Bad recipient address syntax");
  const auto parts = split_path(text);
  if (!parts) return bad_rcpt;
  std::optional<Address> to = parse_path(parts->first, /*allow_null=*/false,
                                         /*allow_postmaster=*/true, /*allow_utf8=*/true);
  if (!to) return bad_rcpt;
  RcptArgs args;
  args.to = std::move(*to);
  if (std::optional<Reply> r = for_each_param(
          parts->second, kRcptParams, [&](size_t index, const Param& p) -> std::optional<Reply> {
            if (!p.has_value) return bad_value(p.keyword);
            if (index == kNotify) {
              args.notify = parse_notify(p.value);
              if (args.notify == kNotifyNone) return bad_value(p.keyword);
            } else {
              std::optional<std::string> orcpt = parse_orcpt(p.value);
              if (!orcpt) return bad_value(p.keyword);
              args.orcpt = std::move(*orcpt);
            }
            return std::nullopt;
          })) {
    return *r;
  }
  if (args.to.needs_utf8() && !smtputf8) {
    return Reply(553, "5.6.7", "Non-ASCII recipient address needs SMTPUTF8");
  }
  return args;
}

std::optional<std::string> xtext_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c >= 33 && c <= 126 && c != '=') {
      out += c;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;  // "%" needs two hex digits after it
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string xtext_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 33 && u <= 126 && c != '+' && c != '=') {
      out += c;
    } else {
      out += '+';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

}  // namespace tern
