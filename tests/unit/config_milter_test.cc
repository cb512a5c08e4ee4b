// [[milter]] (docs/filtering.md): parsed, defaulted and checked at load.
#include <gtest/gtest.h>

#include "config/config.h"

namespace tern {
namespace {

const char kListener[] = "[[listener]]\nkind = \"smtp\"\naddress = \"127.0.0.1:2525\"\n";

Config parse(const std::string& milters) { return parse_config(kListener + milters, "t.toml"); }

std::string error_of(const std::string& milters) {
  try {
    parse(milters);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigMilter, NoneByDefault) { EXPECT_TRUE(parse("").milters.empty()); }

TEST(ConfigMilter, ParsesEveryKey) {
  Config c = parse(
      "[[milter]]\nname = \"rspamd\"\nsocket = \"inet:127.0.0.1:11332\"\n"
      "listeners = [\"smtp\", \"submission\"]\ndefault_action = \"accept\"\n"
      "connect_timeout = \"5s\"\ncommand_timeout = 7\neom_timeout = \"2m\"\n"
      "[[milter]]\nsocket = \"unix:/run/m.sock\"\n");
  ASSERT_EQ(c.milters.size(), 2u);
  const MilterConfig& m = c.milters[0];
  EXPECT_EQ(m.name, "rspamd");
  EXPECT_EQ(m.host, "127.0.0.1");
  EXPECT_EQ(m.port, 11332);
  EXPECT_EQ(m.listeners,
            (std::vector<ListenerKind>{ListenerKind::kSmtp, ListenerKind::kSubmission}));
  EXPECT_TRUE(m.default_accept);
  EXPECT_EQ(m.connect_timeout, std::chrono::seconds(5));
  EXPECT_EQ(m.command_timeout, std::chrono::seconds(7));
  EXPECT_EQ(m.eom_timeout, std::chrono::seconds(120));
  const MilterConfig& u = c.milters[1];
  EXPECT_EQ(u.name, "unix:/run/m.sock");  // named by its socket
  EXPECT_EQ(u.unix_path, "/run/m.sock");
  EXPECT_EQ(u.listeners, std::vector<ListenerKind>{ListenerKind::kSmtp});
  EXPECT_FALSE(u.default_accept);  // tempfail
  EXPECT_EQ(u.eom_timeout, std::chrono::seconds(300));
  EXPECT_EQ(parse("[[milter]]\nsocket = \"inet:[::1]:11332\"\n").milters[0].host, "::1");
}

TEST(ConfigMilter, RefusesWhatCannotWork) {
  EXPECT_NE(error_of("[[milter]]\nname = \"x\"\n").find("milter[0].socket': is required"),
            std::string::npos);
  EXPECT_NE(error_of("[[milter]]\nsocket = \"tcp:1.2.3.4:1\"\n").find("milter[0].socket"),
            std::string::npos);
  EXPECT_NE(error_of("[[milter]]\nsocket = \"unix:relative\"\n").find("absolute path"),
            std::string::npos);
  EXPECT_NE(error_of("[[milter]]\nsocket = \"inet:localhost:1\"\n").find("milter[0].socket"),
            std::string::npos);
  EXPECT_NE(error_of("[[milter]]\nsocket = \"inet::11332\"\n").find("needs an IP address"),
            std::string::npos);
  EXPECT_NE(error_of("[[milter]]\nsocket = \"unix:/a\"\ndefault_action = \"reject\"\n")
                .find("milter[0].default_action"),
            std::string::npos);
  EXPECT_NE(error_of("[[milter]]\nsocket = \"unix:/a\"\nlisteners = [\"lmtp\"]\n")
                .find("milter[0].listeners"),
            std::string::npos);
  EXPECT_NE(error_of("[[milter]]\nsocket = \"unix:/a\"\ntimeout = 1\n").find("unknown key"),
            std::string::npos);
  EXPECT_NE(error_of("[[milter]]\nname = \"a\"\nsocket = \"unix:/a\"\n"
                     "[[milter]]\nname = \"a\"\nsocket = \"unix:/b\"\n")
                .find("names an earlier milter"),
            std::string::npos);
  try {
    parse_config(std::string("milter = 1\n") + kListener, "t.toml");
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("array of tables"), std::string::npos);
  }
}

}  // namespace
}  // namespace tern
