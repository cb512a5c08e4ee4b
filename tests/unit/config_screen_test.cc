// The [dnsbl], [greylist] and [checks] sections: defaults, values, and the
// errors that name the key (docs/config.md).
#include <gtest/gtest.h>

#include "config/config.h"

namespace tern {
namespace {

constexpr char kListener[] = "[[listener]]\nkind = \"smtp\"\naddress = \":25\"\n";

Config Parse(const std::string& text) { return parse_config(text + kListener, "t.toml"); }

std::string Error(const std::string& text) {
  try {
    Parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigScreen, DefaultsAreOff) {
  Config c = Parse("");
  EXPECT_TRUE(c.dnsbl.sites.empty());
  EXPECT_EQ(c.dnsbl.threshold, 1);
  EXPECT_EQ(c.dnsbl.timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.dnsbl.cache_size, 10000u);
  EXPECT_FALSE(c.greylist.enabled);
  EXPECT_EQ(c.greylist.delay, std::chrono::seconds(300));
  EXPECT_EQ(c.greylist.auto_allow_after, 5u);
  EXPECT_FALSE(c.checks.helo_reject);
  EXPECT_EQ(c.checks.reverse_dns, ChecksConfig::ReverseDns::kOff);
  EXPECT_FALSE(c.checks.own_domain_sender_reject);
}

TEST(ConfigScreen, Values) {
  Config c = Parse(
      "[dnsbl]\nsites = [\"zen.spamhaus.org=127.0.0.[2..11]*3\", \"list.dnswl.org*-5\"]\n"
      "threshold = 3\ntimeout = \"5s\"\ncache_size = 0\n"
      "[greylist]\nenabled = true\ndelay = \"1m\"\nretry_window = \"1d\"\nexpiry = \"60d\"\n"
      "auto_allow_after = 0\nmax_entries = 50\n"
      "[checks]\nhelo = \"reject\"\nreverse_dns = \"mark\"\nown_domain_sender = \"reject\"\n");
  EXPECT_EQ(c.dnsbl.sites.size(), 2u);
  EXPECT_EQ(c.dnsbl.threshold, 3);
  EXPECT_EQ(c.dnsbl.timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.dnsbl.cache_size, 0u);
  EXPECT_TRUE(c.greylist.enabled);
  EXPECT_EQ(c.greylist.delay, std::chrono::seconds(60));
  EXPECT_EQ(c.greylist.retry_window, std::chrono::hours(24));
  EXPECT_EQ(c.greylist.expiry, std::chrono::hours(24 * 60));
  EXPECT_EQ(c.greylist.auto_allow_after, 0u);
  EXPECT_EQ(c.greylist.max_entries, 50u);
  EXPECT_TRUE(c.checks.helo_reject);
  EXPECT_EQ(c.checks.reverse_dns, ChecksConfig::ReverseDns::kMark);
  EXPECT_TRUE(c.checks.own_domain_sender_reject);
}

TEST(ConfigScreen, ErrorsNameTheKey) {
  EXPECT_NE(Error("[dnsbl]\nsites = [\"bl.test*0\"]\n").find("key 'dnsbl.sites': the weight"),
            std::string::npos);
  EXPECT_NE(Error("[dnsbl]\nsites = [\"bl.test=127.0.0\"]\n")
                .find("key 'dnsbl.sites': filter '127.0.0' must be four octets"),
            std::string::npos);
  EXPECT_NE(Error("[dnsbl]\nthreshold = 0\n").find("key 'dnsbl.threshold': must be from 1"),
            std::string::npos);
  EXPECT_NE(Error("[dnsbl]\ntimeout = \"2m\"\n").find("key 'dnsbl.timeout'"), std::string::npos);
  EXPECT_NE(Error("[dnsbl]\nzones = []\n").find("key 'dnsbl.zones': unknown key"),
            std::string::npos);
  EXPECT_NE(Error("[greylist]\ndelay = \"3d\"\n").find("key 'greylist.delay'"), std::string::npos);
  EXPECT_NE(Error("[greylist]\ndelay = \"2h\"\nretry_window = \"1h\"\n")
                .find("key 'greylist.retry_window': must be longer than greylist.delay"),
            std::string::npos);
  EXPECT_NE(Error("[checks]\nreverse_dns = \"yes\"\n")
                .find("key 'checks.reverse_dns': 'yes' is not allowed; use \"reject\" or \"mark\" "
                      "or \"off\""),
            std::string::npos);
  EXPECT_NE(Error("[checks]\nhelo = \"strict\"\n").find("key 'checks.helo'"), std::string::npos);
}

}  // namespace
}  // namespace tern
