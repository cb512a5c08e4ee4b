// The config `tern init` writes (init/config_template.h), read back by the
// loader the server uses.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>

#include "config/config.h"
#include "init/config_template.h"

namespace tern::init {
namespace {

InitSettings Example() {
  InitSettings s;
  s.domain = "example.org";
  s.hostname = "mx.example.org";
  s.dkim_key_path = "/var/lib/tern/dkim/example.org/rsa-202612.key";
  return s;
}

// Every "#key = value" line uncommented: the keys offered in comments must
// be ones the loader accepts too.
std::string Uncommented(const std::string& text) {
  static const std::regex commented_key(R"(^#([a-z_]+ = .*)$)");
  std::istringstream in(text);
  std::string out, line;
  while (std::getline(in, line)) {
    std::smatch m;
    out += (std::regex_match(line, m, commented_key) ? m[1].str() : line) + "\n";
  }
  return out;
}

TEST(InitConfigTest, LoadsAsARealDeployment) {
  const Config c = parse_config(render_config(Example()), "tern.toml");
  EXPECT_EQ(c.hostname, "mx.example.org");
  EXPECT_EQ(c.data_dir, "/var/lib/tern");
  EXPECT_EQ(c.run_as, "tern");
  EXPECT_EQ(c.domains, std::vector<std::string>{"example.org"});
  EXPECT_FALSE(c.accept_any_local_part);
  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[0].kind, ListenerKind::kSmtp);
  EXPECT_EQ(c.listeners[0].host, "");  // every address
  EXPECT_EQ(c.listeners[0].port, 25);
  EXPECT_EQ(c.listeners[1].kind, ListenerKind::kSubmission);
  EXPECT_EQ(c.listeners[1].port, 587);
  EXPECT_EQ(c.listeners[2].kind, ListenerKind::kSubmissions);
  EXPECT_EQ(c.listeners[2].port, 465);
  EXPECT_TRUE(c.tls_certificate.empty());  // self-signed in the data dir
  EXPECT_TRUE(c.spf.enabled);
  EXPECT_TRUE(c.spf.reject_fail);
  EXPECT_TRUE(c.dkim.verify);
  EXPECT_TRUE(c.dmarc.enabled);
  EXPECT_EQ(c.dmarc.on_reject, DmarcConfig::Action::kReject);
  EXPECT_FALSE(c.acme.enabled);  // offered, off until port 80 reaches tern
  EXPECT_EQ(c.acme.email, "postmaster@example.org");
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9325");
}

TEST(InitConfigTest, EveryCommentedKeyIsAcceptedToo) {
  const std::string text = Uncommented(render_config(Example()));
  const Config c = parse_config(text, "tern.toml");
  EXPECT_EQ(c.tls_certificate, "/etc/letsencrypt/live/mx.example.org/fullchain.pem");
  EXPECT_EQ(c.tls_private_key, "/etc/letsencrypt/live/mx.example.org/privkey.pem");
  EXPECT_EQ(c.relay.smarthost, "smtp.example.net:587");
  EXPECT_TRUE(c.dmarc.reports);
  EXPECT_EQ(c.trusted_networks.size(), 2u);
}

TEST(InitConfigTest, CertbotPathsWhenGiven) {
  InitSettings s = Example();
  s.tls_certificate = "/etc/letsencrypt/live/mx.example.org/fullchain.pem";
  s.tls_private_key = "/etc/letsencrypt/live/mx.example.org/privkey.pem";
  const std::string text = render_config(s);
  const Config c = parse_config(text, "tern.toml");
  EXPECT_EQ(c.tls_certificate, s.tls_certificate);
  EXPECT_EQ(c.tls_private_key, s.tls_private_key);
  // Not offered twice (a duplicate key would be a TOML error once uncommented).
  EXPECT_NO_THROW(parse_config(Uncommented(text), "tern.toml"));
}

TEST(InitConfigTest, PathsAreQuotedAsTomlStrings) {
  InitSettings s = Example();
  s.data_dir = "/srv/odd \"dir\"\\x";
  s.run_as = "mail";
  const Config c = parse_config(render_config(s), "tern.toml");
  EXPECT_EQ(c.data_dir, s.data_dir);
  EXPECT_EQ(c.run_as, "mail");
}

TEST(InitConfigTest, EveryLineIsCommentedOrAKey) {
  // A commented file: each key has a comment line above it (or its block).
  const std::string text = render_config(Example());
  EXPECT_EQ(text.rfind("# tern configuration for example.org", 0), 0u);
  EXPECT_NE(text.find("rsa-202612.key"), std::string::npos);
}

TEST(InitConfigTest, ChoosesTheSystemNameOnlyWhenItIsADnsName) {
  EXPECT_EQ(choose_hostname("MX1.Example.ORG", "example.org"), "mx1.example.org");
  EXPECT_EQ(choose_hostname("debian", "example.org"), "mail.example.org");
  EXPECT_EQ(choose_hostname("localhost.localdomain", "example.org"), "mail.example.org");
  EXPECT_EQ(choose_hostname("box.local", "example.org"), "mail.example.org");
  EXPECT_EQ(choose_hostname("", "Example.org"), "mail.example.org");
  EXPECT_EQ(choose_hostname("bad_name.example", "example.org"), "mail.example.org");
}

}  // namespace
}  // namespace tern::init
