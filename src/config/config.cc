// Config loading: walks the TOML tree key by key, so that every key is
// either understood or reported (with its file position) as unknown.
#include "config/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "config/values.h"
#include "core/cidr.h"
#include "core/lmtp_address.h"
#include "relay/tls_requirement.h"
#include "screen/dnsbl.h"
#include "sts/policy.h"

namespace tern {
namespace {

// The configuration used without --config. Kept as TOML so that it goes
// through the same validation as a file.
constexpr std::string_view kDefaultToml = R"(
data_dir = "./tern-data"
domains = ["localhost"]
accept_any_local_part = true

[[listener]]
kind = "smtp"
address = "127.0.0.1:2525"

[[listener]]
kind = "submission"
address = "127.0.0.1:2587"

[[listener]]
kind = "submissions"
address = "127.0.0.1:2465"
)";

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

std::string system_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  std::string name(buf);
  return is_valid_domain(name) ? name : "localhost";
}

// Turns TOML nodes into values, throwing ConfigError with the node's
// position and the dotted key on any problem.
class Reader {
 public:
  explicit Reader(const std::string& file) : file_(file) {}

  [[noreturn]] void fail(const toml::source_region& at, std::string_view key,
                         std::string_view problem) const {
    // Positions are 1-based; 0 means toml++ had none (whole-file errors).
    const auto line = at.begin.line ? at.begin.line : 1;
    const auto col = at.begin.column ? at.begin.column : 1;
    throw ConfigError(fmt::format("{}:{}:{}: key '{}': {}", file_, line, col, key, problem));
  }

  [[noreturn]] void wrong_type(const toml::node& n, std::string_view key,
                               std::string_view want) const {
    fail(n.source(), key, fmt::format("must be {}, not {}", want, type_name(n)));
  }

  std::string string(const toml::node& n, std::string_view key) const {
    if (!n.is_string()) wrong_type(n, key, "a string");
    return n.as_string()->get();
  }

  std::string nonempty_string(const toml::node& n, std::string_view key) const {
    std::string s = string(n, key);
    if (s.empty()) fail(n.source(), key, "must not be empty");
    return s;
  }

  bool boolean(const toml::node& n, std::string_view key) const {
    if (!n.is_boolean()) wrong_type(n, key, "a boolean (true or false)");
    return n.as_boolean()->get();
  }

  size_t positive(const toml::node& n, std::string_view key) const {
    if (!n.is_integer()) wrong_type(n, key, "a positive integer");
    const int64_t v = n.as_integer()->get();
    if (v < 1) fail(n.source(), key, "must be a positive integer");
    return static_cast<size_t>(v);
  }

  const toml::table& table(const toml::node& n, std::string_view key) const {
    if (!n.is_table()) wrong_type(n, key, "a table");
    return *n.as_table();
  }

  // Each element of an array of strings, with its node.
  template <typename F>
  void strings(const toml::node& n, std::string_view key, F&& each) const {
    if (!n.is_array()) wrong_type(n, key, "an array of strings");
    for (const toml::node& e : *n.as_array()) each(string(e, key), e);
  }

  uint64_t size(const toml::node& n, std::string_view key) const {
    uint64_t v = 0;
    std::string err;
    if (n.is_integer()) {
      const int64_t i = n.as_integer()->get();
      if (i < 1) fail(n.source(), key, "must be a positive size in octets");
      v = static_cast<uint64_t>(i);
    } else if (n.is_string()) {
      err = parse_size(n.as_string()->get(), &v);
    } else {
      wrong_type(n, key, "an integer (octets) or a string such as \"50M\"");
    }
    if (!err.empty()) fail(n.source(), key, err);
    return v;
  }

  // A duration of at most `max` (a whole number of days).
  std::chrono::seconds duration(const toml::node& n, std::string_view key, bool allow_zero,
                                std::chrono::seconds max = std::chrono::hours(24)) const {
    std::chrono::seconds v{0};
    std::string err;
    if (n.is_integer()) {
      const int64_t i = n.as_integer()->get();
      if (i < (allow_zero ? 0 : 1) || i > max.count()) {
        err = fmt::format("must be from {} to {} seconds", allow_zero ? 0 : 1, max.count());
      }
      v = std::chrono::seconds(i);
    } else if (n.is_string()) {
      err = parse_duration(n.as_string()->get(), &v, max);
      if (err.empty() && !allow_zero && v.count() == 0) {
        err = "must be longer than 0 seconds";
      }
    } else {
      wrong_type(n, key, "an integer (seconds) or a string such as \"5m\"");
    }
    if (!err.empty()) fail(n.source(), key, err);
    return v;
  }

 private:
  const std::string& file_;
};

// The limits against abuse (core/admission.h): counts where 0 is "no
// limit", the loopback switch and the session time limit. False: not one
// of these keys.
bool read_abuse_limit(const Reader& r, std::string_view name, const toml::node& v,
                      const std::string& key, Limits* l) {
  size_t* count = nullptr;
  if (name == "max_connections_per_network") count = &l->max_connections_per_network;
  if (name == "connection_rate_per_ip") count = &l->connection_rate_per_ip;
  if (name == "connection_rate_per_network") count = &l->connection_rate_per_network;
  if (name == "messages_per_hour_per_ip") count = &l->messages_per_hour_per_ip;
  if (name == "messages_per_hour_per_network") count = &l->messages_per_hour_per_network;
  if (name == "recipients_per_hour_per_ip") count = &l->recipients_per_hour_per_ip;
  if (name == "recipients_per_hour_per_network") count = &l->recipients_per_hour_per_network;
  if (name == "messages_per_hour_per_user") count = &l->messages_per_hour_per_user;
  if (name == "recipients_per_hour_per_user") count = &l->recipients_per_hour_per_user;
  if (name == "outbound_recipients_per_hour_per_user")
    count = &l->outbound_recipients_per_hour_per_user;
  if (count) {
    if (!v.is_integer()) r.wrong_type(v, key, "an integer (0: no limit)");
    const int64_t i = v.as_integer()->get();
    if (i < 0) r.fail(v.source(), key, "must be 0 (no limit) or more");
    *count = static_cast<size_t>(i);
    return true;
  }
  if (name == "loopback_exempt") {
    l->loopback_exempt = r.boolean(v, key);
    return true;
  }
  if (name == "session_timeout") {
    l->session_timeout = r.duration(v, key, false);
    return true;
  }
  return false;
}

void read_limits(const Reader& r, const toml::table& t, Limits* l) {
  for (auto&& [k, v] : t) {
    const std::string key = "limits." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "max_message_size") {
      l->max_message_size = r.size(v, key);
    } else if (name == "max_recipients") {
      l->max_recipients = r.positive(v, key);
    } else if (name == "max_connections") {
      l->max_connections = r.positive(v, key);
    } else if (name == "max_connections_per_ip") {
      l->max_connections_per_ip = r.positive(v, key);
    } else if (name == "max_errors") {
      l->max_errors = r.positive(v, key);
    } else if (name == "command_timeout") {
      l->command_timeout = r.duration(v, key, false);
    } else if (name == "data_timeout") {
      l->data_timeout = r.duration(v, key, false);
    } else if (name == "shutdown_grace") {
      l->shutdown_grace = r.duration(v, key, true);
    } else if (read_abuse_limit(r, name, v, key, l)) {
    } else if (name == "max_commands_without_message") {
      l->max_commands_without_message = r.positive(v, key);
    } else if (name == "max_auth_failures") {
      l->max_auth_failures = r.positive(v, key);
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

void read_queue(const Reader& r, const toml::table& t, QueueConfig* q) {
  constexpr std::chrono::seconds kMaxAge = std::chrono::hours(24 * 30);
  for (auto&& [k, v] : t) {
    const std::string key = "queue." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "retry") {
      if (!v.is_array()) r.wrong_type(v, key, "an array of durations");
      if (v.as_array()->empty()) r.fail(v.source(), key, "must list at least one duration");
      q->retry.clear();
      for (const toml::node& e : *v.as_array()) q->retry.push_back(r.duration(e, key, false));
    } else if (name == "max_age") {
      q->max_age = r.duration(v, key, false, kMaxAge);
    } else if (name == "delay_warning") {
      q->delay_warning = r.duration(v, key, true, kMaxAge);
    } else if (name == "max_concurrency") {
      q->max_concurrency = r.positive(v, key);
    } else if (name == "max_per_destination") {
      q->max_per_destination = r.positive(v, key);
    } else if (name == "fsync") {
      q->fsync = r.boolean(v, key);
    } else if (name == "min_free_space") {
      // 0 turns the check off; any other value is a size as elsewhere.
      const bool zero = v.is_integer() && v.as_integer()->get() == 0;
      q->min_free_space = zero ? 0 : r.size(v, key);
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

void read_spf(const Reader& r, const toml::table& t, SpfConfig* spf) {
  for (auto&& [k, v] : t) {
    const std::string key = "spf." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "enabled") {
      spf->enabled = r.boolean(v, key);
    } else if (name == "on_fail" || name == "on_temperror") {
      const std::string s = r.string(v, key);
      const char* hard = name == "on_fail" ? "reject" : "defer";
      if (s != hard && s != "mark") {
        r.fail(v.source(), key,
               fmt::format("'{}' is not allowed; use \"{}\" or \"mark\"", s, hard));
      }
      (name == "on_fail" ? spf->reject_fail : spf->defer_temperror) = s == hard;
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

void read_dnsbl(const Reader& r, const toml::table& t, DnsblConfig* d) {
  for (auto&& [k, v] : t) {
    const std::string key = "dnsbl." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "sites") {
      d->sites.clear();
      r.strings(v, key, [&](const std::string& s, const toml::node& e) {
        std::string error;
        if (!parse_dnsbl_site(s, &error)) r.fail(e.source(), key, error);
        d->sites.push_back(s);
      });
    } else if (name == "threshold") {
      if (!v.is_integer()) r.wrong_type(v, key, "an integer");
      const int64_t i = v.as_integer()->get();
      if (i < 1 || i > 1000) r.fail(v.source(), key, "must be from 1 to 1000");
      d->threshold = static_cast<int>(i);
    } else if (name == "timeout") {
      d->timeout = r.duration(v, key, false, std::chrono::seconds(60));
    } else if (name == "cache_size") {
      if (!v.is_integer() || v.as_integer()->get() < 0)
        r.fail(v.source(), key, "must be an integer of 0 or more (0: no cache)");
      d->cache_size = static_cast<size_t>(v.as_integer()->get());
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

void read_greylist(const Reader& r, const toml::table& t, GreylistConfig* g) {
  const std::chrono::seconds year = std::chrono::hours(24 * 366);
  for (auto&& [k, v] : t) {
    const std::string key = "greylist." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "enabled") {
      g->enabled = r.boolean(v, key);
    } else if (name == "delay") {
      g->delay = r.duration(v, key, true);
    } else if (name == "retry_window") {
      g->retry_window = r.duration(v, key, false, std::chrono::hours(24 * 30));
    } else if (name == "expiry") {
      g->expiry = r.duration(v, key, false, year);
    } else if (name == "auto_allow_after") {
      if (!v.is_integer() || v.as_integer()->get() < 0)
        r.fail(v.source(), key, "must be an integer of 0 or more (0: never)");
      g->auto_allow_after = static_cast<size_t>(v.as_integer()->get());
    } else if (name == "max_entries") {
      g->max_entries = r.positive(v, key);
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
  if (g->retry_window <= g->delay)
    r.fail(t.source(), "greylist.retry_window", "must be longer than greylist.delay");
}

void read_checks(const Reader& r, const toml::table& t, ChecksConfig* c) {
  auto choice = [&](const toml::node& v, const std::string& key,
                    std::initializer_list<const char*> allowed) {
    const std::string s = r.string(v, key);
    for (const char* a : allowed)
      if (s == a) return s;
    std::string list;
    for (const char* a : allowed) list += std::string(list.empty() ? "" : " or ") + '"' + a + '"';
    r.fail(v.source(), key, fmt::format("'{}' is not allowed; use {}", s, list));
  };
  for (auto&& [k, v] : t) {
    const std::string key = "checks." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "helo") {
      c->helo_reject = choice(v, key, {"reject", "ignore"}) == "reject";
    } else if (name == "reverse_dns") {
      const std::string s = choice(v, key, {"reject", "mark", "off"});
      using R = ChecksConfig::ReverseDns;
      c->reverse_dns = s == "reject" ? R::kReject : s == "mark" ? R::kMark : R::kOff;
    } else if (name == "own_domain_sender") {
      c->own_domain_sender_reject = choice(v, key, {"reject", "off"}) == "reject";
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

void read_dkim(const Reader& r, const toml::table& t, DkimConfig* dkim) {
  for (auto&& [k, v] : t) {
    const std::string key = "dkim." + std::string(k.str());
    if (k.str() == "verify") {
      dkim->verify = r.boolean(v, key);
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

void read_tls_rpt(const Reader& r, const toml::table& t, TlsRptConfig* c) {
  for (auto&& [k, v] : t) {
    const std::string key = "tls_rpt." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "enabled") {
      c->enabled = r.boolean(v, key);
    } else if (name == "organization") {
      c->organization = r.nonempty_string(v, key);
    } else if (name == "contact") {
      c->contact = r.nonempty_string(v, key);
      const size_t at = c->contact.find('@');
      if (at == 0 || at == std::string::npos || at + 1 == c->contact.size() ||
          c->contact.find_first_of(" \t\r\n<>,\"") != std::string::npos)
        r.fail(v.source(), key, fmt::format("'{}' is not an email address", c->contact));
    } else if (name == "report_hour") {
      if (!v.is_integer() || v.as_integer()->get() < 0 || v.as_integer()->get() > 23)
        r.fail(v.source(), key, "must be an hour from 0 to 23 (UTC)");
      c->report_hour = static_cast<int>(v.as_integer()->get());
    } else if (name == "check_every") {
      c->check_every = r.duration(v, key, false);
    } else if (name == "ca_file") {
      c->ca_file = r.nonempty_string(v, key);
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

void read_dmarc(const Reader& r, const toml::table& t, DmarcConfig* d) {
  using Action = DmarcConfig::Action;
  for (auto&& [k, v] : t) {
    const std::string key = "dmarc." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "enabled") {
      d->enabled = r.boolean(v, key);
    } else if (name == "on_reject" || name == "on_quarantine") {
      const std::string s = r.string(v, key);
      const bool may_reject = name == "on_reject";
      Action a = Action::kMark;
      if (s == "reject" && may_reject) {
        a = Action::kReject;
      } else if (s == "quarantine") {
        a = Action::kQuarantine;
      } else if (s == "mark") {
        a = Action::kMark;
      } else {
        r.fail(v.source(), key,
               fmt::format("'{}' is not allowed; use {}\"quarantine\" or \"mark\"", s,
                           may_reject ? "\"reject\", " : ""));
      }
      (may_reject ? d->on_reject : d->on_quarantine) = a;
    } else if (name == "reports") {
      d->reports = r.boolean(v, key);
    } else if (name == "report_org") {
      d->report_org = r.nonempty_string(v, key);
    } else if (name == "report_email") {
      d->report_email = r.nonempty_string(v, key);
      if (d->report_email.find('@') == std::string::npos)
        r.fail(v.source(), key, fmt::format("'{}' is not an email address", d->report_email));
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

// The endpoint is for a local Prometheus (or an agent that forwards): it
// is loopback unless an address says otherwise, and a bare port means
// 127.0.0.1 (not every address, as ":PORT" would).
void read_metrics(const Reader& r, const toml::table& t, MetricsConfig* m) {
  m->listen = "127.0.0.1:9325";
  m->host = "127.0.0.1";
  m->port = 9325;
  for (auto&& [k, v] : t) {
    const std::string key = "metrics." + std::string(k.str());
    if (k.str() == "listen") {
      std::string s = r.string(v, key);
      if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos)
        s = "127.0.0.1:" + s;
      const std::string err = parse_listen_address(s, &m->host, &m->port);
      if (!err.empty()) r.fail(v.source(), key, err);
      m->listen = s;
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

void read_tls(const Reader& r, const toml::table& t, Config* c) {
  const toml::key* cert_key = nullptr;
  const toml::key* pkey_key = nullptr;
  for (auto&& [k, v] : t) {
    const std::string key = "tls." + std::string(k.str());
    if (k.str() == "certificate") {
      c->tls_certificate = r.nonempty_string(v, key);
      cert_key = &k;
    } else if (k.str() == "private_key") {
      c->tls_private_key = r.nonempty_string(v, key);
      pkey_key = &k;
    } else if (k.str() == "min_version") {
      c->tls.min_version = r.string(v, key);
    } else if (k.str() == "ciphers") {
      c->tls.ciphers = r.nonempty_string(v, key);
    } else if (k.str() == "ciphersuites") {
      c->tls.ciphersuites = r.nonempty_string(v, key);
    } else if (k.str() == "groups") {
      c->tls.groups = r.nonempty_string(v, key);
    } else if (k.str() == "reload_check") {
      c->tls_reload_check = r.duration(v, key, true);
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
  // The policy is checked against this OpenSSL now, so a typo stops the
  // load (and a SIGHUP reload) with the key's position, not the first
  // handshake.
  if (std::optional<TlsSettingsError> e = check_tls_settings(c->tls)) {
    const toml::node* at = t.get(e->key);
    r.fail(at ? at->source() : t.source(), "tls." + e->key, e->problem);
  }
  if (cert_key && !pkey_key) {
    r.fail(cert_key->source(), "tls.private_key",
           "is required when tls.certificate is set (set both, or neither "
           "for a self-signed certificate)");
  }
  if (pkey_key && !cert_key) {
    r.fail(pkey_key->source(), "tls.certificate",
           "is required when tls.private_key is set (set both, or neither "
           "for a self-signed certificate)");
  }
}

// A DNS forwarder as libunbound's ub_ctx_set_fwd takes it: an IPv4 or IPv6
// literal, optionally "@port" (1..65535).
bool valid_forwarder(std::string_view s) {
  std::string_view ip = s;
  if (const size_t at = s.find('@'); at != std::string_view::npos) {
    ip = s.substr(0, at);
    const std::string_view port = s.substr(at + 1);
    if (port.empty() || port.size() > 5) return false;
    unsigned value = 0;
    for (char ch : port) {
      if (ch < '0' || ch > '9') return false;
      value = value * 10 + static_cast<unsigned>(ch - '0');
    }
    if (value < 1 || value > 65535) return false;
  }
  const std::string text(ip);
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

void read_dns(const Reader& r, const toml::table& t, DnsConfig* d) {
  for (auto&& [k, v] : t) {
    const std::string key = "dns." + std::string(k.str());
    if (k.str() == "forward") {
      d->forward.clear();
      r.strings(v, key, [&](const std::string& s, const toml::node& e) {
        if (!valid_forwarder(s)) {
          r.fail(e.source(), key,
                 fmt::format("'{}' is not a server address such as \"192.0.2.53\", "
                             "\"2001:db8::53\" or \"127.0.0.1@5353\"",
                             s));
        }
        d->forward.push_back(s);
      });
    } else if (k.str() == "timeout") {
      d->timeout = r.duration(v, key, false);
    } else if (k.str() == "dnssec") {
      d->dnssec = r.boolean(v, key);
    } else if (k.str() == "trust_anchor") {
      d->trust_anchor = r.nonempty_string(v, key);
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

// [[tls_policy]] (docs/tls.md): checked here, interpreted by relay/dane.h.
void read_tls_policies(const Reader& r, const toml::node& n, Config* c) {
  if (!n.is_array_of_tables()) {
    r.wrong_type(n, "tls_policy", "an array of tables ([[tls_policy]])");
  }
  static const std::set<std::string> kLevels = {"none",      "may",    "encrypt", "dane",
                                                "dane-only", "verify", "secure"};
  std::set<std::string> seen;
  size_t index = 0;
  for (const toml::node& e : *n.as_array()) {
    const std::string base = fmt::format("tls_policy[{}]", index++);
    const toml::table& t = *e.as_table();
    TlsPolicyConfig p;
    const toml::node* match = nullptr;
    for (auto&& [k, v] : t) {
      const std::string key = base + "." + std::string(k.str());
      if (k.str() == "domain") {
        p.domain = ascii_lower(r.nonempty_string(v, key));
        const std::string bare = p.domain.starts_with(".") ? p.domain.substr(1) : p.domain;
        if (!is_valid_domain(bare)) {
          r.fail(v.source(), key,
                 fmt::format("'{}' is not a domain name (\".example.org\" for its subdomains)",
                             p.domain));
        }
        if (!seen.insert(p.domain).second) {
          r.fail(v.source(), key, fmt::format("'{}' has an earlier [[tls_policy]]", p.domain));
        }
      } else if (k.str() == "next_hop") {
        // Postfix's "[host]" and "[host]:port" keys of smtp_tls_policy_maps.
        const std::string text = r.nonempty_string(v, key);
        if (std::string why = parse_next_hop(text, &p.next_hop_host, &p.next_hop_port);
            !why.empty()) {
          r.fail(v.source(), key, fmt::format("'{}' {}", text, why));
        }
        const std::string id = fmt::format("{}:{}", p.next_hop_host, p.next_hop_port);
        if (!seen.insert(id).second) {
          r.fail(v.source(), key, fmt::format("'{}' has an earlier [[tls_policy]]", text));
        }
      } else if (k.str() == "level") {
        p.level = r.string(v, key);
        if (!kLevels.contains(p.level)) {
          r.fail(v.source(), key,
                 fmt::format("'{}' is not a level; use \"none\", \"may\", \"encrypt\", "
                             "\"dane\", \"dane-only\", \"verify\" or \"secure\"",
                             p.level));
        }
      } else if (k.str() == "match") {
        match = &v;
        r.strings(v, key, [&](const std::string& m, const toml::node& at) {
          const std::string name = ascii_lower(m);
          const std::string bare = name.starts_with(".") ? name.substr(1) : name;
          if (name != "hostname" && name != "nexthop" && name != "dot-nexthop" &&
              !is_valid_domain(bare)) {
            r.fail(at.source(), key,
                   fmt::format("'{}' is not \"hostname\", \"nexthop\", \"dot-nexthop\" or a "
                               "domain name",
                               m));
          }
          p.match.push_back(name);
        });
      } else {
        r.fail(k.source(), key, "unknown key (domain, next_hop, level, match)");
      }
    }
    if (p.domain.empty() && p.next_hop_host.empty()) {
      r.fail(t.source(), base + ".domain", "is required (or next_hop for one MX host)");
    }
    if (!p.domain.empty() && !p.next_hop_host.empty()) {
      r.fail(t.source(), base + ".next_hop",
             "cannot be used with domain in one entry (write two [[tls_policy]] entries)");
    }
    if (p.level.empty()) r.fail(t.source(), base + ".level", "is required");
    if (match && p.level != "verify" && p.level != "secure") {
      r.fail(match->source(), base + ".match", "applies to levels \"verify\" and \"secure\" only");
    }
    c->tls_policies.push_back(std::move(p));
  }
}

// "host", "host:port", "[literal]", "[literal]:port".
std::string parse_host_port(const std::string& s, uint16_t default_port, std::string* host,
                            uint16_t* port) {
  std::string_view rest = s;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return "has '[' without ']'";
    *host = std::string(rest.substr(1, close - 1));
    unsigned char buf[16];
    if (inet_pton(AF_INET, host->c_str(), buf) != 1 && inet_pton(AF_INET6, host->c_str(), buf) != 1)
      return fmt::format("'{}' is not an IP address", *host);
    rest = rest.substr(close + 1);
  } else {
    const size_t colon = rest.find(':');
    *host = std::string(rest.substr(0, colon));
    if (!is_valid_domain(*host)) return fmt::format("'{}' is not a valid host name", *host);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon);
  }
  *port = default_port;
  if (rest.empty()) return "";
  if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return "has a bad port";
  unsigned value = 0;
  for (char ch : rest.substr(1)) {
    if (ch < '0' || ch > '9') return "has a bad port";
    value = value * 10 + static_cast<unsigned>(ch - '0');
  }
  if (value < 1 || value > 65535) return "has a port out of range";
  *port = static_cast<uint16_t>(value);
  return "";
}

void read_relay(const Reader& r, const toml::table& t, RelayConfig* c) {
  const toml::node* smarthost = nullptr;
  for (auto&& [k, v] : t) {
    const std::string key = "relay." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "port") {
      const size_t p = r.positive(v, key);
      if (p > 65535) r.fail(v.source(), key, "must be a port from 1 to 65535");
      c->port = static_cast<uint16_t>(p);
    } else if (name == "smarthost") {
      c->smarthost = r.nonempty_string(v, key);
      smarthost = &v;
    } else if (name == "security") {
      const std::string s = r.string(v, key);
      if (s == "starttls") {
        c->security = RelayConfig::Security::kStarttls;
      } else if (s == "tls") {
        c->security = RelayConfig::Security::kTls;
      } else {
        r.fail(v.source(), key, fmt::format("'{}' is not allowed; use \"starttls\" or \"tls\"", s));
      }
    } else if (name == "user") {
      c->user = r.nonempty_string(v, key);
    } else if (name == "password") {
      c->password = r.string(v, key);
    } else if (name == "password_file") {
      c->password_file = r.nonempty_string(v, key);
    } else if (name == "ca_file") {
      c->ca_file = r.nonempty_string(v, key);
    } else if (name == "connect_timeout") {
      c->connect_timeout = r.duration(v, key, false);
    } else if (name == "command_timeout") {
      c->command_timeout = r.duration(v, key, false);
    } else if (name == "data_timeout") {
      c->data_timeout = r.duration(v, key, false);
    } else if (name == "max_messages_per_connection") {
      c->max_messages_per_connection = r.positive(v, key);
    } else if (name == "trace_tls") {
      c->trace_tls = r.boolean(v, key);
    } else if (name == "sender_check") {
      c->sender_check = r.boolean(v, key);
    } else if (name == "srs") {
      c->srs = r.boolean(v, key);
    } else if (name == "srs_domain") {
      c->srs_domain = r.string(v, key);
      if (!is_valid_domain(c->srs_domain)) {
        r.fail(v.source(), key, fmt::format("'{}' is not a valid domain name", c->srs_domain));
      }
    } else if (name == "etrn_networks") {
      c->etrn_networks.clear();
      r.strings(v, key, [&](const std::string& s, const toml::node& e) {
        if (!Cidr::parse(s)) {
          r.fail(e.source(), key,
                 fmt::format("'{}' is not an address or network such as \"192.0.2.0/24\"", s));
        }
        c->etrn_networks.push_back(s);
      });
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
  if (smarthost) {
    const uint16_t def = c->security == RelayConfig::Security::kTls ? 465 : 587;
    const std::string err =
        parse_host_port(c->smarthost, def, &c->smarthost_host, &c->smarthost_port);
    if (!err.empty()) r.fail(smarthost->source(), "relay.smarthost", err);
  }
  if (!c->password.empty() && !c->password_file.empty()) {
    r.fail(t.source(), "relay.password", "set password or password_file, not both");
  }
  if (!c->user.empty() && !smarthost) {
    r.fail(t.source(), "relay.user", "is only used with relay.smarthost");
  }
}

ListenerKind listener_kind(const Reader& r, const toml::node& n, const std::string& key) {
  const std::string s = r.string(n, key);
  if (s == "smtp") return ListenerKind::kSmtp;
  if (s == "submission") return ListenerKind::kSubmission;
  if (s == "submissions") return ListenerKind::kSubmissions;
  r.fail(n.source(), key,
         fmt::format("'{}' is not a listener kind; use \"smtp\", "
                     "\"submission\" or \"submissions\"",
                     s));
}

void read_listeners(const Reader& r, const toml::node& n, Config* c) {
  if (!n.is_array_of_tables()) {
    r.wrong_type(n, "listener", "an array of tables ([[listener]])");
  }
  std::set<std::pair<std::string, uint16_t>> seen;
  size_t index = 0;
  for (const toml::node& e : *n.as_array()) {
    const std::string base = fmt::format("listener[{}]", index++);
    const toml::table& t = *e.as_table();
    ListenerConfig l;
    const toml::node* kind = nullptr;
    const toml::node* address = nullptr;
    for (auto&& [k, v] : t) {
      const std::string key = base + "." + std::string(k.str());
      if (k.str() == "kind") {
        l.kind = listener_kind(r, v, key);
        kind = &v;
      } else if (k.str() == "address") {
        l.address = r.string(v, key);
        const std::string err = parse_listen_address(l.address, &l.host, &l.port);
        if (!err.empty()) r.fail(v.source(), key, err);
        if (!seen.emplace(l.host, l.port).second) {
          r.fail(v.source(), key, fmt::format("'{}' is used by an earlier listener", l.address));
        }
        address = &v;
      } else {
        r.fail(k.source(), key, "unknown key");
      }
    }
    if (!kind) {
      r.fail(t.source(), base + ".kind",
             "is required (\"smtp\", \"submission\" or \"submissions\")");
    }
    if (!address) {
      r.fail(t.source(), base + ".address", "is required (e.g. \"127.0.0.1:2525\")");
    }
    c->listeners.push_back(std::move(l));
  }
}

// "maildir" or an LMTP address, as written (checked).
std::string read_route(const Reader& r, const toml::node& v, const std::string& key) {
  const std::string s = r.nonempty_string(v, key);
  if (s == "maildir") return s;
  std::string error;
  if (!parse_lmtp_address(s, &error)) {
    r.fail(v.source(), key,
           fmt::format("'{}' is not \"maildir\" or an LMTP address: {}", s, error));
  }
  return s;
}

void read_delivery(const Reader& r, const toml::table& t, DeliveryConfig* d) {
  for (auto&& [k, v] : t) {
    const std::string key = "delivery." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "lmtp") {
      d->lmtp = read_route(r, v, key);
      if (d->lmtp == "maildir") d->lmtp.clear();
    } else if (name == "domains" || name == "users") {
      auto& map = name == "domains" ? d->domains : d->users;
      for (auto&& [mk, mv] : r.table(v, key)) {
        const std::string mkey = key + "." + std::string(mk.str());
        map[ascii_lower(mk.str())] = read_route(r, mv, mkey);
      }
    } else if (name == "lmtp_timeout") {
      d->lmtp_timeout = r.duration(v, key, false);
    } else if (name == "lmtp_idle") {
      d->lmtp_idle = r.duration(v, key, true);
    } else if (name == "lmtp_max_messages_per_connection") {
      d->lmtp_max_messages_per_connection = r.positive(v, key);
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

void read_auth(const Reader& r, const toml::table& t, AuthConfig* a) {
  for (auto&& [k, v] : t) {
    const std::string key = "auth." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "backend") {
      const std::string s = r.string(v, key);
      if (s == "users") {
        a->backend = AuthConfig::Backend::kUsers;
      } else if (s == "dovecot") {
        a->backend = AuthConfig::Backend::kDovecot;
      } else {
        r.fail(v.source(), key,
               fmt::format("'{}' is not allowed; use \"users\" or \"dovecot\"", s));
      }
    } else if (name == "dovecot_socket") {
      a->dovecot_socket = r.nonempty_string(v, key);
      if (a->dovecot_socket.front() != '/') r.fail(v.source(), key, "must be an absolute path");
    } else if (name == "dovecot_timeout") {
      a->dovecot_timeout = r.duration(v, key, false, std::chrono::seconds(300));
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

void read_arc(const Reader& r, const toml::table& t, ArcConfig* a) {
  for (auto&& [k, v] : t) {
    const std::string key = "arc." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "verify") {
      a->verify = r.boolean(v, key);
    } else if (name == "seal") {
      a->seal = r.boolean(v, key);
    } else if (name == "domain") {
      a->domain = ascii_lower(r.string(v, key));
      if (!is_valid_domain(a->domain) || a->domain.find('.') == std::string::npos) {
        r.fail(v.source(), key, fmt::format("'{}' is not a valid domain name", a->domain));
      }
    } else if (name == "selector") {
      a->selector = ascii_lower(r.string(v, key));
      if (!is_valid_domain(a->selector)) {
        r.fail(v.source(), key, fmt::format("'{}' is not a valid selector", a->selector));
      }
    } else if (name == "algorithm") {
      a->algorithm = r.string(v, key);
      if (a->algorithm != "rsa-sha256" && a->algorithm != "ed25519-sha256") {
        r.fail(v.source(), key, "must be \"rsa-sha256\" or \"ed25519-sha256\"");
      }
    } else if (name == "trusted_sealers") {
      a->trusted_sealers.clear();
      r.strings(v, key, [&](const std::string& s, const toml::node& e) {
        if (!is_valid_domain(s))
          r.fail(e.source(), key, fmt::format("'{}' is not a valid domain name", s));
        a->trusted_sealers.push_back(ascii_lower(s));
      });
    } else if (name == "trusted_forwarders") {
      a->trusted_forwarders.clear();
      r.strings(v, key, [&](const std::string& s, const toml::node& e) {
        if (s.empty() || s.find_first_of(" \t\r\n") != std::string::npos) {
          r.fail(e.source(), key, fmt::format("'{}' is not a user name", s));
        }
        a->trusted_forwarders.push_back(s);
      });
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
  if (a->seal && a->domain.empty()) {
    r.fail(t.source(), "arc.domain", "is required when arc.seal = true");
  }
}

void read_acme(const Reader& r, const toml::table& t, AcmeConfig* a) {
  for (auto&& [k, v] : t) {
    const std::string key = "acme." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "enabled") {
      a->enabled = r.boolean(v, key);
    } else if (name == "directory") {
      a->directory = r.nonempty_string(v, key);
      if (a->directory.rfind("https://", 0) != 0)
        r.fail(v.source(), key, "must be an https:// URL (RFC 8555 6.1)");
    } else if (name == "email") {
      a->email = r.string(v, key);
      if (!a->email.empty() && a->email.find('@') == std::string::npos)
        r.fail(v.source(), key, fmt::format("'{}' is not an email address", a->email));
    } else if (name == "names") {
      a->names.clear();
      r.strings(v, key, [&](const std::string& s, const toml::node& e) {
        if (!is_valid_domain(s))
          r.fail(e.source(), key, fmt::format("'{}' is not a valid host name", s));
        a->names.push_back(ascii_lower(s));
      });
    } else if (name == "listen") {
      a->listen = r.nonempty_string(v, key);
      std::string host;
      uint16_t port = 0;
      const std::string err = parse_listen_address(a->listen, &host, &port);
      if (!err.empty()) r.fail(v.source(), key, err);
    } else if (name == "ca_file") {
      a->ca_file = r.string(v, key);
    } else if (name == "retry_min") {
      a->retry_min = r.duration(v, key, false);
    } else if (name == "renew_after") {
      a->renew_after = r.duration(v, key, true, std::chrono::hours(24 * 365));
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

// [[milter]] (docs/filtering.md): name, socket, listeners, default_action,
// connect_timeout, command_timeout, eom_timeout.
void read_milters(const Reader& r, const toml::node& n, Config* c) {
  if (!n.is_array_of_tables()) r.wrong_type(n, "milter", "an array of tables ([[milter]])");
  size_t index = 0;
  for (const toml::node& e : *n.as_array()) {
    const std::string base = fmt::format("milter[{}]", index++);
    const toml::table& t = *e.as_table();
    MilterConfig m;
    for (auto&& [k, v] : t) {
      const std::string key = base + "." + std::string(k.str());
      const std::string_view name = k.str();
      if (name == "name") {
        m.name = r.nonempty_string(v, key);
        for (const MilterConfig& o : c->milters)
          if (o.name == m.name)
            r.fail(v.source(), key, fmt::format("'{}' names an earlier milter", m.name));
      } else if (name == "socket") {
        m.socket = r.nonempty_string(v, key);
        if (m.socket.starts_with("unix:")) {
          m.unix_path = m.socket.substr(5);
          if (m.unix_path.empty() || m.unix_path.front() != '/')
            r.fail(v.source(), key,
                   "unix: needs an absolute path (\"unix:/run/rspamd/milter.sock\")");
        } else if (m.socket.starts_with("inet:")) {
          const std::string err = parse_listen_address(m.socket.substr(5), &m.host, &m.port);
          if (!err.empty()) r.fail(v.source(), key, "inet: " + err);
          if (m.host.empty())
            r.fail(v.source(), key, "inet: needs an IP address (\"inet:127.0.0.1:11332\")");
        } else {
          r.fail(v.source(), key,
                 fmt::format("'{}' is not \"unix:/path\" or \"inet:IP:port\"", m.socket));
        }
      } else if (name == "listeners") {
        m.listeners.clear();
        r.strings(v, key, [&](const std::string&, const toml::node& e) {
          m.listeners.push_back(listener_kind(r, e, key));
        });
      } else if (name == "default_action") {
        const std::string s = r.string(v, key);
        if (s == "tempfail") {
          m.default_accept = false;
        } else if (s == "accept") {
          m.default_accept = true;
        } else {
          r.fail(v.source(), key,
                 fmt::format("'{}' is not allowed; use \"tempfail\" or \"accept\"", s));
        }
      } else if (name == "connect_timeout") {
        m.connect_timeout = r.duration(v, key, false, std::chrono::seconds(3600));
      } else if (name == "command_timeout") {
        m.command_timeout = r.duration(v, key, false, std::chrono::seconds(3600));
      } else if (name == "eom_timeout") {
        m.eom_timeout = r.duration(v, key, false, std::chrono::seconds(3600));
      } else {
        r.fail(k.source(), key, "unknown key");
      }
    }
    if (m.socket.empty())
      r.fail(t.source(), base + ".socket", "is required (\"unix:/path\" or \"inet:IP:port\")");
    if (m.name.empty()) m.name = m.socket;
    c->milters.push_back(std::move(m));
  }
}

void read_mta_sts(const Reader& r, const toml::table& t, MtaStsConfig* m) {
  for (auto&& [k, v] : t) {
    const std::string key = "mta_sts." + std::string(k.str());
    const std::string_view name = k.str();
    if (name == "enabled") {
      m->enabled = r.boolean(v, key);
    } else if (name == "cache_dir") {
      m->cache_dir = r.nonempty_string(v, key);
    } else if (name == "fetch_timeout") {
      m->fetch_timeout = r.duration(v, key, false, std::chrono::seconds(300));
    } else if (name == "ca_file") {
      m->ca_file = r.string(v, key);
    } else if (name == "https_port") {
      const size_t p = r.positive(v, key);
      if (p > 65535) r.fail(v.source(), key, "must be a port number (1-65535)");
      m->https_port = static_cast<uint16_t>(p);
    } else if (name == "serve") {
      m->serve = r.boolean(v, key);
    } else if (name == "listen") {
      m->listen = r.nonempty_string(v, key);
      const std::string err = parse_listen_address(m->listen, &m->listen_host, &m->listen_port);
      if (!err.empty()) r.fail(v.source(), key, err);
    } else if (name == "mode") {
      m->mode = r.string(v, key);
      if (m->mode != "enforce" && m->mode != "testing" && m->mode != "none")
        r.fail(
            v.source(), key,
            fmt::format("'{}' is not allowed; use \"enforce\", \"testing\" or \"none\"", m->mode));
    } else if (name == "mx") {
      m->mx.clear();
      r.strings(v, key, [&](const std::string& s, const toml::node& e) {
        if (!sts::valid_mx_pattern(s))
          r.fail(e.source(), key,
                 fmt::format("'{}' is not a host name or *.domain (RFC 8461 3.2)", s));
        m->mx.push_back(ascii_lower(s));
      });
    } else if (name == "max_age") {
      const size_t a = r.positive(v, key);
      if (a > sts::kMaxMaxAge)
        r.fail(v.source(), key,
               fmt::format("must be at most {} seconds (RFC 8461 3.2)", sts::kMaxMaxAge));
      m->max_age = static_cast<uint32_t>(a);
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
}

void read_root(const Reader& r, const toml::table& root, Config* c) {
  bool have_hostname = false;
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (key == "hostname") {
      c->hostname = r.string(v, key);
      if (!is_valid_domain(c->hostname)) {
        r.fail(v.source(), key,
               fmt::format("'{}' is not a valid host name (letters, digits, "
                           "hyphens, dot-separated)",
                           c->hostname));
      }
      have_hostname = true;
    } else if (key == "data_dir") {
      c->data_dir = r.nonempty_string(v, key);
    } else if (key == "run_as") {
      c->run_as = r.nonempty_string(v, key);
    } else if (key == "domains") {
      c->domains.clear();
      r.strings(v, key, [&](const std::string& s, const toml::node& e) {
        if (!is_valid_domain(s)) {
          r.fail(e.source(), key, fmt::format("'{}' is not a valid domain name", s));
        }
        std::string d = ascii_lower(s);
        for (const auto& have : c->domains) {
          if (have == d) return;  // listed twice: harmless
        }
        c->domains.push_back(std::move(d));
      });
    } else if (key == "accept_any_local_part") {
      c->accept_any_local_part = r.boolean(v, key);
    } else if (key == "trusted_networks") {
      c->trusted_networks.clear();
      r.strings(v, key, [&](const std::string& s, const toml::node& e) {
        if (!Cidr::parse(s)) {
          r.fail(e.source(), key,
                 fmt::format("'{}' is not an address or network such as "
                             "\"192.0.2.0/24\" or \"2001:db8::/32\"",
                             s));
        }
        c->trusted_networks.push_back(s);
      });
    } else if (key == "check_loopback") {
      c->check_loopback = r.boolean(v, key);
    } else if (key == "bare_newline") {
      const std::string s = r.string(v, key);
      if (s == "reject") {
        c->bare_newline = BareNewline::kReject;
      } else if (s == "normalize") {
        c->bare_newline = BareNewline::kNormalize;
      } else {
        r.fail(v.source(), key,
               fmt::format("'{}' is not allowed; use \"reject\" or "
                           "\"normalize\"",
                           s));
      }
    } else if (key == "vrfy") {
      c->vrfy = r.boolean(v, key);
    } else if (key == "log_format") {
      const std::string s = r.string(v, key);
      if (s == "text") {
        c->log_format = LogFormat::kText;
      } else if (s == "json") {
        c->log_format = LogFormat::kJson;
      } else {
        r.fail(v.source(), key, fmt::format("'{}' is not allowed; use \"text\" or \"json\"", s));
      }
    } else if (key == "auth_cache") {
      c->auth_cache = r.duration(v, key, true);
    } else if (key == "listener") {
      read_listeners(r, v, c);
    } else if (key == "tls") {
      read_tls(r, r.table(v, key), c);
    } else if (key == "limits") {
      read_limits(r, r.table(v, key), &c->limits);
    } else if (key == "dns") {
      read_dns(r, r.table(v, key), &c->dns);
    } else if (key == "tls_policy") {
      read_tls_policies(r, v, c);
    } else if (key == "queue") {
      read_queue(r, r.table(v, key), &c->queue);
    } else if (key == "relay") {
      read_relay(r, r.table(v, key), &c->relay);
    } else if (key == "spf") {
      read_spf(r, r.table(v, key), &c->spf);
    } else if (key == "dkim") {
      read_dkim(r, r.table(v, key), &c->dkim);
    } else if (key == "dmarc") {
      read_dmarc(r, r.table(v, key), &c->dmarc);
    } else if (key == "metrics") {
      read_metrics(r, r.table(v, key), &c->metrics);
    } else if (key == "delivery") {
      read_delivery(r, r.table(v, key), &c->delivery);
    } else if (key == "auth") {
      read_auth(r, r.table(v, key), &c->auth);
    } else if (key == "acme") {
      read_acme(r, r.table(v, key), &c->acme);
    } else if (key == "dnsbl") {
      read_dnsbl(r, r.table(v, key), &c->dnsbl);
    } else if (key == "greylist") {
      read_greylist(r, r.table(v, key), &c->greylist);
    } else if (key == "checks") {
      read_checks(r, r.table(v, key), &c->checks);
    } else if (key == "milter") {
      read_milters(r, v, c);
    } else if (key == "arc") {
      read_arc(r, r.table(v, key), &c->arc);
    } else if (key == "mta_sts") {
      read_mta_sts(r, r.table(v, key), &c->mta_sts);
    } else if (key == "tls_rpt") {
      read_tls_rpt(r, r.table(v, key), &c->tls_rpt);
    } else {
      r.fail(k.source(), key, "unknown key");
    }
  }
  if (c->listeners.empty()) {
    r.fail(toml::source_region{}, "listener", "at least one [[listener]] is required");
  }
  if (!have_hostname) c->hostname = system_hostname();
  for (const TlsPolicyConfig& p : c->tls_policies) {
    const std::string what =
        p.domain.empty() ? fmt::format("next_hop [{}]", p.next_hop_host) : p.domain;
    if (!c->dns.dnssec && (p.level == "dane" || p.level == "dane-only")) {
      r.fail(toml::source_region{}, "tls_policy",
             fmt::format("level \"{}\" for {} needs DNSSEC ([dns] dnssec = true)", p.level, what));
    }
    // The smarthost's TLS is its own ([relay] security, ca_file: always
    // required and verified); an entry that looks as if it changed it is a
    // mistake, so it is refused rather than silently ignored.
    if (!p.next_hop_host.empty() && !c->relay.smarthost_host.empty() &&
        p.next_hop_host == ascii_lower(c->relay.smarthost_host)) {
      r.fail(toml::source_region{}, "tls_policy",
             fmt::format("next_hop [{}] names the smarthost, whose TLS is set in [relay] "
                         "(security, ca_file) and always required and verified",
                         p.next_hop_host));
    }
  }
  if (c->acme.enabled && !c->tls_certificate.empty())
    r.fail(toml::source_region{}, "acme.enabled",
           "cannot be used with tls.certificate (choose one)");
  if (c->relay.srs_domain.empty()) c->relay.srs_domain = c->hostname;
  if (c->mta_sts.cache_dir.empty()) c->mta_sts.cache_dir = c->data_dir + "/mta-sts";
  if (c->mta_sts.mx.empty()) c->mta_sts.mx = {ascii_lower(c->hostname)};
  if (c->dmarc.report_org.empty()) c->dmarc.report_org = c->hostname;
  if (c->dmarc.report_email.empty()) c->dmarc.report_email = "postmaster@" + c->hostname;
  if (c->tls_rpt.organization.empty()) c->tls_rpt.organization = c->hostname;
  if (c->tls_rpt.contact.empty()) c->tls_rpt.contact = "postmaster@" + c->hostname;
}

}  // namespace

const char* listener_kind_name(ListenerKind k) {
  switch (k) {
    case ListenerKind::kSmtp:
      return "smtp";
    case ListenerKind::kSubmission:
      return "submission";
    case ListenerKind::kSubmissions:
      return "submissions";
  }
  return "?";
}

Config parse_config(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw ConfigError(fmt::format("{}:{}:{}: TOML syntax error: {}", source, at.line ? at.line : 1,
                                  at.column ? at.column : 1, e.description()));
  }
  Config c;
  c.source = source;
  read_root(Reader(source), root, &c);
  return c;
}

Config load_config(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw ConfigError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw ConfigError(fmt::format("{}: cannot read: {}", path, std::strerror(err)));
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return parse_config(text, path);
}

Config default_config() { return parse_config(kDefaultToml, "<embedded>"); }

std::string lmtp_route(const DeliveryConfig& d, std::string_view address) {
  const std::string a = ascii_lower(address);
  auto pick = [](const std::string& route) { return route == "maildir" ? std::string() : route; };
  if (auto it = d.users.find(a); it != d.users.end()) return pick(it->second);
  const size_t at = a.rfind('@');
  if (at != std::string::npos) {
    if (auto it = d.domains.find(a.substr(at + 1)); it != d.domains.end()) return pick(it->second);
  }
  return d.lmtp;
}

bool is_local_domain(const Config& config, std::string_view domain) {
  const std::string d = ascii_lower(domain);
  for (const auto& local : config.domains) {
    if (local == d) return true;
  }
  return false;
}

}  // namespace tern
