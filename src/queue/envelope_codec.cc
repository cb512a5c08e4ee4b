#include "queue/envelope_codec.h"

#include <charconv>
#include <optional>
#include <set>
#include <vector>

#include "core/params.h"
#include "queue/queue_id.h"

namespace tern {
namespace {

// Address as one token: "<>" for the null path, else xtext(local) "@"
// xtext(domain), or xtext(local) alone when the domain is empty (the
// special recipient "Postmaster"). '@' and '<' are escaped too (xtext allows
// escaping any octet), so the separator is the only '@' and only the null
// path starts with '<'.
std::string encode_part(std::string_view s) {
  std::string out;
  for (char c : xtext_encode(s)) {
    if (c == '@')
      out += "+40";
    else if (c == '<')
      out += "+3C";
    else
      out += c;
  }
  return out;
}

std::string encode_address(const Address& a) {
  if (a.is_null()) return "<>";
  std::string out = encode_part(a.local);
  if (!a.domain.empty()) {
    out += '@';
    out += encode_part(a.domain);
  }
  return out;
}

bool decode_address(std::string_view s, Address* a) {
  *a = Address{};
  if (s == "<>") return true;
  size_t at = s.find('@');
  std::optional<std::string> local = xtext_decode(s.substr(0, at));
  if (!local || local->empty()) return false;
  a->local = std::move(*local);
  if (at == std::string_view::npos) return true;
  std::optional<std::string> domain = xtext_decode(s.substr(at + 1));
  if (!domain || domain->empty()) return false;
  a->domain = std::move(*domain);
  return true;
}

struct Name {
  unsigned value;
  const char* name;
};
constexpr Name kNotifyNames[] = {{kNotifyNever, "never"},
                                 {kNotifySuccess, "success"},
                                 {kNotifyFailure, "failure"},
                                 {kNotifyDelay, "delay"}};
constexpr unsigned kNotifyAll = kNotifyNever | kNotifySuccess | kNotifyFailure | kNotifyDelay;

std::string encode_notify(unsigned bits) {
  std::string out;
  for (const Name& n : kNotifyNames) {
    if (!(bits & n.value)) continue;
    if (!out.empty()) out += ',';
    out += n.name;
  }
  return out;
}

bool decode_notify(std::string_view s, unsigned* bits) {
  *bits = 0;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view word = s.substr(0, comma);
    bool known = false;
    for (const Name& n : kNotifyNames) {
      if (word == n.name && !(*bits & n.value)) {
        *bits |= n.value;
        known = true;
      }
    }
    if (!known) return false;
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
    if (s.empty()) return false;  // trailing comma
  }
  return *bits != 0;
}

const char* body_name(BodyType b) {
  switch (b) {
    case BodyType::k7Bit:
      return "7bit";
    case BodyType::k8BitMime:
      return "8bitmime";
    case BodyType::kBinaryMime:
      return "binarymime";
    case BodyType::kUnspecified:
      break;
  }
  return nullptr;
}

const char* ret_name(DsnRet r) {
  switch (r) {
    case DsnRet::kFull:
      return "full";
    case DsnRet::kHdrs:
      return "hdrs";
    case DsnRet::kUnspecified:
      break;
  }
  return nullptr;
}

template <typename T>
bool parse_int(std::string_view s, T* v) {
  if (s.empty() || s[0] == '+') return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && end == s.data() + s.size();
}

void put(std::string* out, std::string_view key, std::string_view value) {
  out->append(key);
  out->push_back(' ');
  out->append(value);
  out->push_back('\n');
}

// True if `s` is non-empty printable ASCII without spaces: what a value
// must be for the line format to hold. Checked on everything xtext_encode
// returns, so a faulty encoder cannot corrupt a queue file silently.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 33 || c > 126) return false;
  }
  return true;
}

// Writes `key xtext(value)` unless value is empty.
bool put_text(std::string* out, std::string_view key, const std::string& value) {
  if (value.empty()) return true;
  std::string v = xtext_encode(value);
  if (!is_token(v)) return false;
  put(out, key, v);
  return true;
}

}  // namespace

Status encode_envelope(const Envelope& env, std::string* out) {
  if (!is_valid_queue_id(env.id)) return Status::Permanent("queue: invalid id '" + env.id + "'");
  if (env.rcpts.empty())
    return Status::Permanent("queue: message " + env.id + " has no recipients");
  auto bad_address = [](const Address& a) { return !a.is_null() && a.local.empty(); };
  if (bad_address(env.mail.from)) return Status::Permanent("queue: sender without local part");
  for (const RcptArgs& r : env.rcpts) {
    if (r.notify & ~kNotifyAll) return Status::Permanent("queue: unknown NOTIFY bits");
    if (r.to.is_null() || bad_address(r.to)) return Status::Permanent("queue: bad recipient");
  }
  std::string h;
  bool ok = true;
  h.append(kQueueMagic);
  h.push_back('\n');
  put(&h, "id", env.id);
  put(&h, "received-at", std::to_string(env.received_at));
  ok &= put_text(&h, "listener", env.listener);
  ok &= put_text(&h, "client-ip", env.client_ip);
  ok &= put_text(&h, "helo", env.helo);
  ok &= put_text(&h, "auth-user", env.auth_user);
  std::string from = encode_address(env.mail.from);
  ok &= is_token(from);
  put(&h, "from", from);
  if (env.mail.size) put(&h, "size", std::to_string(*env.mail.size));
  if (const char* b = body_name(env.mail.body)) put(&h, "body", b);
  if (env.mail.smtputf8) put(&h, "smtputf8", "yes");
  if (env.mail.requiretls) put(&h, "requiretls", "yes");
  if (const char* r = ret_name(env.mail.ret)) put(&h, "ret", r);
  ok &= put_text(&h, "envid", env.mail.envid);
  ok &= put_text(&h, "auth", env.mail.auth);
  ok &= put_text(&h, "quarantine-reason", env.quarantine_reason);
  for (const RcptArgs& r : env.rcpts) {
    std::string to = encode_address(r.to);
    ok &= is_token(to);
    std::string line = to;
    if (r.notify) line += " notify=" + encode_notify(r.notify);
    if (!r.orcpt.empty()) {
      std::string orcpt = xtext_encode(r.orcpt);
      ok &= is_token(orcpt);
      line += " orcpt=" + orcpt;
    }
    put(&h, "rcpt", line);
  }
  h.push_back('\n');
  if (!ok) return Status::Permanent("queue: xtext_encode returned an unusable value");
  out->append(h);
  return Status::Ok();
}

Status decode_envelope(std::string_view header, Envelope* out) {
  *out = Envelope{};
  std::set<std::string, std::less<>> seen;
  bool have_magic = false;
  int lineno = 0;
  auto fail = [&](std::string_view why) {
    return Status::Permanent("queue header line " + std::to_string(lineno) + ": " +
                             std::string(why));
  };
  while (!header.empty()) {
    ++lineno;
    size_t nl = header.find('\n');
    if (nl == std::string_view::npos) return fail("not terminated by a newline");
    std::string_view line = header.substr(0, nl);
    header.remove_prefix(nl + 1);
    if (!have_magic) {
      if (line != kQueueMagic) return fail("not a tern queue file (or unknown version)");
      have_magic = true;
      continue;
    }
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp + 1 == line.size()) return fail("expected 'key value'");
    std::string_view key = line.substr(0, sp);
    std::string_view value = line.substr(sp + 1);
    if (key != "rcpt" && !seen.emplace(key).second)
      return fail("repeated key '" + std::string(key) + "'");

    auto text = [&](std::string* dst) {
      std::optional<std::string> v = xtext_decode(value);
      if (!v) return false;
      *dst = std::move(*v);
      return true;
    };
    bool ok = true;
    if (key == "id") {
      out->id = std::string(value);
      ok = is_valid_queue_id(value);
    } else if (key == "received-at") {
      ok = parse_int(value, &out->received_at);
    } else if (key == "listener") {
      ok = text(&out->listener);
    } else if (key == "client-ip") {
      ok = text(&out->client_ip);
    } else if (key == "helo") {
      ok = text(&out->helo);
    } else if (key == "auth-user") {
      ok = text(&out->auth_user);
    } else if (key == "from") {
      ok = decode_address(value, &out->mail.from);
    } else if (key == "size") {
      uint64_t n = 0;
      ok = parse_int(value, &n);
      out->mail.size = n;
    } else if (key == "body") {
      if (value == "7bit")
        out->mail.body = BodyType::k7Bit;
      else if (value == "8bitmime")
        out->mail.body = BodyType::k8BitMime;
      else if (value == "binarymime")
        out->mail.body = BodyType::kBinaryMime;
      else
        ok = false;
    } else if (key == "smtputf8") {
      ok = value == "yes";
      out->mail.smtputf8 = ok;
    } else if (key == "requiretls") {
      ok = value == "yes";
      out->mail.requiretls = ok;
    } else if (key == "ret") {
      if (value == "full")
        out->mail.ret = DsnRet::kFull;
      else if (value == "hdrs")
        out->mail.ret = DsnRet::kHdrs;
      else
        ok = false;
    } else if (key == "envid") {
      ok = text(&out->mail.envid);
    } else if (key == "auth") {
      ok = text(&out->mail.auth);
    } else if (key == "quarantine-reason") {
      ok = text(&out->quarantine_reason);
    } else if (key == "rcpt") {
      RcptArgs r;
      size_t end = value.find(' ');
      ok = decode_address(value.substr(0, end), &r.to) && !r.to.is_null();
      std::set<std::string_view> params;
      while (ok && end != std::string_view::npos) {
        value.remove_prefix(end + 1);
        end = value.find(' ');
        std::string_view param = value.substr(0, end);
        size_t eq = param.find('=');
        std::string_view name = param.substr(0, eq);
        if (eq == std::string_view::npos || !params.insert(name).second) {
          ok = false;
        } else if (name == "notify") {
          ok = decode_notify(param.substr(eq + 1), &r.notify);
        } else if (name == "orcpt") {
          std::optional<std::string> v = xtext_decode(param.substr(eq + 1));
          ok = v && !v->empty();
          if (ok) r.orcpt = std::move(*v);
        } else {
          ok = false;
        }
      }
      out->rcpts.push_back(std::move(r));
    } else {
      return fail("unknown key '" + std::string(key) + "'");
    }
    if (!ok) return fail("bad " + std::string(key));
  }
  if (!have_magic) return Status::Permanent("queue header: empty");
  for (const char* required : {"id", "received-at", "from"}) {
    if (!seen.count(std::string_view(required))) {
      return Status::Permanent(std::string("queue header: missing '") + required + "'");
    }
  }
  if (out->rcpts.empty()) return Status::Permanent("queue header: no recipients");
  return Status::Ok();
}

size_t find_body_offset(std::string_view buf) {
  size_t pos = buf.find("\n\n");
  return pos == std::string_view::npos ? pos : pos + 2;
}

}  // namespace tern
