#include "config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/values.h"

namespace tern {
namespace {

using std::chrono::seconds;

constexpr char kListener[] = "[[listener]]\nkind = \"smtp\"\naddress = \":25\"\n";

// A config made of `text` followed by one listener, as file "t.toml".
Config Parse(const std::string& text) { return parse_config(text + kListener, "t.toml"); }

std::string ErrorOf(const std::string& text) {
  try {
    parse_config(text, "t.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ConfigTest, EmbeddedDefault) {
  const Config c = default_config();
  EXPECT_EQ(c.source, "<embedded>");
  EXPECT_FALSE(c.hostname.empty());
  EXPECT_TRUE(is_valid_domain(c.hostname)) << c.hostname;
  EXPECT_EQ(c.data_dir, "./tern-data");
  EXPECT_EQ(c.domains, std::vector<std::string>{"localhost"});
  EXPECT_TRUE(c.accept_any_local_part);
  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[0].kind, ListenerKind::kSmtp);
  EXPECT_EQ(c.listeners[0].host, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].port, 2525);
  EXPECT_EQ(c.listeners[1].kind, ListenerKind::kSubmission);
  EXPECT_EQ(c.listeners[1].address, "127.0.0.1:2587");
  EXPECT_EQ(c.listeners[1].port, 2587);
  EXPECT_EQ(c.listeners[2].kind, ListenerKind::kSubmissions);
  EXPECT_EQ(c.listeners[2].port, 2465);
  EXPECT_TRUE(c.tls_certificate.empty());
  EXPECT_TRUE(c.tls_private_key.empty());
  EXPECT_EQ(c.tls.min_version, "TLSv1.2");
  EXPECT_EQ(c.tls.ciphers, kDefaultTls12Ciphers);
  EXPECT_EQ(c.tls.ciphersuites, "");  // OpenSSL's TLS 1.3 suites
  EXPECT_EQ(c.tls.groups, "X25519:P-256:P-384");
  EXPECT_TRUE(c.trusted_networks.empty());
  EXPECT_EQ(c.bare_newline, BareNewline::kReject);
  EXPECT_FALSE(c.vrfy);
  EXPECT_EQ(c.auth_cache, seconds(3600));
  EXPECT_EQ(c.limits.max_message_size, 50u * 1024 * 1024);
  EXPECT_EQ(c.limits.max_recipients, 100u);
  EXPECT_EQ(c.limits.command_timeout, seconds(300));
}

TEST(ConfigTest, FileDefaults) {
  const Config c = Parse("");
  EXPECT_EQ(c.source, "t.toml");
  EXPECT_EQ(c.hostname, default_config().hostname);  // the system's name
  EXPECT_EQ(c.data_dir, "./tern-data");
  EXPECT_EQ(c.domains, std::vector<std::string>{"localhost"});
  EXPECT_FALSE(c.accept_any_local_part);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].address, ":25");
  EXPECT_EQ(c.listeners[0].host, "");
  EXPECT_EQ(c.listeners[0].port, 25);
  const Limits d;
  EXPECT_EQ(c.limits.max_message_size, d.max_message_size);
  EXPECT_EQ(c.limits.max_connections, d.max_connections);
  EXPECT_EQ(c.limits.shutdown_grace, d.shutdown_grace);
  EXPECT_TRUE(c.dns.forward.empty());  // /etc/resolv.conf
  EXPECT_EQ(c.dns.timeout, seconds(10));
}

TEST(ConfigTest, EveryKey) {
  const Config c = parse_config(R"(
hostname = "MX.Example.org"
data_dir = "var/tern"
domains = ["Example.ORG", "example.net", "example.org"]
accept_any_local_part = true
trusted_networks = ["192.0.2.0/24", "2001:db8::/32", "203.0.113.5"]
bare_newline = "normalize"
vrfy = true
auth_cache = 0

[tls]
certificate = "/etc/tern/fullchain.pem"
private_key = "/etc/tern/key.pem"
min_version = "TLSv1.3"
ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"
ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
groups = "X25519"

[limits]
max_message_size = "10MiB"
max_recipients = 1
max_connections = 500
max_connections_per_ip = 5
max_errors = 3
command_timeout = "5m"
max_commands_without_message = 40
max_auth_failures = 2
data_timeout = 900
shutdown_grace = "1m30s"

[dns]
forward = ["127.0.0.1@5353", "2001:db8::53"]
timeout = "30s"

[[listener]]
kind = "smtp"
address = "0.0.0.0:25"

[[listener]]
kind = "submission"
address = "[::1]:587"

[[listener]]
kind = "submissions"
address = ":465"
)",
                                "t.toml");
  EXPECT_EQ(c.hostname, "MX.Example.org");
  EXPECT_EQ(c.data_dir, "var/tern");  // relative: kept as written
  EXPECT_EQ(c.domains, (std::vector<std::string>{"example.org", "example.net"}));
  EXPECT_TRUE(c.accept_any_local_part);
  EXPECT_EQ(c.trusted_networks,
            (std::vector<std::string>{"192.0.2.0/24", "2001:db8::/32", "203.0.113.5"}));
  EXPECT_EQ(c.bare_newline, BareNewline::kNormalize);
  EXPECT_TRUE(c.vrfy);
  EXPECT_EQ(c.auth_cache, seconds(0));
  EXPECT_EQ(c.tls_certificate, "/etc/tern/fullchain.pem");
  EXPECT_EQ(c.tls_private_key, "/etc/tern/key.pem");
  EXPECT_EQ(c.tls.min_version, "TLSv1.3");
  EXPECT_EQ(c.tls.ciphers, "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384");
  EXPECT_EQ(c.tls.ciphersuites, "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(c.tls.groups, "X25519");
  EXPECT_EQ(c.limits.max_message_size, 10u * 1024 * 1024);
  EXPECT_EQ(c.limits.max_recipients, 1u);
  EXPECT_EQ(c.limits.max_connections, 500u);
  EXPECT_EQ(c.limits.max_connections_per_ip, 5u);
  EXPECT_EQ(c.limits.max_errors, 3u);
  EXPECT_EQ(c.limits.max_commands_without_message, 40u);
  EXPECT_EQ(c.limits.max_auth_failures, 2u);
  EXPECT_EQ(c.limits.command_timeout, seconds(300));
  EXPECT_EQ(c.limits.data_timeout, seconds(900));
  EXPECT_EQ(c.limits.shutdown_grace, seconds(90));
  EXPECT_EQ(c.dns.forward, (std::vector<std::string>{"127.0.0.1@5353", "2001:db8::53"}));
  EXPECT_EQ(c.dns.timeout, seconds(30));
  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[0].kind, ListenerKind::kSmtp);
  EXPECT_EQ(c.listeners[0].host, "0.0.0.0");
  EXPECT_EQ(c.listeners[0].port, 25);
  EXPECT_EQ(c.listeners[1].kind, ListenerKind::kSubmission);
  EXPECT_EQ(c.listeners[1].address, "[::1]:587");
  EXPECT_EQ(c.listeners[1].host, "::1");
  EXPECT_EQ(c.listeners[1].port, 587);
  EXPECT_EQ(c.listeners[2].kind, ListenerKind::kSubmissions);
  EXPECT_EQ(c.listeners[2].host, "");
  EXPECT_EQ(c.listeners[2].port, 465);
}

TEST(ConfigTest, SizesAsIntegersOrStrings) {
  struct Case {
    const char* value;
    uint64_t want;
  } cases[] = {
      {"52428800", 52428800},     {"\"50M\"", 50ull << 20},    {"\"10MiB\"", 10ull << 20},
      {"\"100K\"", 100ull << 10}, {"\"100kb\"", 100ull << 10}, {"\"2g\"", 2ull << 30},
      {"\"1GiB\"", 1ull << 30},   {"\"512B\"", 512},           {"\"1000\"", 1000},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.value);
    EXPECT_EQ(Parse(std::string("[limits]\nmax_message_size = ") + k.value + "\n")
                  .limits.max_message_size,
              k.want);
  }
}

TEST(ConfigTest, DurationsAsIntegersOrStrings) {
  struct Case {
    const char* value;
    long want;
  } cases[] = {{"30", 30},        {"\"30s\"", 30},     {"\"5m\"", 300},   {"\"2h\"", 7200},
               {"\"1d\"", 86400}, {"\"1h30m\"", 5400}, {"\"1M30S\"", 90}, {"\"45\"", 45}};
  for (const auto& k : cases) {
    SCOPED_TRACE(k.value);
    EXPECT_EQ(Parse(std::string("[limits]\ndata_timeout = ") + k.value + "\n").limits.data_timeout,
              seconds(k.want));
  }
  EXPECT_EQ(Parse("[limits]\nshutdown_grace = 0\n").limits.shutdown_grace, seconds(0));
  EXPECT_EQ(Parse("[limits]\nshutdown_grace = \"0s\"\n").limits.shutdown_grace, seconds(0));
}

TEST(ConfigTest, ListenerAddresses) {
  struct Case {
    const char* address;
    const char* host;
    uint16_t port;
  } cases[] = {{":25", "", 25},
               {"127.0.0.1:2525", "127.0.0.1", 2525},
               {"[::1]:2587", "::1", 2587},
               {"[::]:1", "::", 1},
               {"0.0.0.0:65535", "0.0.0.0", 65535},
               {"[2001:db8::1]:25", "2001:db8::1", 25}};
  for (const auto& k : cases) {
    SCOPED_TRACE(k.address);
    const Config c = parse_config(
        std::string("[[listener]]\nkind = \"smtp\"\naddress = \"") + k.address + "\"\n", "t.toml");
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].address, k.address);
    EXPECT_EQ(c.listeners[0].host, k.host);
    EXPECT_EQ(c.listeners[0].port, k.port);
  }
}

TEST(ConfigTest, InlineListenerTables) {
  const Config c =
      parse_config("listener = [{kind = \"submission\", address = \"127.0.0.1:587\"}]\n", "t.toml");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].kind, ListenerKind::kSubmission);
}

struct ErrorCase {
  std::string toml;
  const char* want;  // the whole message
};

// Every error names the file, the line and column, and the key.
TEST(ConfigTest, ErrorsNameFileLineAndKey) {
  const std::string L = kListener;
  const ErrorCase cases[] = {
      // Unknown keys, at every level.
      {"hostnme = \"x\"\n", "t.toml:1:1: key 'hostnme': unknown key"},
      {"\n[limits]\nmax_recipient = 5\n", "t.toml:3:1: key 'limits.max_recipient': unknown key"},
      {"[tls]\ncert = \"a\"\n", "t.toml:2:1: key 'tls.cert': unknown key"},
      {"[[listener]]\nkind = \"smtp\"\naddress = \":25\"\nport = 25\n",
       "t.toml:4:1: key 'listener[0].port': unknown key"},
      {"[limit]\n", "t.toml:1:2: key 'limit': unknown key"},
      {"[dns]\nforwarders = []\n", "t.toml:2:1: key 'dns.forwarders': unknown key"},
      // Wrong types.
      {"hostname = 5\n", "t.toml:1:12: key 'hostname': must be a string, not an integer"},
      {"data_dir = [\"a\"]\n", "t.toml:1:12: key 'data_dir': must be a string, not an array"},
      {"domains = \"example.org\"\n",
       "t.toml:1:11: key 'domains': must be an array of strings, not a string"},
      {"domains = [\"a.org\", 7]\n",
       "t.toml:1:21: key 'domains': must be a string, not an integer"},
      {"accept_any_local_part = 1\n",
       "t.toml:1:25: key 'accept_any_local_part': must be a boolean (true or false), not an "
       "integer"},
      {"auth_cache = \"2d\"\n", "t.toml:1:14: key 'auth_cache': must be at most 1 day (\"1d\")"},
      {"vrfy = \"yes\"\n",
       "t.toml:1:8: key 'vrfy': must be a boolean (true or false), not a string"},
      {"trusted_networks = \"10.0.0.0/8\"\n",
       "t.toml:1:20: key 'trusted_networks': must be an array of strings, not a string"},
      {"bare_newline = false\n",
       "t.toml:1:16: key 'bare_newline': must be a string, not a boolean"},
      {"limits = 5\n", "t.toml:1:10: key 'limits': must be a table, not an integer"},
      {"tls = \"x\"\n", "t.toml:1:7: key 'tls': must be a table, not a string"},
      {"dns = []\n", "t.toml:1:7: key 'dns': must be a table, not an array"},
      {"[dns]\nforward = \"127.0.0.1\"\n",
       "t.toml:2:11: key 'dns.forward': must be an array of strings, not a string"},
      {"[dns]\nforward = [\"127.0.0.1\", 53]\n",
       "t.toml:2:25: key 'dns.forward': must be a string, not an integer"},
      {"[dns]\ntimeout = 0\n", "t.toml:2:11: key 'dns.timeout': must be from 1 to 86400 seconds"},
      {"[dns]\ntimeout = true\n",
       "t.toml:2:11: key 'dns.timeout': must be an integer (seconds) or a string such as "
       "\"5m\", not a boolean"},
      {"listener = 5\n",
       "t.toml:1:12: key 'listener': must be an array of tables ([[listener]]), not an integer"},
      {"[listener]\nkind = \"smtp\"\n",
       "t.toml:1:1: key 'listener': must be an array of tables ([[listener]]), not a table"},
      {"[limits]\nmax_recipients = 1.5\n",
       "t.toml:2:18: key 'limits.max_recipients': must be a positive integer, not a float"},
      {"[limits]\nmax_message_size = true\n",
       "t.toml:2:20: key 'limits.max_message_size': must be an integer (octets) or a string "
       "such as \"50M\", not a boolean"},
      {"[limits]\ncommand_timeout = 1.5\n",
       "t.toml:2:19: key 'limits.command_timeout': must be an integer (seconds) or a string "
       "such as \"5m\", not a float"},
      // Bad values.
      {"hostname = \"mail_host\"\n",
       "t.toml:1:12: key 'hostname': 'mail_host' is not a valid host name (letters, digits, "
       "hyphens, dot-separated)"},
      {"data_dir = \"\"\n", "t.toml:1:12: key 'data_dir': must not be empty"},
      {"domains = [\"ok.org\",\n  \"-bad.org\"]\n",
       "t.toml:2:3: key 'domains': '-bad.org' is not a valid domain name"},
      {"domains = [\"a..b\"]\n", "t.toml:1:12: key 'domains': 'a..b' is not a valid domain name"},
      {"trusted_networks = [\"10.0.0.0/33\"]\n",
       "t.toml:1:21: key 'trusted_networks': '10.0.0.0/33' is not an address or network such "
       "as \"192.0.2.0/24\" or \"2001:db8::/32\""},
      {"bare_newline = \"lf\"\n",
       "t.toml:1:16: key 'bare_newline': 'lf' is not allowed; use \"reject\" or \"normalize\""},
      {"[limits]\nmax_recipients = 0\n",
       "t.toml:2:18: key 'limits.max_recipients': must be a positive integer"},
      {"[limits]\nmax_recipients = -3\n",
       "t.toml:2:18: key 'limits.max_recipients': must be a positive integer"},
      {"[limits]\nmax_connections = 0\n",
       "t.toml:2:19: key 'limits.max_connections': must be a positive integer"},
      {"[limits]\nmax_connections_per_ip = 0\n",
       "t.toml:2:26: key 'limits.max_connections_per_ip': must be a positive integer"},
      {"[limits]\nmax_errors = 0\n",
       "t.toml:2:14: key 'limits.max_errors': must be a positive integer"},
      {"[limits]\nmax_auth_failures = 0\n",
       "t.toml:2:21: key 'limits.max_auth_failures': must be a positive integer"},
      {"[limits]\nmax_message_size = 0\n",
       "t.toml:2:20: key 'limits.max_message_size': must be a positive size in octets"},
      {"[limits]\nmax_message_size = \"50X\"\n",
       "t.toml:2:20: key 'limits.max_message_size': must be a positive size in octets such as "
       "10485760 or \"10M\" (units B, K, M, G; multiples of 1024)"},
      {"[limits]\nmax_message_size = \"99999999999999G\"\n",
       "t.toml:2:20: key 'limits.max_message_size': is too large"},
      {"[limits]\ncommand_timeout = 0\n",
       "t.toml:2:19: key 'limits.command_timeout': must be from 1 to 86400 seconds"},
      {"[limits]\ncommand_timeout = 86401\n",
       "t.toml:2:19: key 'limits.command_timeout': must be from 1 to 86400 seconds"},
      {"[limits]\ndata_timeout = \"0s\"\n",
       "t.toml:2:16: key 'limits.data_timeout': must be longer than 0 seconds"},
      {"[limits]\ndata_timeout = \"2d\"\n",
       "t.toml:2:16: key 'limits.data_timeout': must be at most 1 day (\"1d\")"},
      {"[limits]\ndata_timeout = \"5y\"\n",
       "t.toml:2:16: key 'limits.data_timeout': must be a duration such as 30 (seconds), "
       "\"30s\", \"5m\", \"1h30m\" (units s, m, h, d)"},
      {"[limits]\ndata_timeout = \"1m30\"\n",
       "t.toml:2:16: key 'limits.data_timeout': must be a duration such as 30 (seconds), "
       "\"30s\", \"5m\", \"1h30m\" (units s, m, h, d)"},
      {"[limits]\nshutdown_grace = -1\n",
       "t.toml:2:18: key 'limits.shutdown_grace': must be from 0 to 86400 seconds"},
      // TLS: both or neither.
      {"[tls]\ncertificate = \"c.pem\"\n",
       "t.toml:2:1: key 'tls.private_key': is required when tls.certificate is set (set both, "
       "or neither for a self-signed certificate)"},
      {"[tls]\nprivate_key = \"k.pem\"\n",
       "t.toml:2:1: key 'tls.certificate': is required when tls.private_key is set (set both, "
       "or neither for a self-signed certificate)"},
      {"[tls]\ncertificate = \"\"\nprivate_key = \"k.pem\"\n",
       "t.toml:2:15: key 'tls.certificate': must not be empty"},
      // TLS policy: checked against OpenSSL at load, each name on its own.
      {"[tls]\nmin_version = \"TLSv1.1\"\n",
       "t.toml:2:15: key 'tls.min_version': 'TLSv1.1' is not allowed; use \"TLSv1.2\" or "
       "\"TLSv1.3\""},
      {"[tls]\nciphers = \"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA265\"\n",
       "t.toml:2:11: key 'tls.ciphers': 'ECDHE-RSA-AES128-GCM-SHA265' is not a TLS 1.2 cipher "
       "known to OpenSSL"},
      {"[tls]\nciphers = \"!ALL\"\n",
       "t.toml:2:11: key 'tls.ciphers': no TLS 1.2 cipher matches '!ALL'"},
      {"[tls]\nciphers = \"\"\n", "t.toml:2:11: key 'tls.ciphers': must not be empty"},
      {"[tls]\nciphersuites = \"TLS_AES_256_GCM_SHA384:TLS_FOO\"\n",
       "t.toml:2:16: key 'tls.ciphersuites': 'TLS_FOO' is not a TLS 1.3 cipher suite known to "
       "OpenSSL (e.g. TLS_AES_256_GCM_SHA384)"},
      {"[tls]\ngroups = \"X25519:P-999\"\n",
       "t.toml:2:10: key 'tls.groups': 'P-999' is not a group known to OpenSSL (e.g. X25519, "
       "P-256)"},
      // Listeners.
      {"hostname = \"a.org\"\n",
       "t.toml:1:1: key 'listener': at least one [[listener]] is required"},
      {"[[listener]]\nkind = \"smpt\"\naddress = \":25\"\n",
       "t.toml:2:8: key 'listener[0].kind': 'smpt' is not a listener kind; use \"smtp\", "
       "\"submission\" or \"submissions\""},
      {"[[listener]]\naddress = \":25\"\n",
       "t.toml:1:1: key 'listener[0].kind': is required (\"smtp\", \"submission\" or "
       "\"submissions\")"},
      {L + "\n[[listener]]\nkind = \"smtp\"\n",
       "t.toml:5:1: key 'listener[1].address': is required (e.g. \"127.0.0.1:2525\")"},
      {"[[listener]]\nkind = \"smtp\"\naddress = \"::1:25\"\n",
       "t.toml:3:11: key 'listener[0].address': has an IPv6 address without brackets; write it "
       "as \"[::1]:25\""},
      {"[[listener]]\nkind = \"smtp\"\naddress = \"[::1:25\"\n",
       "t.toml:3:11: key 'listener[0].address': has an unterminated IPv6 bracket; write it as "
       "\"[::1]:25\""},
      {"[[listener]]\nkind = \"smtp\"\naddress = \"[::g]:25\"\n",
       "t.toml:3:11: key 'listener[0].address': has an invalid IPv6 address '::g'"},
      {"[[listener]]\nkind = \"smtp\"\naddress = \"127.0.0.1:0\"\n",
       "t.toml:3:11: key 'listener[0].address': has an invalid port '0': it must be a number "
       "from 1 to 65535"},
      {"[[listener]]\nkind = \"smtp\"\naddress = \"127.0.0.1:65536\"\n",
       "t.toml:3:11: key 'listener[0].address': has an invalid port '65536': it must be a "
       "number from 1 to 65535"},
      {"[[listener]]\nkind = \"smtp\"\naddress = \"127.0.0.1:2x5\"\n",
       "t.toml:3:11: key 'listener[0].address': has an invalid port '2x5': it must be a number "
       "from 1 to 65535"},
      {"[[listener]]\nkind = \"smtp\"\naddress = \"127.0.0.1\"\n",
       "t.toml:3:11: key 'listener[0].address': must be \"host:port\", e.g. \"127.0.0.1:25\", "
       "\"[::1]:25\" or \":25\" (all addresses)"},
      {"[[listener]]\nkind = \"smtp\"\naddress = \"localhost:25\"\n",
       "t.toml:3:11: key 'listener[0].address': has an invalid host 'localhost': it must be an "
       "IP address (IPv6 in brackets) or empty for all addresses"},
      {L + "[[listener]]\nkind = \"submission\"\naddress = \":25\"\n",
       "t.toml:6:11: key 'listener[1].address': ':25' is used by an earlier listener"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.toml);
    // Errors not about listeners must not depend on one being absent.
    std::string text = k.toml;
    if (text.find("listener") == std::string::npos &&
        text.find("hostname = \"a.org\"") == std::string::npos) {
      text += L;
    }
    EXPECT_EQ(ErrorOf(text), k.want);
  }
}

TEST(ConfigTest, AbuseLimits) {
  const Config c = Parse(
      "[limits]\nmax_connections_per_network = 7\nconnection_rate_per_ip = 0\n"
      "connection_rate_per_network = 9\nmessages_per_hour_per_ip = 10\n"
      "messages_per_hour_per_network = 11\nrecipients_per_hour_per_ip = 12\n"
      "recipients_per_hour_per_network = 13\nmessages_per_hour_per_user = 14\n"
      "recipients_per_hour_per_user = 15\noutbound_recipients_per_hour_per_user = 16\n"
      "loopback_exempt = false\nsession_timeout = \"30m\"\n");
  EXPECT_EQ(c.limits.max_connections_per_network, 7u);
  EXPECT_EQ(c.limits.connection_rate_per_ip, 0u);  // no limit
  EXPECT_EQ(c.limits.connection_rate_per_network, 9u);
  EXPECT_EQ(c.limits.messages_per_hour_per_ip, 10u);
  EXPECT_EQ(c.limits.messages_per_hour_per_network, 11u);
  EXPECT_EQ(c.limits.recipients_per_hour_per_ip, 12u);
  EXPECT_EQ(c.limits.recipients_per_hour_per_network, 13u);
  EXPECT_EQ(c.limits.messages_per_hour_per_user, 14u);
  EXPECT_EQ(c.limits.recipients_per_hour_per_user, 15u);
  EXPECT_EQ(c.limits.outbound_recipients_per_hour_per_user, 16u);
  EXPECT_FALSE(c.limits.loopback_exempt);
  EXPECT_EQ(c.limits.session_timeout, std::chrono::minutes(30));
  const Limits d;
  EXPECT_TRUE(d.loopback_exempt);
  EXPECT_EQ(d.session_timeout, std::chrono::hours(1));
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& k : {
           Case{"[limits]\nmessages_per_hour_per_ip = -1\n",
                "t.toml:2:28: key 'limits.messages_per_hour_per_ip': must be 0 (no limit) or more"},
           Case{"[limits]\nconnection_rate_per_ip = \"5\"\n",
                "t.toml:2:26: key 'limits.connection_rate_per_ip': must be an integer (0: no "
                "limit), not a string"},
           Case{"[limits]\nloopback_exempt = 1\n",
                "t.toml:2:19: key 'limits.loopback_exempt': must be a boolean (true or false), "
                "not an integer"},
           Case{"[limits]\nsession_timeout = 0\n",
                "t.toml:2:19: key 'limits.session_timeout': must be from 1 to 86400 seconds"},
       }) {
    try {
      Parse(k.text);
      ADD_FAILURE() << "no error for " << k.text;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), k.error) << k.text;
    }
  }
}

TEST(ConfigTest, QueueTable) {
  const QueueConfig d = Parse("").queue;
  EXPECT_EQ(d.retry.front(), seconds(300));
  EXPECT_EQ(d.retry.back(), seconds(4 * 3600));
  EXPECT_EQ(d.max_age, seconds(5 * 86400));
  EXPECT_EQ(d.delay_warning, seconds(4 * 3600));
  EXPECT_EQ(default_config().queue.max_age, d.max_age);

  const QueueConfig q = Parse(R"([queue]
retry = ["1m", 600, "1h30m"]
max_age = "7d"
delay_warning = 0
max_concurrency = 50
max_per_destination = 2
)")
                            .queue;
  EXPECT_EQ(q.retry, (std::vector<seconds>{seconds(60), seconds(600), seconds(5400)}));
  EXPECT_EQ(q.max_age, seconds(7 * 86400));
  EXPECT_EQ(q.delay_warning, seconds(0));  // no delay warnings
  EXPECT_EQ(q.max_concurrency, 50u);
  EXPECT_EQ(q.max_per_destination, 2u);
  EXPECT_EQ(Parse("[queue]\nmax_age = \"30d\"\n").queue.max_age, seconds(30 * 86400));
  EXPECT_EQ(Parse("[queue]\nmax_age = 2592000\n").queue.max_age, seconds(30 * 86400));
}

TEST(ConfigTest, QueueErrors) {
  const ErrorCase cases[] = {
      {"[queue]\nretries = []\n", "t.toml:2:1: key 'queue.retries': unknown key"},
      {"queue = 1\n", "t.toml:1:9: key 'queue': must be a table, not an integer"},
      {"[queue]\nretry = \"5m\"\n",
       "t.toml:2:9: key 'queue.retry': must be an array of durations, not a string"},
      {"[queue]\nretry = []\n", "t.toml:2:9: key 'queue.retry': must list at least one duration"},
      {"[queue]\nretry = [\"5m\", \"0s\"]\n",
       "t.toml:2:16: key 'queue.retry': must be longer than 0 seconds"},
      {"[queue]\nretry = [\"2d\"]\n",
       "t.toml:2:10: key 'queue.retry': must be at most 1 day (\"1d\")"},
      {"[queue]\nretry = [true]\n",
       "t.toml:2:10: key 'queue.retry': must be an integer (seconds) or a string such as \"5m\", "
       "not a boolean"},
      {"[queue]\nmax_age = \"31d\"\n",
       "t.toml:2:11: key 'queue.max_age': must be at most 30 days (\"30d\")"},
      {"[queue]\nmax_age = 0\n",
       "t.toml:2:11: key 'queue.max_age': must be from 1 to 2592000 seconds"},
      {"[queue]\ndelay_warning = -1\n",
       "t.toml:2:17: key 'queue.delay_warning': must be from 0 to 2592000 seconds"},
      {"[queue]\nmax_concurrency = 0\n",
       "t.toml:2:19: key 'queue.max_concurrency': must be a positive integer"},
      {"[queue]\nmax_per_destination = \"5\"\n",
       "t.toml:2:23: key 'queue.max_per_destination': must be a positive integer, not a string"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.toml);
    EXPECT_EQ(ErrorOf(k.toml + kListener), k.want);
  }
}

TEST(ConfigTest, SpfDefaultsAndKeys) {
  const Config d = Parse("");
  EXPECT_TRUE(d.spf.enabled);
  EXPECT_TRUE(d.spf.reject_fail);
  EXPECT_TRUE(d.spf.defer_temperror);
  EXPECT_FALSE(d.check_loopback);
  EXPECT_TRUE(default_config().spf.enabled);
  const Config c = Parse(
      "check_loopback = true\n[spf]\nenabled = false\non_fail = \"mark\"\n"
      "on_temperror = \"mark\"\n");
  EXPECT_FALSE(c.spf.enabled);
  EXPECT_FALSE(c.spf.reject_fail);
  EXPECT_FALSE(c.spf.defer_temperror);
  EXPECT_TRUE(c.check_loopback);
  const Config r = Parse("[spf]\non_fail = \"reject\"\non_temperror = \"defer\"\n");
  EXPECT_TRUE(r.spf.reject_fail);
  EXPECT_TRUE(r.spf.defer_temperror);
}

TEST(ConfigTest, DkimDmarcDefaultsAndKeys) {
  const Config d = Parse("hostname = \"mx.example.org\"\n");
  EXPECT_TRUE(d.dkim.verify);
  EXPECT_TRUE(d.dmarc.enabled);
  EXPECT_EQ(d.dmarc.on_reject, DmarcConfig::Action::kReject);
  EXPECT_EQ(d.dmarc.on_quarantine, DmarcConfig::Action::kQuarantine);
  EXPECT_FALSE(d.dmarc.reports);
  EXPECT_EQ(d.dmarc.report_org, "mx.example.org");
  EXPECT_EQ(d.dmarc.report_email, "postmaster@mx.example.org");
  EXPECT_TRUE(d.queue.fsync);
  const Config c = Parse(
      "[dkim]\nverify = false\n[dmarc]\nenabled = false\non_reject = \"quarantine\"\n"
      "on_quarantine = \"mark\"\nreports = true\nreport_org = \"Example\"\n"
      "report_email = \"dmarc@example.org\"\n[queue]\nfsync = false\nmin_free_space = \"2M\"\n");
  EXPECT_FALSE(c.dkim.verify);
  EXPECT_FALSE(c.dmarc.enabled);
  EXPECT_EQ(c.dmarc.on_reject, DmarcConfig::Action::kQuarantine);
  EXPECT_EQ(c.dmarc.on_quarantine, DmarcConfig::Action::kMark);
  EXPECT_TRUE(c.dmarc.reports);
  EXPECT_EQ(c.dmarc.report_org, "Example");
  EXPECT_EQ(c.dmarc.report_email, "dmarc@example.org");
  EXPECT_FALSE(c.queue.fsync);
  EXPECT_EQ(c.queue.min_free_space, 2u * 1024 * 1024);
  EXPECT_EQ(Parse("[queue]\nmin_free_space = 0\n").queue.min_free_space, 0u);
  EXPECT_EQ(ErrorOf("[queue]\nmin_free_space = -1\n" + std::string(kListener)),
            "t.toml:2:18: key 'queue.min_free_space': must be a positive size in octets");
}

TEST(ConfigTest, DkimDmarcErrors) {
  const ErrorCase cases[] = {
      {"[dkim]\nsign = true\n", "t.toml:2:1: key 'dkim.sign': unknown key"},
      {"[dmarc]\non_quarantine = \"reject\"\n",
       "t.toml:2:17: key 'dmarc.on_quarantine': 'reject' is not allowed; use \"quarantine\" or "
       "\"mark\""},
      {"[dmarc]\non_reject = \"drop\"\n",
       "t.toml:2:13: key 'dmarc.on_reject': 'drop' is not allowed; use \"reject\", "
       "\"quarantine\" or \"mark\""},
      {"[dmarc]\nreport_email = \"postmaster\"\n",
       "t.toml:2:16: key 'dmarc.report_email': 'postmaster' is not an email address"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.toml);
    EXPECT_EQ(ErrorOf(k.toml + kListener), k.want);
  }
}

TEST(ConfigTest, TlsRpt) {
  const Config d = Parse("hostname = \"mx.example.org\"\n");
  EXPECT_FALSE(d.tls_rpt.enabled);
  EXPECT_EQ(d.tls_rpt.organization, "mx.example.org");
  EXPECT_EQ(d.tls_rpt.contact, "postmaster@mx.example.org");
  EXPECT_EQ(d.tls_rpt.report_hour, 1);
  EXPECT_EQ(d.tls_rpt.check_every, std::chrono::hours(1));
  const Config c = Parse(
      "[tls_rpt]\nenabled = true\norganization = \"Example\"\ncontact = \"tls@example.org\"\n"
      "report_hour = 0\ncheck_every = \"5s\"\nca_file = \"/tmp/ca.pem\"\n");
  EXPECT_TRUE(c.tls_rpt.enabled);
  EXPECT_EQ(c.tls_rpt.organization, "Example");
  EXPECT_EQ(c.tls_rpt.contact, "tls@example.org");
  EXPECT_EQ(c.tls_rpt.report_hour, 0);
  EXPECT_EQ(c.tls_rpt.check_every, std::chrono::seconds(5));
  EXPECT_EQ(c.tls_rpt.ca_file, "/tmp/ca.pem");
  const ErrorCase cases[] = {
      {"[tls_rpt]\nreport = true\n", "t.toml:2:1: key 'tls_rpt.report': unknown key"},
      {"[tls_rpt]\nreport_hour = 24\n",
       "t.toml:2:15: key 'tls_rpt.report_hour': must be an hour from 0 to 23 (UTC)"},
      {"[tls_rpt]\ncontact = \"me\"\n",
       "t.toml:2:11: key 'tls_rpt.contact': 'me' is not an email address"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.toml);
    EXPECT_EQ(ErrorOf(k.toml + kListener), k.want);
  }
}

TEST(ConfigTest, SpfErrors) {
  const ErrorCase cases[] = {
      {"[spf]\non_softfail = \"reject\"\n", "t.toml:2:1: key 'spf.on_softfail': unknown key"},
      {"spf = true\n", "t.toml:1:7: key 'spf': must be a table, not a boolean"},
      {"[spf]\nenabled = \"yes\"\n",
       "t.toml:2:11: key 'spf.enabled': must be a boolean (true or false), not a string"},
      {"[spf]\non_fail = \"defer\"\n",
       "t.toml:2:11: key 'spf.on_fail': 'defer' is not allowed; use \"reject\" or \"mark\""},
      {"[spf]\non_temperror = \"reject\"\n",
       "t.toml:2:16: key 'spf.on_temperror': 'reject' is not allowed; use \"defer\" or \"mark\""},
      {"[spf]\non_fail = 1\n", "t.toml:2:11: key 'spf.on_fail': must be a string, not an integer"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.toml);
    EXPECT_EQ(ErrorOf(k.toml + kListener), k.want);
  }
}

TEST(ConfigTest, DnsForwarders) {
  for (const char* ok :
       {"192.0.2.53", "127.0.0.1@5353", "::1", "::1@53", "2001:db8::53@65535", "0.0.0.0@1"}) {
    SCOPED_TRACE(ok);
    EXPECT_EQ(Parse(std::string("[dns]\nforward = [\"") + ok + "\"]\n").dns.forward,
              std::vector<std::string>{ok});
  }
  for (const char* bad : {"", "dns.example", "192.0.2.53:53", "[::1]", "[::1]@53", "127.0.0.1@",
                          "127.0.0.1@0", "127.0.0.1@65536", "127.0.0.1@53x", "127.0.0.1@@53",
                          "256.0.0.1", "fe80::1%eth0", " 127.0.0.1"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ErrorOf(std::string("[dns]\nforward = [\"") + bad + "\"]\n" + kListener),
              std::string("t.toml:2:12: key 'dns.forward': '") + bad +
                  "' is not a server address such as \"192.0.2.53\", \"2001:db8::53\" or "
                  "\"127.0.0.1@5353\"");
  }
  EXPECT_TRUE(Parse("[dns]\nforward = []\n").dns.forward.empty());
  EXPECT_EQ(Parse("[dns]\ntimeout = 3\n").dns.timeout, seconds(3));
}

TEST(ConfigTest, DnssecAndTlsPolicies) {
  Config c = Parse("");
  EXPECT_TRUE(c.dns.dnssec);  // DANE by default (docs/tls.md)
  EXPECT_EQ(c.dns.trust_anchor, "/usr/share/dns/root.key");
  c = Parse("[dns]\ndnssec = false\ntrust_anchor = \"/tmp/t.key\"\n");
  EXPECT_FALSE(c.dns.dnssec);
  EXPECT_EQ(c.dns.trust_anchor, "/tmp/t.key");
  c = Parse(
      "[[tls_policy]]\ndomain = \"Example.ORG\"\nlevel = \"verify\"\n"
      "match = [\"hostname\", \"nexthop\", \".Example.net\"]\n"
      "[[tls_policy]]\ndomain = \".example.net\"\nlevel = \"dane-only\"\n");
  ASSERT_EQ(c.tls_policies.size(), 2u);
  EXPECT_EQ(c.tls_policies[0].domain, "example.org");
  EXPECT_EQ(c.tls_policies[0].level, "verify");
  EXPECT_EQ(c.tls_policies[0].match,
            (std::vector<std::string>{"hostname", "nexthop", ".example.net"}));
  EXPECT_EQ(c.tls_policies[1].domain, ".example.net");
  EXPECT_EQ(c.tls_policies[1].level, "dane-only");
  EXPECT_TRUE(c.tls_policies[1].next_hop_host.empty());
  // Next-hop entries (Postfix's "[host]" and "[host]:port" keys); the same
  // host with and without a port are two entries.
  c = Parse(
      "[[tls_policy]]\nnext_hop = \"[MX1.Example.NET]\"\nlevel = \"encrypt\"\n"
      "[[tls_policy]]\nnext_hop = \"[mx1.example.net]:2525\"\nlevel = \"verify\"\n"
      "match = [\"nexthop\"]\n");
  ASSERT_EQ(c.tls_policies.size(), 2u);
  EXPECT_EQ(c.tls_policies[0].domain, "");
  EXPECT_EQ(c.tls_policies[0].next_hop_host, "mx1.example.net");
  EXPECT_EQ(c.tls_policies[0].next_hop_port, 0);
  EXPECT_EQ(c.tls_policies[0].level, "encrypt");
  EXPECT_EQ(c.tls_policies[1].next_hop_host, "mx1.example.net");
  EXPECT_EQ(c.tls_policies[1].next_hop_port, 2525);
  // A smarthost of another name leaves next-hop entries alone.
  c = Parse(
      "[relay]\nsmarthost = \"smtp.example.net\"\n"
      "[[tls_policy]]\nnext_hop = \"[mx1.example.net]\"\nlevel = \"encrypt\"\n");
  EXPECT_EQ(c.tls_policies.size(), 1u);
}

TEST(ConfigTest, TlsPolicyErrors) {
  const std::string entry = "[[tls_policy]]\n";
  for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
           {entry + "domain = \"x.org\"\nlevel = \"fingerprint\"\n",
            "t.toml:3:9: key 'tls_policy[0].level': 'fingerprint' is not a level; use \"none\", "
            "\"may\", \"encrypt\", \"dane\", \"dane-only\", \"verify\" or \"secure\""},
           {entry + "level = \"may\"\n", "key 'tls_policy[0].domain': is required"},
           {entry + "domain = \"x.org\"\n", "key 'tls_policy[0].level': is required"},
           {entry + "domain = \"not a domain\"\nlevel = \"may\"\n",
            "t.toml:2:10: key 'tls_policy[0].domain': 'not a domain' is not a domain name "
            "(\".example.org\" for its subdomains)"},
           {entry + "domain = \"x.org\"\nlevel = \"may\"\n" + entry +
                "domain = \"X.org\"\nlevel = \"none\"\n",
            "t.toml:5:10: key 'tls_policy[1].domain': 'x.org' has an earlier [[tls_policy]]"},
           {entry + "domain = \"x.org\"\nlevel = \"encrypt\"\nmatch = [\"hostname\"]\n",
            "key 'tls_policy[0].match': applies to levels \"verify\" and \"secure\" only"},
           {entry + "domain = \"x.org\"\nlevel = \"verify\"\nmatch = [\"a b\"]\n",
            "t.toml:4:10: key 'tls_policy[0].match': 'a b' is not \"hostname\", \"nexthop\", "
            "\"dot-nexthop\" or a domain name"},
           {entry + "domain = \"x.org\"\nlevel = \"may\"\nnext_hop = \"[mx.x.org]:25\"\n",
            "key 'tls_policy[0].next_hop': cannot be used with domain in one entry"},
           {entry + "level = \"may\"\nfoo = 1\n",
            "t.toml:3:1: key 'tls_policy[0].foo': unknown key (domain, next_hop, level, match)"},
           {entry + "next_hop = \"mx.x.org\"\nlevel = \"may\"\n",
            "t.toml:2:12: key 'tls_policy[0].next_hop': 'mx.x.org' must be \"[host]\" or "
            "\"[host]:port\""},
           {entry + "next_hop = \"[mx.x.org\"\nlevel = \"may\"\n",
            "key 'tls_policy[0].next_hop': '[mx.x.org' has '[' without ']'"},
           {entry + "next_hop = \"[192.0.2.1]\"\nlevel = \"may\"\n",
            "'[192.0.2.1]' '192.0.2.1' is an address; next_hop names an MX host by its name"},
           {entry + "next_hop = \"[mx.x.org]:0\"\nlevel = \"may\"\n",
            "'[mx.x.org]:0' '0' is not a port (1-65535)"},
           {entry + "next_hop = \"[mx.x.org]:25x\"\nlevel = \"may\"\n",
            "'25x' is not a port (1-65535)"},
           {entry + "next_hop = \"[a b]\"\nlevel = \"may\"\n", "'a b' is not a host name"},
           {entry + "next_hop = \"[MX.x.org]:26\"\nlevel = \"may\"\n" + entry +
                "next_hop = \"[mx.x.org]:26\"\nlevel = \"none\"\n",
            "t.toml:5:12: key 'tls_policy[1].next_hop': '[mx.x.org]:26' has an earlier "
            "[[tls_policy]]"},
           {"[dns]\ndnssec = false\n" + entry +
                "next_hop = \"[mx.x.org]\"\nlevel = \"dane-only\"\n",
            "level \"dane-only\" for next_hop [mx.x.org] needs DNSSEC"},
           {"[relay]\nsmarthost = \"Smtp.Example.NET:587\"\n" + entry +
                "next_hop = \"[smtp.example.net]\"\nlevel = \"encrypt\"\n",
            "key 'tls_policy': next_hop [smtp.example.net] names the smarthost, whose TLS is set "
            "in [relay] (security, ca_file) and always required and verified"},
           {"[dns]\ndnssec = false\n" + entry + "domain = \"x.org\"\nlevel = \"dane\"\n",
            "key 'tls_policy': level \"dane\" for x.org needs DNSSEC ([dns] dnssec = true)"},
           {"tls_policy = 1\n",
            "t.toml:1:14: key 'tls_policy': must be an array of tables ([[tls_policy]]), not an "
            "integer"},
       }) {
    SCOPED_TRACE(text);
    const std::string e = ErrorOf(text + kListener);
    EXPECT_NE(e.find(want), std::string::npos) << e;
  }
}

TEST(ConfigTest, SyntaxErrorNamesFileLineAndColumn) {
  const std::string e = ErrorOf("vrfy = true\nhostname = \n");
  EXPECT_EQ(e.rfind("t.toml:2:", 0), 0u) << e;
  EXPECT_NE(e.find("TOML syntax error"), std::string::npos) << e;
  const std::string dup = ErrorOf("vrfy = true\nvrfy = false\n");
  EXPECT_EQ(dup.rfind("t.toml:2:", 0), 0u) << dup;
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(ConfigFileTest, LoadsAFile) {
  const std::string path = Write("tern.toml", std::string("vrfy = true\n") + kListener);
  const Config c = load_config(path);
  EXPECT_EQ(c.source, path);
  EXPECT_TRUE(c.vrfy);
}

TEST_F(ConfigFileTest, ErrorsNameTheFilePath) {
  const std::string path = Write("bad.toml", std::string("\n\nvrfy = 3\n") + kListener);
  try {
    load_config(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ":3:8: key 'vrfy': must be a boolean (true or false), not an integer");
  }
}

TEST_F(ConfigFileTest, MissingFile) {
  const std::string path = dir_ + "/absent.toml";
  try {
    load_config(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot open: No such file or directory");
  }
}

// The example must stay loadable and document the real defaults.
TEST(ConfigTest, ExampleFileHasTheDefaults) {
  const auto path = std::filesystem::path(TERN_SOURCE_DIR) / "examples/tern.toml";
  const Config c = load_config(path.string());
  const Config d = default_config();
  const Limits l;
  EXPECT_EQ(c.data_dir, d.data_dir);
  EXPECT_EQ(c.domains, d.domains);
  EXPECT_FALSE(c.accept_any_local_part);  // a file's default; the embedded one says true
  EXPECT_EQ(c.run_as, "");                // commented out: unset
  ASSERT_EQ(c.listeners.size(), d.listeners.size());
  for (size_t i = 0; i < c.listeners.size(); ++i) {
    EXPECT_EQ(c.listeners[i].kind, d.listeners[i].kind);
    EXPECT_EQ(c.listeners[i].address, d.listeners[i].address);
  }
  EXPECT_EQ(c.tls_certificate, "");
  const TlsSettings tls;
  EXPECT_EQ(c.tls.min_version, tls.min_version);
  EXPECT_EQ(c.tls.ciphers, tls.ciphers);
  EXPECT_EQ(c.tls.ciphersuites, tls.ciphersuites);
  EXPECT_EQ(c.tls.groups, tls.groups);
  EXPECT_EQ(c.trusted_networks, d.trusted_networks);
  EXPECT_EQ(c.bare_newline, d.bare_newline);
  EXPECT_EQ(c.vrfy, d.vrfy);
  EXPECT_EQ(c.limits.max_message_size, l.max_message_size);
  EXPECT_EQ(c.limits.max_recipients, l.max_recipients);
  EXPECT_EQ(c.limits.max_connections, l.max_connections);
  EXPECT_EQ(c.limits.max_connections_per_ip, l.max_connections_per_ip);
  EXPECT_EQ(c.limits.max_errors, l.max_errors);
  EXPECT_EQ(c.limits.max_commands_without_message, l.max_commands_without_message);
  EXPECT_EQ(c.limits.max_auth_failures, l.max_auth_failures);
  EXPECT_EQ(c.limits.command_timeout, l.command_timeout);
  EXPECT_EQ(c.limits.data_timeout, l.data_timeout);
  EXPECT_EQ(c.limits.shutdown_grace, l.shutdown_grace);
  EXPECT_EQ(c.limits.session_timeout, l.session_timeout);
  EXPECT_EQ(c.limits.max_connections_per_network, l.max_connections_per_network);
  EXPECT_EQ(c.limits.connection_rate_per_ip, l.connection_rate_per_ip);
  EXPECT_EQ(c.limits.connection_rate_per_network, l.connection_rate_per_network);
  EXPECT_EQ(c.limits.messages_per_hour_per_ip, l.messages_per_hour_per_ip);
  EXPECT_EQ(c.limits.messages_per_hour_per_network, l.messages_per_hour_per_network);
  EXPECT_EQ(c.limits.recipients_per_hour_per_ip, l.recipients_per_hour_per_ip);
  EXPECT_EQ(c.limits.recipients_per_hour_per_network, l.recipients_per_hour_per_network);
  EXPECT_EQ(c.limits.messages_per_hour_per_user, l.messages_per_hour_per_user);
  EXPECT_EQ(c.limits.recipients_per_hour_per_user, l.recipients_per_hour_per_user);
  EXPECT_EQ(c.limits.outbound_recipients_per_hour_per_user,
            l.outbound_recipients_per_hour_per_user);
  EXPECT_EQ(c.limits.loopback_exempt, l.loopback_exempt);
  const DnsConfig dns;
  EXPECT_EQ(c.dns.forward, dns.forward);
  EXPECT_EQ(c.dns.timeout, dns.timeout);
  EXPECT_EQ(c.dns.dnssec, dns.dnssec);
  EXPECT_EQ(c.dns.trust_anchor, dns.trust_anchor);
  EXPECT_TRUE(c.tls_policies.empty());  // the example's entry is commented out
  const QueueConfig q;
  EXPECT_EQ(c.queue.retry, q.retry);
  EXPECT_EQ(c.queue.max_age, q.max_age);
  EXPECT_EQ(c.queue.delay_warning, q.delay_warning);
  EXPECT_EQ(c.queue.max_concurrency, q.max_concurrency);
  EXPECT_EQ(c.queue.max_per_destination, q.max_per_destination);
  EXPECT_EQ(c.queue.fsync, q.fsync);
  EXPECT_EQ(c.queue.min_free_space, q.min_free_space);
  EXPECT_EQ(c.check_loopback, d.check_loopback);
  const RelayConfig relay;
  EXPECT_EQ(c.relay.sender_check, relay.sender_check);
  EXPECT_EQ(c.relay.srs, relay.srs);
  EXPECT_EQ(c.relay.max_messages_per_connection, relay.max_messages_per_connection);
  EXPECT_EQ(c.relay.trace_tls, relay.trace_tls);
  const SpfConfig spf;
  EXPECT_EQ(c.spf.enabled, spf.enabled);
  EXPECT_EQ(c.spf.reject_fail, spf.reject_fail);
  EXPECT_EQ(c.spf.defer_temperror, spf.defer_temperror);
  EXPECT_EQ(c.dkim.verify, DkimConfig{}.verify);
  const DmarcConfig dmarc;
  EXPECT_EQ(c.dmarc.enabled, dmarc.enabled);
  EXPECT_EQ(c.dmarc.on_reject, dmarc.on_reject);
  EXPECT_EQ(c.dmarc.on_quarantine, dmarc.on_quarantine);
  EXPECT_EQ(c.dmarc.reports, dmarc.reports);
}

TEST(ConfigTest, LocalDomainsAreCaseInsensitive) {
  const Config c = Parse("domains = [\"Example.org\", \"example.net\"]\n");
  EXPECT_TRUE(is_local_domain(c, "example.org"));
  EXPECT_TRUE(is_local_domain(c, "EXAMPLE.NET"));
  EXPECT_FALSE(is_local_domain(c, "example.com"));
  EXPECT_FALSE(is_local_domain(c, "org"));
  EXPECT_FALSE(is_local_domain(c, ""));
}

TEST(ConfigTest, ListenerKindNames) {
  EXPECT_STREQ(listener_kind_name(ListenerKind::kSmtp), "smtp");
  EXPECT_STREQ(listener_kind_name(ListenerKind::kSubmission), "submission");
  EXPECT_STREQ(listener_kind_name(ListenerKind::kSubmissions), "submissions");
}

TEST(ConfigTest, DomainNames) {
  for (const char* ok :
       {"localhost", "example.org", "a-b.c0", "xn--bcher-kva.example", "A.B", "1.2.3.4"}) {
    EXPECT_TRUE(is_valid_domain(ok)) << ok;
  }
  const std::string label63(63, 'a');
  EXPECT_TRUE(is_valid_domain(label63 + ".org"));
  EXPECT_FALSE(is_valid_domain(label63 + "a.org"));
  for (const char* bad :
       {"", ".", "a.", ".a", "a..b", "-a.org", "a-.org", "a_b.org", "a b", "bücher.example"}) {
    EXPECT_FALSE(is_valid_domain(bad)) << bad;
  }
  std::string long_name;
  while (long_name.size() < 254) long_name += "abcdefgh.";
  long_name.resize(254);
  if (long_name.back() == '.') long_name.back() = 'a';
  EXPECT_FALSE(is_valid_domain(long_name));
}

TEST(ConfigTest, RelayDefaults) {
  const Config c = Parse("hostname = \"mx.example.org\"\n");
  EXPECT_EQ(c.relay.port, 25);
  EXPECT_TRUE(c.relay.smarthost.empty());
  EXPECT_TRUE(c.relay.sender_check);
  EXPECT_TRUE(c.relay.srs);
  EXPECT_EQ(c.relay.srs_domain, "mx.example.org");
  EXPECT_TRUE(c.relay.etrn_networks.empty());
  EXPECT_EQ(c.relay.connect_timeout, seconds(30));
  EXPECT_EQ(c.relay.command_timeout, seconds(300));
  EXPECT_EQ(c.relay.data_timeout, seconds(600));
}

TEST(ConfigTest, RelayKeys) {
  const Config c = Parse(R"([relay]
port = 2525
smarthost = "smtp.provider.example"
security = "tls"
user = "me"
password_file = "/etc/tern/relay.pw"
ca_file = "/etc/ssl/provider.pem"
connect_timeout = "10s"
command_timeout = "1m"
data_timeout = "2m"
max_messages_per_connection = 7
trace_tls = false
sender_check = false
srs = false
srs_domain = "srs.example.org"
etrn_networks = ["192.0.2.0/24"]
)");
  EXPECT_EQ(c.relay.port, 2525);
  EXPECT_EQ(c.relay.smarthost_host, "smtp.provider.example");
  EXPECT_EQ(c.relay.smarthost_port, 465);  // security = "tls"
  EXPECT_EQ(c.relay.security, RelayConfig::Security::kTls);
  EXPECT_EQ(c.relay.user, "me");
  EXPECT_EQ(c.relay.password_file, "/etc/tern/relay.pw");
  EXPECT_EQ(c.relay.ca_file, "/etc/ssl/provider.pem");
  EXPECT_EQ(c.relay.connect_timeout, seconds(10));
  EXPECT_EQ(c.relay.command_timeout, seconds(60));
  EXPECT_EQ(c.relay.data_timeout, seconds(120));
  EXPECT_EQ(c.relay.max_messages_per_connection, 7u);
  EXPECT_FALSE(c.relay.trace_tls);
  EXPECT_FALSE(c.relay.sender_check);
  EXPECT_FALSE(c.relay.srs);
  EXPECT_EQ(c.relay.srs_domain, "srs.example.org");
  EXPECT_EQ(c.relay.etrn_networks, std::vector<std::string>{"192.0.2.0/24"});
}

TEST(ConfigTest, SmarthostForms) {
  Config c = Parse("[relay]\nsmarthost = \"smtp.example.net:2525\"\n");
  EXPECT_EQ(c.relay.smarthost_host, "smtp.example.net");
  EXPECT_EQ(c.relay.smarthost_port, 2525);
  c = Parse("[relay]\nsmarthost = \"smtp.example.net\"\n");
  EXPECT_EQ(c.relay.smarthost_port, 587);
  c = Parse("[relay]\nsmarthost = \"[127.0.0.2]:25\"\n");
  EXPECT_EQ(c.relay.smarthost_host, "127.0.0.2");
  EXPECT_EQ(c.relay.smarthost_port, 25);
  c = Parse("[relay]\nsmarthost = \"[::1]\"\n");
  EXPECT_EQ(c.relay.smarthost_host, "::1");
}

TEST(ConfigTest, RelayErrors) {
  EXPECT_EQ(ErrorOf("[relay]\nsmarthost = \"a..b\"\n"),
            "t.toml:2:13: key 'relay.smarthost': 'a..b' is not a valid host name");
  EXPECT_EQ(ErrorOf("[relay]\nsmarthost = \"[1.2.3]:25\"\n"),
            "t.toml:2:13: key 'relay.smarthost': '1.2.3' is not an IP address");
  EXPECT_EQ(ErrorOf("[relay]\nsmarthost = \"h.example:70000\"\n"),
            "t.toml:2:13: key 'relay.smarthost': has a port out of range");
  EXPECT_EQ(ErrorOf("[relay]\nport = 0\n"),
            "t.toml:2:8: key 'relay.port': must be a positive integer");
  EXPECT_EQ(ErrorOf("[relay]\nsecurity = \"ssl\"\n"),
            "t.toml:2:12: key 'relay.security': 'ssl' is not allowed; use \"starttls\" or \"tls\"");
  EXPECT_EQ(ErrorOf("[relay]\nuser = \"me\"\n" + std::string(kListener)),
            "t.toml:1:1: key 'relay.user': is only used with relay.smarthost");
  EXPECT_EQ(ErrorOf("[relay]\netrn_networks = [\"x\"]\n"),
            "t.toml:2:18: key 'relay.etrn_networks': 'x' is not an address or network such as "
            "\"192.0.2.0/24\"");
  EXPECT_EQ(ErrorOf("[relay]\nbogus = 1\n"), "t.toml:2:1: key 'relay.bogus': unknown key");
}

TEST(ConfigTest, RunAs) {
  EXPECT_EQ(Parse("").run_as, "");  // unset: server/privileges.h decides
  EXPECT_EQ(default_config().run_as, "");
  EXPECT_EQ(Parse("run_as = \"tern\"\n").run_as, "tern");
  EXPECT_EQ(Parse("run_as = \"root\"\n").run_as, "root");
  EXPECT_EQ(ErrorOf("run_as = \"\"\n"), "t.toml:1:10: key 'run_as': must not be empty");
  EXPECT_EQ(ErrorOf("run_as = 0\n"), "t.toml:1:10: key 'run_as': must be a string, not an integer");
}

// Off unless asked for; on, loopback unless an address says otherwise.
TEST(ConfigTest, Metrics) {
  EXPECT_EQ(Parse("").metrics.listen, "");
  EXPECT_EQ(default_config().metrics.listen, "");
  EXPECT_EQ(Parse("[metrics]\n").metrics.listen, "127.0.0.1:9325");
  EXPECT_EQ(Parse("[metrics]\nlisten = \"9400\"\n").metrics.listen, "127.0.0.1:9400");
  EXPECT_EQ(Parse("[metrics]\nlisten = \"[::1]:9400\"\n").metrics.listen, "[::1]:9400");
  EXPECT_EQ(Parse("[metrics]\nlisten = \"0.0.0.0:9325\"\n").metrics.listen, "0.0.0.0:9325");
  EXPECT_EQ(ErrorOf("[metrics]\nlisten = \"localhost\"\n"),
            "t.toml:2:10: key 'metrics.listen': must be \"host:port\", e.g. \"127.0.0.1:25\", "
            "\"[::1]:25\" or \":25\" (all addresses)");
  EXPECT_EQ(ErrorOf("[metrics]\nlisten = \"127.0.0.1:99999\"\n"),
            "t.toml:2:10: key 'metrics.listen': has an invalid port '99999': it must be a number "
            "from 1 to 65535");
  const Config c = Parse("[metrics]\nlisten = \"[::1]:9400\"\n");
  EXPECT_EQ(c.metrics.host, "::1");
  EXPECT_EQ(c.metrics.port, 9400);
  EXPECT_EQ(Parse("[metrics]\n").metrics.host, "127.0.0.1");
  EXPECT_EQ(ErrorOf("[metrics]\nport = 1\n"), "t.toml:2:1: key 'metrics.port': unknown key");
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

TEST(ConfigDelivery, MaildirByDefault) {
  const Config c = Parse("");
  EXPECT_EQ(lmtp_route(c.delivery, "alice@example.com"), "");
  EXPECT_EQ(c.auth.backend, AuthConfig::Backend::kUsers);
  EXPECT_EQ(c.auth.dovecot_socket, "/run/dovecot/auth-client");
}

TEST(ConfigDelivery, LmtpWithDomainAndUserOverrides) {
  const Config c = Parse(R"(
[delivery]
lmtp = "unix:/run/dovecot/lmtp"
lmtp_timeout = "1m"
lmtp_idle = 0
lmtp_max_messages_per_connection = 7
[delivery.domains]
"Other.Example" = "tcp:127.0.0.1:24"
"files.example" = "maildir"
[delivery.users]
"Carol@Example.com" = "maildir"
"dave@files.example" = "tcp:[::1]:2424"
)");
  EXPECT_EQ(c.delivery.lmtp_timeout, seconds(60));
  EXPECT_EQ(c.delivery.lmtp_idle, seconds(0));
  EXPECT_EQ(c.delivery.lmtp_max_messages_per_connection, 7u);
  EXPECT_EQ(lmtp_route(c.delivery, "alice@example.com"), "unix:/run/dovecot/lmtp");
  EXPECT_EQ(lmtp_route(c.delivery, "bob@other.example"), "tcp:127.0.0.1:24");
  EXPECT_EQ(lmtp_route(c.delivery, "eve@FILES.example"), "");
  EXPECT_EQ(lmtp_route(c.delivery, "carol@example.com"), "");  // the user wins
  EXPECT_EQ(lmtp_route(c.delivery, "Dave@files.example"), "tcp:[::1]:2424");
}

TEST(ConfigDelivery, BadValuesSayWhy) {
  EXPECT_NE(ErrorOf("[delivery]\nlmtp = \"/run/dovecot/lmtp\"\n")
                .find("key 'delivery.lmtp': '/run/dovecot/lmtp' is not \"maildir\" or an LMTP "
                      "address: must start with \"unix:\" or \"tcp:\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("[delivery.users]\n\"a@b.c\" = \"tcp:localhost:24\"\n")
                .find("key 'delivery.users.a@b.c'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[delivery]\nlmpt = \"unix:/x\"\n").find("unknown key"), std::string::npos);
}

TEST(ConfigAuth, DovecotBackend) {
  const Config c = Parse(R"(
[auth]
backend = "dovecot"
dovecot_socket = "/var/spool/postfix/private/auth"
dovecot_timeout = "5s"
)");
  EXPECT_EQ(c.auth.backend, AuthConfig::Backend::kDovecot);
  EXPECT_EQ(c.auth.dovecot_socket, "/var/spool/postfix/private/auth");
  EXPECT_EQ(c.auth.dovecot_timeout, seconds(5));
  EXPECT_NE(ErrorOf("[auth]\nbackend = \"ldap\"\n").find("use \"users\" or \"dovecot\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("[auth]\ndovecot_socket = \"auth-client\"\n").find("absolute path"),
            std::string::npos);
}

TEST(ConfigTest, AcmeDefaultsAndKeys) {
  const Config d = Parse("");
  EXPECT_FALSE(d.acme.enabled);
  EXPECT_EQ(d.acme.directory, "https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(d.acme.listen, ":80");
  EXPECT_EQ(d.acme.retry_min, seconds(60));
  EXPECT_EQ(d.acme.renew_after, seconds(0));
  const Config c = Parse(
      "[acme]\nenabled = true\ndirectory = \"https://127.0.0.1:14000/dir\"\n"
      "email = \"postmaster@example.test\"\nnames = [\"Mail.Example.Test\"]\n"
      "listen = \"127.0.0.1:5002\"\nca_file = \"/tmp/pebble.pem\"\nretry_min = \"5s\"\n"
      "renew_after = \"1h\"\n");
  EXPECT_TRUE(c.acme.enabled);
  EXPECT_EQ(c.acme.directory, "https://127.0.0.1:14000/dir");
  EXPECT_EQ(c.acme.email, "postmaster@example.test");
  EXPECT_EQ(c.acme.names, std::vector<std::string>{"mail.example.test"});
  EXPECT_EQ(c.acme.listen, "127.0.0.1:5002");
  EXPECT_EQ(c.acme.ca_file, "/tmp/pebble.pem");
  EXPECT_EQ(c.acme.retry_min, seconds(5));
  EXPECT_EQ(c.acme.renew_after, seconds(3600));
}

TEST(ConfigTest, TlsReloadCheck) {
  EXPECT_EQ(Parse("").tls_reload_check, seconds(60));
  EXPECT_EQ(Parse("[tls]\nreload_check = \"5s\"\n").tls_reload_check, seconds(5));
  EXPECT_EQ(Parse("[tls]\nreload_check = 0\n").tls_reload_check, seconds(0));
}

TEST(ConfigTest, AcmeErrors) {
  const ErrorCase cases[] = {
      {"[acme]\ndirectory = \"http://ca/dir\"\n",
       "t.toml:2:13: key 'acme.directory': must be an https:// URL (RFC 8555 6.1)"},
      {"[acme]\nemail = \"nobody\"\n",
       "t.toml:2:9: key 'acme.email': 'nobody' is not an email address"},
      {"[acme]\nnames = [\"bad name\"]\n",
       "t.toml:2:10: key 'acme.names': 'bad name' is not a valid host name"},
      {"[acme]\nlisten = \"80\"\n",
       "t.toml:2:10: key 'acme.listen': must be \"host:port\", e.g. \"127.0.0.1:25\", "
       "\"[::1]:25\" or \":25\" (all addresses)"},
      {"[acme]\nport = 80\n", "t.toml:2:1: key 'acme.port': unknown key"},
      {"[tls]\ncertificate = \"c.pem\"\nprivate_key = \"k.pem\"\n[acme]\nenabled = true\n",
       "t.toml:1:1: key 'acme.enabled': cannot be used with tls.certificate (choose one)"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.toml);
    EXPECT_EQ(ErrorOf(k.toml + kListener), k.want);
  }
}

TEST(ConfigTest, ArcDefaultsKeysAndErrors) {
  const Config d = Parse("");
  EXPECT_TRUE(d.arc.verify);
  EXPECT_FALSE(d.arc.seal);
  EXPECT_EQ(d.arc.algorithm, "rsa-sha256");
  const Config c = Parse(
      "[arc]\nverify = false\nseal = true\ndomain = \"Example.TEST\"\nselector = \"arc\"\n"
      "trusted_forwarders = [\"lists@example.test\"]\n"
      "algorithm = \"ed25519-sha256\"\ntrusted_sealers = [\"Google.com\", "
      "\"lists.example.org\"]\n");
  EXPECT_FALSE(c.arc.verify);
  EXPECT_TRUE(c.arc.seal);
  EXPECT_EQ(c.arc.domain, "example.test");
  EXPECT_EQ(c.arc.selector, "arc");
  EXPECT_EQ(c.arc.algorithm, "ed25519-sha256");
  EXPECT_EQ(c.arc.trusted_forwarders, std::vector<std::string>{"lists@example.test"});
  EXPECT_EQ(c.arc.trusted_sealers, (std::vector<std::string>{"google.com", "lists.example.org"}));
  const std::pair<std::string, std::string> errors[] = {
      {"[arc]\nseal = true\n", "key 'arc.domain': is required when arc.seal = true"},
      {"[arc]\ndomain = \"localhost\"\n", "key 'arc.domain': 'localhost' is not a valid domain"},
      {"[arc]\nselector = \"a b\"\n", "key 'arc.selector': 'a b' is not a valid selector"},
      {"[arc]\nalgorithm = \"rsa-sha1\"\n", "key 'arc.algorithm': must be \"rsa-sha256\""},
      {"[arc]\ntrusted_sealers = [\"x y\"]\n", "key 'arc.trusted_sealers': 'x y' is not"},
      {"[arc]\ntrusted_forwarders = [\"a list\"]\n",
       "key 'arc.trusted_forwarders': 'a list' is not a user name"},
      {"[arc]\nsign = true\n", "key 'arc.sign': unknown key"},
  };
  for (const auto& [toml, want] : errors) {
    SCOPED_TRACE(toml);
    EXPECT_NE(ErrorOf(toml + kListener).find(want), std::string::npos) << ErrorOf(toml + kListener);
  }
}

TEST(ConfigTest, MtaStsDefaultsAndKeys) {
  Config c = Parse("hostname = \"mx.example.org\"\ndata_dir = \"/var/lib/tern\"\n");
  EXPECT_TRUE(c.mta_sts.enabled);
  EXPECT_EQ(c.mta_sts.cache_dir, "/var/lib/tern/mta-sts");
  EXPECT_EQ(c.mta_sts.https_port, 443);
  EXPECT_FALSE(c.mta_sts.serve);
  EXPECT_EQ(c.mta_sts.mode, "testing");
  EXPECT_EQ(c.mta_sts.mx, std::vector<std::string>{"mx.example.org"});
  EXPECT_EQ(c.mta_sts.max_age, 604800u);
  c = Parse(
      "[mta_sts]\nenabled = false\ncache_dir = \"/c\"\nfetch_timeout = \"5s\"\n"
      "ca_file = \"ca.pem\"\nhttps_port = 8443\nserve = true\nlisten = \"127.0.0.1:8443\"\n"
      "mode = \"enforce\"\nmx = [\"MX1.example.org\", \"*.example.net\"]\nmax_age = 86400\n");
  EXPECT_FALSE(c.mta_sts.enabled);
  EXPECT_EQ(c.mta_sts.cache_dir, "/c");
  EXPECT_EQ(c.mta_sts.fetch_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.mta_sts.https_port, 8443);
  EXPECT_EQ(c.mta_sts.listen_host, "127.0.0.1");
  EXPECT_EQ(c.mta_sts.listen_port, 8443);
  EXPECT_EQ(c.mta_sts.mode, "enforce");
  EXPECT_EQ(c.mta_sts.mx, (std::vector<std::string>{"mx1.example.org", "*.example.net"}));
  EXPECT_EQ(c.mta_sts.max_age, 86400u);
}

TEST(ConfigTest, MtaStsErrors) {
  const ErrorCase cases[] = {
      {"[mta_sts]\nmode = \"strict\"\n",
       "t.toml:2:8: key 'mta_sts.mode': 'strict' is not allowed; use \"enforce\", \"testing\" "
       "or \"none\""},
      {"[mta_sts]\nmx = [\"*.*.example\"]\n",
       "t.toml:2:7: key 'mta_sts.mx': '*.*.example' is not a host name or *.domain (RFC 8461 "
       "3.2)"},
      {"[mta_sts]\nmax_age = 31557601\n",
       "t.toml:2:11: key 'mta_sts.max_age': must be at most 31557600 seconds (RFC 8461 3.2)"},
      {"[mta_sts]\nhttps_port = 70000\n",
       "t.toml:2:14: key 'mta_sts.https_port': must be a port number (1-65535)"},
      {"[mta_sts]\nrefresh = 1\n", "t.toml:2:1: key 'mta_sts.refresh': unknown key"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.toml);
    EXPECT_EQ(ErrorOf(k.toml + kListener), k.want);
  }
}

}  // namespace
}  // namespace tern
