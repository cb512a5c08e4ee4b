#include <gtest/gtest.h>

#include <map>
#include <string>

#include "config/config.h"
#include "sendcli/client_config.h"

namespace tern::sendcli {
namespace {

std::string ErrorOf(const std::string& toml) {
  try {
    parse_client_config(toml, "client.toml");
  } catch (const ClientConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// A getenv over a map.
Getenv Env(std::map<std::string, std::string> vars) {
  auto owned = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [owned](const char* name) -> const char* {
    auto it = owned->find(name);
    return it == owned->end() ? nullptr : it->second.c_str();
  };
}

std::string EnvErrorOf(std::map<std::string, std::string> vars) {
  try {
    client_settings_from_env(Env(std::move(vars)));
  } catch (const ClientConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

LocalServer Local() { return LocalServer{"127.0.0.1", 2525, "localhost", "<embedded>"}; }

TEST(ClientConfigTest, EveryKey) {
  const ClientSettings s = parse_client_config(R"(
host = "smtp.example.org"
port = 465
security = "tls"
user = "me@example.org"
password_command = "echo secret"
from = "Me <me@example.org>"
ca_file = "/etc/ca.pem"
verify = false
domain = "example.org"
)",
                                               "client.toml");
  EXPECT_EQ(s.host, "smtp.example.org");
  EXPECT_EQ(s.port, 465);
  EXPECT_EQ(s.security, Security::kTls);
  EXPECT_EQ(s.user, "me@example.org");
  EXPECT_FALSE(s.password);
  EXPECT_EQ(s.password_command, "echo secret");
  EXPECT_EQ(s.from, "Me <me@example.org>");
  EXPECT_EQ(s.ca_file, "/etc/ca.pem");
  EXPECT_EQ(s.verify, false);
  EXPECT_EQ(s.domain, "example.org");
  EXPECT_FALSE(parse_client_config("", "x").host);
}

TEST(ClientConfigTest, ErrorsHavePositions) {
  EXPECT_EQ(ErrorOf("host = \"h\"\nport = 70000\n"),
            "client.toml:2:8: key 'port': must be a port from 1 to 65535");
  EXPECT_EQ(ErrorOf("port = \"25\"\n"), "client.toml:1:8: key 'port': must be an integer");
  EXPECT_EQ(ErrorOf("\n  hots = \"x\"\n"), "client.toml:2:3: key 'hots': unknown key");
  EXPECT_EQ(ErrorOf("security = \"ssl\"\n"),
            "client.toml:1:12: key 'security': use \"none\", \"starttls\" or \"tls\"");
  EXPECT_EQ(ErrorOf("verify = \"no\"\n"),
            "client.toml:1:10: key 'verify': must be a boolean (true or false)");
  EXPECT_EQ(ErrorOf("from = \"not a mailbox\"\n"),
            "client.toml:1:8: key 'from': \"not a mailbox\" is not a mailbox such as \"Me "
            "<me@x.org>\"");
  EXPECT_EQ(ErrorOf("host = \"\"\n"), "client.toml:1:8: key 'host': must not be empty");
  EXPECT_EQ(ErrorOf("[smtp]\nhost = \"x\"\n"), "client.toml:1:2: key 'smtp': unknown key");
  EXPECT_EQ(ErrorOf("host = \n").rfind("client.toml:1:", 0), 0u);
  EXPECT_NE(ErrorOf("host = \n").find("TOML syntax error"), std::string::npos);
}

TEST(ClientConfigTest, Environment) {
  const ClientSettings s = client_settings_from_env(Env({{"TERN_SMTP_HOST", "mx.example"},
                                                         {"TERN_SMTP_PORT", "2587"},
                                                         {"TERN_SMTP_SECURITY", "starttls"},
                                                         {"TERN_SMTP_USER", "u"},
                                                         {"TERN_SMTP_PASSWORD", "p"},
                                                         {"TERN_SMTP_VERIFY", "no"},
                                                         {"TERN_SMTP_USER_UNRELATED", "x"},
                                                         {"TERN_SMTP_FROM", ""}}));
  EXPECT_EQ(s.host, "mx.example");
  EXPECT_EQ(s.port, 2587);
  EXPECT_EQ(s.security, Security::kStartTls);
  EXPECT_EQ(s.user, "u");
  EXPECT_EQ(s.password, "p");
  EXPECT_EQ(s.verify, false);
  EXPECT_FALSE(s.from);  // empty means unset
  EXPECT_EQ(EnvErrorOf({{"TERN_SMTP_PORT", "25x"}}),
            "TERN_SMTP_PORT: must be a port from 1 to 65535");
  EXPECT_EQ(EnvErrorOf({{"TERN_SMTP_SECURITY", "SSL"}}),
            "TERN_SMTP_SECURITY: \"SSL\": use \"none\", \"starttls\" or \"tls\"");
  EXPECT_EQ(EnvErrorOf({{"TERN_SMTP_VERIFY", "maybe"}}),
            "TERN_SMTP_VERIFY: \"maybe\": use true or false");
  EXPECT_EQ(EnvErrorOf({{"TERN_SMTP_DOMAIN", "bad domain"}}),
            "TERN_SMTP_DOMAIN: \"bad domain\" is not a valid domain name");
}

TEST(ClientConfigTest, OverlayPrecedence) {
  ClientSettings flags, env, file;
  flags.port = 1;
  env.port = 2;
  env.host = "env-host";
  file.host = "file-host";
  file.user = "file-user";
  file.password = "file-password";
  env.password_command = "env-command";
  const ClientSettings s = overlay(overlay(flags, env), file);
  EXPECT_EQ(s.port, 1);
  EXPECT_EQ(s.host, "env-host");
  EXPECT_EQ(s.user, "file-user");
  // password and password_command are one setting: the environment's wins whole.
  EXPECT_EQ(s.password_command, "env-command");
  EXPECT_FALSE(s.password);
}

TEST(ClientConfigTest, ConfigPath) {
  EXPECT_EQ(client_config_path(Env({{"HOME", "/home/a"}})), "/home/a/.config/tern/client.toml");
  EXPECT_EQ(client_config_path(Env({{"HOME", "/home/a"}, {"XDG_CONFIG_HOME", "/x"}})),
            "/x/tern/client.toml");
  EXPECT_EQ(client_config_path(Env({{"HOME", "/home/a"}, {"TERN_CLIENT_CONFIG", "/c.toml"}})),
            "/c.toml");
  EXPECT_EQ(client_config_path(Env({})), "");
}

TEST(ClientConfigTest, LocalServerFromConfig) {
  const auto d = local_server(default_config());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->host, "127.0.0.1");
  EXPECT_EQ(d->port, 2525);
  EXPECT_EQ(d->domain, "localhost");

  const Config c = parse_config(
      "domains = [\"example.org\", \"b.example\"]\n"
      "[[listener]]\nkind = \"submission\"\naddress = \":587\"\n"
      "[[listener]]\nkind = \"smtp\"\naddress = \":25\"\n",
      "t.toml");
  const auto l = local_server(c);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->host, "127.0.0.1");  // all addresses: reached over loopback
  EXPECT_EQ(l->port, 25);
  EXPECT_EQ(l->domain, "example.org");
  EXPECT_EQ(l->source, "t.toml");

  const Config no_smtp =
      parse_config("[[listener]]\nkind = \"submission\"\naddress = \"[::1]:587\"\n", "t.toml");
  EXPECT_FALSE(local_server(no_smtp));
}

TEST(ClientConfigTest, ResolveDefaultIsTheLocalServer) {
  const Target t = resolve_target({}, Local(), "box.example");
  EXPECT_TRUE(t.local);
  EXPECT_EQ(t.options.host, "127.0.0.1");
  EXPECT_EQ(t.options.port, 2525);
  EXPECT_EQ(t.options.security, Security::kNone);
  EXPECT_EQ(t.domain, "localhost");
  EXPECT_TRUE(t.options.verify_certificate);
  EXPECT_TRUE(t.options.allow_cleartext_auth);  // loopback

  ClientSettings s;
  s.port = 2587;
  s.security = Security::kStartTls;
  const Target u = resolve_target(s, Local(), "box.example");
  EXPECT_TRUE(u.local);
  EXPECT_EQ(u.options.port, 2587);
  EXPECT_EQ(u.options.security, Security::kStartTls);

  EXPECT_THROW(resolve_target({}, std::nullopt, "box.example"), ClientConfigError);
}

TEST(ClientConfigTest, ResolveRemote) {
  ClientSettings s;
  s.host = "smtp.example.org";
  s.user = "me";
  s.password = "pw";
  s.password_command = "ignored";  // both in one layer: the password wins
  s.verify = false;
  const Target t = resolve_target(s, std::nullopt, "box.example");
  EXPECT_FALSE(t.local);
  EXPECT_EQ(t.options.host, "smtp.example.org");
  EXPECT_EQ(t.options.port, 0);  // the library's default: 587 for STARTTLS
  EXPECT_EQ(t.options.security, Security::kStartTls);
  EXPECT_EQ(t.options.password, "pw");
  EXPECT_EQ(t.password_command, "");
  EXPECT_FALSE(t.options.verify_certificate);
  EXPECT_FALSE(t.options.allow_cleartext_auth);
  EXPECT_EQ(t.domain, "box.example");

  s.domain = "example.org";
  s.password.reset();
  EXPECT_EQ(resolve_target(s, std::nullopt, "box").domain, "example.org");
  EXPECT_EQ(resolve_target(s, std::nullopt, "box").password_command, "ignored");
}

// tern send --require-tls (RFC 8689 4.2.1): verified TLS or nothing.
TEST(ClientConfigTest, RequireTlsForcesVerifiedTls) {
  // Nothing set: STARTTLS, also to this machine's server (plain otherwise).
  ClientSettings none;
  const ClientSettings forced = require_verified_tls(none);
  EXPECT_EQ(forced.security, Security::kStartTls);
  EXPECT_EQ(forced.verify, true);
  const Target t = resolve_target(forced, Local(), "box.example");
  EXPECT_TRUE(t.local);
  EXPECT_EQ(t.options.security, Security::kStartTls);
  EXPECT_EQ(t.options.port, 2525);
  EXPECT_TRUE(t.options.verify_certificate);

  // Implicit TLS asked for is kept.
  ClientSettings tls;
  tls.security = Security::kTls;
  EXPECT_EQ(require_verified_tls(tls).security, Security::kTls);

  // A layer asking for no TLS, or no certificate check, is an error, not overridden.
  ClientSettings plain;
  plain.security = Security::kNone;
  EXPECT_THROW(require_verified_tls(plain), ClientConfigError);
  ClientSettings unverified;
  unverified.verify = false;
  try {
    require_verified_tls(unverified);
    ADD_FAILURE() << "no error";
  } catch (const ClientConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("verify is false"), std::string::npos) << e.what();
  }
}

// issue 15: with no `from`, an AUTH user that is an address is the sender
// (login@hostname would be refused as not owned by that user).
TEST(ClientConfigTest, FromFallsBackToAuthUserAddress) {
  ClientSettings s;
  s.host = "smtp.example.org";
  s.user = "me@example.org";
  EXPECT_EQ(resolve_target(s, std::nullopt, "box").from, "me@example.org");
  s.from = "Me <other@example.org>";  // a configured from still wins
  EXPECT_EQ(resolve_target(s, std::nullopt, "box").from, "Me <other@example.org>");
  s.from.reset();
  s.user = "me";  // a plain login is not an address: the old fallback stays
  EXPECT_EQ(resolve_target(s, std::nullopt, "box").from, "");
  s.user = "broken@";
  EXPECT_EQ(resolve_target(s, std::nullopt, "box").from, "");
}

TEST(ClientConfigTest, RelayHintOnlyForUnauthenticatedLocal) {
  SendResult r;
  RecipientStatus refused;
  refused.address = "x@elsewhere.example";
  refused.error = SmtpError{};
  refused.error->enhanced = "5.7.1";
  r.recipients = {refused};
  Target local = resolve_target({}, Local(), "box");
  EXPECT_NE(relay_hint(local, r).find("needs AUTH"), std::string::npos);
  local.options.user = "me@example.org";
  EXPECT_EQ(relay_hint(local, r), "");
  ClientSettings remote;
  remote.host = "smtp.example.org";
  EXPECT_EQ(relay_hint(resolve_target(remote, std::nullopt, "box"), r), "");
  r.recipients[0].error->enhanced = "5.1.1";
  EXPECT_EQ(relay_hint(resolve_target({}, Local(), "box"), r), "");
}

}  // namespace
}  // namespace tern::sendcli
