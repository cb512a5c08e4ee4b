// Where `tern send` and `tern sendmail` deliver, and as whom: the client
// settings, from four layers, the first that sets a key winning:
//
//   1. command-line flags (--host, --port, ...)
//   2. the environment: TERN_SMTP_HOST, TERN_SMTP_PORT, TERN_SMTP_SECURITY,
//      TERN_SMTP_USER, TERN_SMTP_PASSWORD, TERN_SMTP_PASSWORD_COMMAND,
//      TERN_SMTP_FROM, TERN_SMTP_CA_FILE, TERN_SMTP_VERIFY, TERN_SMTP_DOMAIN
//   3. the user's client.toml (client_config_path), then /etc/tern/client.toml
//   4. defaults: with no host anywhere, the tern server of this machine
//      (its first smtp listener, plain SMTP over loopback, see LocalServer)
//
// client.toml holds the same keys as the environment, lower case:
//
//   host = "smtp.example.org"   port = 587   security = "starttls"
//   user = "me@example.org"     password_command = "pass show mail"
//   from = "Me <me@example.org>"   ca_file = "/etc/ssl/my-ca.pem"
//   verify = true   domain = "example.org"
//
// password and password_command count as one key: the layer that sets
// either decides. Errors in a file are reported as tern's server config
// reports them: "FILE:LINE:COL: key 'port': must be ...".
//
// Pure except where noted; thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config/config.h"
#include "tern/client.h"

namespace tern::sendcli {

// Bad client settings (exit status 78, EX_CONFIG).
class ClientConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One layer of settings; unset means "not given here".
struct ClientSettings {
  std::optional<std::string> host;
  std::optional<uint16_t> port;
  std::optional<Security> security;
  std::optional<std::string> user;
  std::optional<std::string> password;
  std::optional<std::string> password_command;  // run by /bin/sh; first line of its output
  std::optional<std::string> from;              // a mailbox, "Name <a@b>"
  std::optional<std::string> ca_file;
  std::optional<bool> verify;         // check the server certificate (default true)
  std::optional<std::string> domain;  // for addresses without "@"
};

// Parses client.toml text; `source` names it in errors. Unknown keys and
// wrong types are errors. Throws ClientConfigError.
ClientSettings parse_client_config(std::string_view toml_text, const std::string& source);

// The TERN_SMTP_* variables as `getenv` returns them (nullptr or "" means
// unset). Throws ClientConfigError naming the variable for a bad value.
using Getenv = std::function<const char*(const char*)>;
ClientSettings client_settings_from_env(const Getenv& getenv);

// `high` with each unset key taken from `low`.
ClientSettings overlay(const ClientSettings& high, const ClientSettings& low);

// "none", "starttls", "tls"; nullopt for anything else.
std::optional<Security> parse_security(std::string_view s);
// A decimal port from 1 to 65535; nullopt for anything else.
std::optional<uint16_t> parse_port(std::string_view s);

// The user's client.toml: $TERN_CLIENT_CONFIG, else
// $XDG_CONFIG_HOME/tern/client.toml, else $HOME/.config/tern/client.toml
// ("" when neither variable is set).
std::string client_config_path(const Getenv& getenv);
inline constexpr char kSystemClientConfig[] = "/etc/tern/client.toml";

// The tern server of this machine, as a client reaches it: the first smtp
// listener of its config (a wildcard address means loopback), and its
// first domain for addresses without "@".
struct LocalServer {
  std::string host;
  uint16_t port = 0;
  std::string domain;
  std::string source;  // the config file, for messages
};
// nullopt when the config has no smtp listener.
std::optional<LocalServer> local_server(const Config& config);

// Everything needed to send, the layers merged.
struct Target {
  ClientOptions options;         // host, port, security, TLS checks, user, password
  std::string password_command;  // set when the password must come from it
  std::string from;              // the configured sender mailbox, else the
                                 // AUTH user when it is an address, or ""
  std::string domain;            // for addresses without "@"
  bool local = false;            // the default: this machine's tern server
};

// Merges the settings into a Target. With no host, `local` is the target
// (security none unless set, its port unless set, its domain unless set).
// Otherwise security defaults to STARTTLS and the port to the library's
// default for it, the domain to `hostname`. AUTH without TLS is allowed
// only to a loopback host. Throws ClientConfigError for an invalid `from`
// or `domain`, or when there is neither a host nor `local`.
Target resolve_target(const ClientSettings& s, const std::optional<LocalServer>& local,
                      const std::string& hostname);

// `tern send --require-tls` (RFC 8689 4.2.1): REQUIRETLS goes only over TLS
// that authenticated the server, so `s` (the layers merged) gets STARTTLS
// when no layer sets security (also for this machine's server, otherwise
// reached in plain text). Throws ClientConfigError when a layer asks for
// security "none" or verify = false: both can never carry such a message.
ClientSettings require_verified_tls(ClientSettings s);

// A hint for a failure to send through `t`, or "": our own server relays
// only for authenticated clients, so a 5.7.1 refusal without AUTH to the
// local target gets " (mail to other domains needs AUTH: ...)".
std::string relay_hint(const Target& t, const SendResult& r);

}  // namespace tern::sendcli
