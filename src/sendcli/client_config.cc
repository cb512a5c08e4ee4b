#include "sendcli/client_config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <charconv>

#include "config/values.h"
#include "core/cidr.h"
#include "tern/mailbox.h"

namespace tern::sendcli {
namespace {

// The checks shared by the file and the environment; each returns "" or
// what is wrong with the value.
std::string check_port(int64_t v) {
  return v >= 1 && v <= 65535 ? "" : "must be a port from 1 to 65535";
}
std::string check_from(const std::string& v) {
  return Mailbox::parse(v) ? ""
                           : fmt::format("\"{}\" is not a mailbox such as \"Me <me@x.org>\"", v);
}
std::string check_domain(const std::string& v) {
  return is_valid_domain(v) ? "" : fmt::format("\"{}\" is not a valid domain name", v);
}
constexpr char kSecurityValues[] = "use \"none\", \"starttls\" or \"tls\"";

// Reads client.toml nodes, throwing with the node's position, as
// config/config.cc does for the server config.
class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const toml::source_region& at, std::string_view key,
                         std::string_view problem) const {
    throw ClientConfigError(fmt::format("{}:{}:{}: key '{}': {}", source_,
                                        at.begin.line ? at.begin.line : 1,
                                        at.begin.column ? at.begin.column : 1, key, problem));
  }
  void check(const toml::node& n, std::string_view key, const std::string& problem) const {
    if (!problem.empty()) fail(n.source(), key, problem);
  }
  std::string string(const toml::node& n, std::string_view key) const {
    if (!n.is_string()) fail(n.source(), key, "must be a string");
    const std::string s = n.as_string()->get();
    if (s.empty()) fail(n.source(), key, "must not be empty");
    return s;
  }
  bool boolean(const toml::node& n, std::string_view key) const {
    if (!n.is_boolean()) fail(n.source(), key, "must be a boolean (true or false)");
    return n.as_boolean()->get();
  }
  uint16_t port(const toml::node& n, std::string_view key) const {
    if (!n.is_integer()) fail(n.source(), key, "must be an integer");
    const int64_t v = n.as_integer()->get();
    check(n, key, check_port(v));
    return static_cast<uint16_t>(v);
  }

 private:
  const std::string& source_;
};

void read_key(const Reader& r, const toml::key& k, const toml::node& v, ClientSettings* s) {
  const std::string_view key = k.str();
  if (key == "host") {
    s->host = r.string(v, key);
  } else if (key == "port") {
    s->port = r.port(v, key);
  } else if (key == "security") {
    s->security = parse_security(r.string(v, key));
    if (!s->security) r.fail(v.source(), key, kSecurityValues);
  } else if (key == "user") {
    s->user = r.string(v, key);
  } else if (key == "password") {
    s->password = r.string(v, key);
  } else if (key == "password_command") {
    s->password_command = r.string(v, key);
  } else if (key == "from") {
    s->from = r.string(v, key);
    r.check(v, key, check_from(*s->from));
  } else if (key == "ca_file") {
    s->ca_file = r.string(v, key);
  } else if (key == "verify") {
    s->verify = r.boolean(v, key);
  } else if (key == "domain") {
    s->domain = r.string(v, key);
    r.check(v, key, check_domain(*s->domain));
  } else {
    r.fail(k.source(), key, "unknown key");
  }
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "1" || s == "true" || s == "yes" || s == "on") return true;
  if (s == "0" || s == "false" || s == "no" || s == "off") return false;
  return std::nullopt;
}

bool is_loopback_host(std::string_view host) { return host == "localhost" || is_loopback_ip(host); }

}  // namespace

std::optional<Security> parse_security(std::string_view s) {
  if (s == "none") return Security::kNone;
  if (s == "starttls") return Security::kStartTls;
  if (s == "tls") return Security::kTls;
  return std::nullopt;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  int64_t port = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
  if (ec != std::errc() || end != s.data() + s.size() || !check_port(port).empty()) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

ClientSettings parse_client_config(std::string_view toml_text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw ClientConfigError(fmt::format("{}:{}:{}: TOML syntax error: {}", source,
                                        at.line ? at.line : 1, at.column ? at.column : 1,
                                        e.description()));
  }
  const Reader r(source);
  ClientSettings s;
  for (auto&& [k, v] : root) read_key(r, k, v, &s);
  return s;
}

ClientSettings client_settings_from_env(const Getenv& getenv) {
  ClientSettings s;
  const auto get = [&](const char* name) -> std::optional<std::string> {
    const char* v = getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
  const auto fail = [](const char* name, const std::string& problem) {
    throw ClientConfigError(fmt::format("{}: {}", name, problem));
  };
  s.host = get("TERN_SMTP_HOST");
  if (auto v = get("TERN_SMTP_PORT")) {
    s.port = parse_port(*v);
    if (!s.port) fail("TERN_SMTP_PORT", check_port(0));
  }
  if (auto v = get("TERN_SMTP_SECURITY")) {
    s.security = parse_security(*v);
    if (!s.security) fail("TERN_SMTP_SECURITY", fmt::format("\"{}\": {}", *v, kSecurityValues));
  }
  s.user = get("TERN_SMTP_USER");
  s.password = get("TERN_SMTP_PASSWORD");
  s.password_command = get("TERN_SMTP_PASSWORD_COMMAND");
  s.from = get("TERN_SMTP_FROM");
  if (s.from) {
    if (std::string p = check_from(*s.from); !p.empty()) fail("TERN_SMTP_FROM", p);
  }
  s.ca_file = get("TERN_SMTP_CA_FILE");
  if (auto v = get("TERN_SMTP_VERIFY")) {
    s.verify = parse_bool(*v);
    if (!s.verify) fail("TERN_SMTP_VERIFY", fmt::format("\"{}\": use true or false", *v));
  }
  s.domain = get("TERN_SMTP_DOMAIN");
  if (s.domain) {
    if (std::string p = check_domain(*s.domain); !p.empty()) fail("TERN_SMTP_DOMAIN", p);
  }
  return s;
}

ClientSettings overlay(const ClientSettings& high, const ClientSettings& low) {
  ClientSettings s = high;
  const auto fill = [](auto& field, const auto& other) {
    if (!field) field = other;
  };
  fill(s.host, low.host);
  fill(s.port, low.port);
  fill(s.security, low.security);
  fill(s.user, low.user);
  if (!s.password && !s.password_command) {
    s.password = low.password;
    s.password_command = low.password_command;
  }
  fill(s.from, low.from);
  fill(s.ca_file, low.ca_file);
  fill(s.verify, low.verify);
  fill(s.domain, low.domain);
  return s;
}

std::string client_config_path(const Getenv& getenv) {
  const auto get = [&](const char* name) {
    const char* v = getenv(name);
    return std::string(v ? v : "");
  };
  if (std::string p = get("TERN_CLIENT_CONFIG"); !p.empty()) return p;
  if (std::string x = get("XDG_CONFIG_HOME"); !x.empty()) return x + "/tern/client.toml";
  if (std::string h = get("HOME"); !h.empty()) return h + "/.config/tern/client.toml";
  return "";
}

std::optional<LocalServer> local_server(const Config& config) {
  for (const ListenerConfig& l : config.listeners) {
    if (l.kind != ListenerKind::kSmtp) continue;
    LocalServer s;
    // A listener on every address ("" / 0.0.0.0 / ::) is reached over loopback.
    s.host = l.host.empty() || l.host == "0.0.0.0" ? "127.0.0.1" : l.host == "::" ? "::1" : l.host;
    s.port = l.port;
    s.domain = config.domains.empty() ? "localhost" : config.domains.front();
    s.source = config.source;
    return s;
  }
  return std::nullopt;
}

Target resolve_target(const ClientSettings& s, const std::optional<LocalServer>& local,
                      const std::string& hostname) {
  Target t;
  ClientOptions& o = t.options;
  t.local = !s.host;
  if (t.local) {
    if (!local) throw ClientConfigError("no host set, and no tern server config to send to");
    // Our own server on this machine: plain SMTP over loopback, as
    // Postfix's sendmail hands mail to its own pickup.
    o.host = local->host;
    o.port = s.port.value_or(local->port);
    o.security = s.security.value_or(Security::kNone);
    t.domain = s.domain.value_or(local->domain);
  } else {
    o.host = *s.host;
    o.security = s.security.value_or(Security::kStartTls);
    o.port = s.port.value_or(0);  // the library's default for the security
    t.domain = s.domain.value_or(hostname);
  }
  o.verify_certificate = s.verify.value_or(true);
  o.ca_file = s.ca_file.value_or("");
  o.user = s.user.value_or("");
  o.password = s.password.value_or("");
  t.password_command = s.password ? "" : s.password_command.value_or("");
  o.allow_cleartext_auth = is_loopback_host(o.host);
  t.from = s.from.value_or("");
  if (std::string p = check_from(t.from); !t.from.empty() && !p.empty()) {
    throw ClientConfigError("from: " + p);
  }
  // No `from`, but the AUTH user is an address (the usual submission
  // login): send as that user. login@domain would be refused by a server
  // that checks the sender is owned by the authenticated user.
  if (t.from.empty() && o.user.find('@') != std::string::npos && Mailbox::parse(o.user)) {
    t.from = o.user;
  }
  if (std::string p = check_domain(t.domain); !p.empty()) throw ClientConfigError("domain: " + p);
  return t;
}

ClientSettings require_verified_tls(ClientSettings s) {
  if (s.security == Security::kNone) {
    throw ClientConfigError(
        "--require-tls needs TLS, but security is \"none\" (TERN_SMTP_SECURITY or client.toml); "
        "use starttls or tls");
  }
  if (s.verify == false) {
    throw ClientConfigError(
        "--require-tls needs the server certificate checked, but verify is false "
        "(TERN_SMTP_VERIFY or client.toml)");
  }
  if (!s.security) s.security = Security::kStartTls;
  s.verify = true;
  return s;
}

std::string relay_hint(const Target& t, const SendResult& r) {
  if (!t.local || !t.options.user.empty()) return "";
  for (const RecipientStatus& s : r.recipients) {
    if (s.error && s.error->enhanced == "5.7.1") {
      return " (mail to other domains needs AUTH: set user and password in client.toml)";
    }
  }
  return "";
}

}  // namespace tern::sendcli
