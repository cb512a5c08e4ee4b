// The outbound relay's set-up and inputs (relay/remote_courier.h,
// relay/file_body.h): settings from the config (who "we" are for the loop
// rule, the smarthost's credentials), the password file, the smarthost's
// route through a fake resolver, and the queued content read on a pool.
// Delivery itself is covered by tests/integration/test_relay.py.
#include "relay/remote_courier.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_future.hpp>
#include <fstream>
#include <map>

#include "relay/file_body.h"
#include "server/relay_settings.h"
#include "testlib.h"

namespace tern {
namespace {

asio::ip::address Ip(const char* s) { return asio::ip::make_address(s); }

void Write(const std::string& path, std::string_view data) {
  std::ofstream(path, std::ios::binary) << data;
}

ListenerConfig Listener(std::string host, uint16_t port) {
  ListenerConfig l;
  l.host = std::move(host);
  l.port = port;
  l.address = (l.host.empty() ? "" : l.host) + ":" + std::to_string(port);
  return l;
}

// --- Settings -------------------------------------------------------------------

TEST(RelaySettingsTest, WhoWeAreForTheLoopRule) {
  Config c;
  c.hostname = "mx.us.example";
  c.relay.port = 25;
  c.listeners = {Listener("192.0.2.25", 25), Listener("192.0.2.26", 587),
                 Listener("2001:db8::25", 25)};
  RelaySettings s = relay_settings(c, {Ip("198.51.100.9")});
  EXPECT_EQ(s.helo_name, "mx.us.example");
  EXPECT_EQ(s.self.hostname, "mx.us.example");
  // Only listeners on the relay port: mail for us would not land on 587.
  EXPECT_EQ(s.self.addresses,
            (std::vector<asio::ip::address>{Ip("192.0.2.25"), Ip("2001:db8::25")}));
  EXPECT_FALSE(s.self.any_loopback);
  EXPECT_EQ(s.port, 25);
  EXPECT_TRUE(s.smarthost.empty());
  EXPECT_NE(s.mx_tls, nullptr);

  // A wildcard listener: every interface address, and loopback.
  c.listeners = {Listener("", 25)};
  s = relay_settings(c, {Ip("198.51.100.9"), Ip("127.0.0.1")});
  EXPECT_EQ(s.self.addresses,
            (std::vector<asio::ip::address>{Ip("198.51.100.9"), Ip("127.0.0.1")}));
  EXPECT_TRUE(s.self.any_loopback);
}

TEST(RelaySettingsTest, SmarthostWithPasswordFile) {
  testlib::TempDir dir;
  const std::string pw = dir.path() + "/pw";
  Write(pw, "s3cret\n");
  Config c;
  c.hostname = "home.example";
  c.relay.smarthost = "smtp.provider.example:587";
  c.relay.smarthost_host = "smtp.provider.example";
  c.relay.smarthost_port = 587;
  c.relay.user = "me@provider.example";
  c.relay.password_file = pw;
  RelaySettings s = relay_settings(c, {});
  EXPECT_EQ(s.smarthost, "smtp.provider.example");
  EXPECT_EQ(s.smarthost_port, 587);
  EXPECT_FALSE(s.smarthost_implicit_tls);
  ASSERT_TRUE(s.auth);
  EXPECT_EQ(s.auth->user, "me@provider.example");
  EXPECT_EQ(s.auth->password, "s3cret");
  EXPECT_NE(s.smarthost_tls, nullptr);

  c.relay.security = RelayConfig::Security::kTls;
  c.relay.password_file.clear();
  c.relay.password = "inline";
  s = relay_settings(c, {});
  EXPECT_TRUE(s.smarthost_implicit_tls);
  EXPECT_EQ(s.auth->password, "inline");

  c.relay.password.clear();  // a user without a password
  EXPECT_THROW(relay_settings(c, {}), std::runtime_error);
  c.relay.user.clear();  // no user: no AUTH
  EXPECT_FALSE(relay_settings(c, {}).auth);
}

TEST(RelaySettingsTest, UnusableFilesStopTheStart) {
  Config c;
  c.relay.smarthost = "smtp.provider.example";
  c.relay.smarthost_host = "smtp.provider.example";
  c.relay.smarthost_port = 587;
  c.relay.user = "me";
  c.relay.password_file = "/nonexistent/pw";
  try {
    relay_settings(c, {});
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "relay.password_file: cannot read '/nonexistent/pw': No such file or directory");
  }
  c.relay.user.clear();
  c.relay.password_file.clear();
  c.relay.ca_file = "/nonexistent/ca.pem";
  try {
    relay_settings(c, {});
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("relay.ca_file: "), std::string::npos) << e.what();
  }
}

TEST(PasswordFileTest, OneTrailingLineEndIsDropped) {
  testlib::TempDir dir;
  const std::string pw = dir.path() + "/pw";
  for (auto [content, want] :
       std::vector<std::pair<std::string, std::string>>{{"secret", "secret"},
                                                        {"secret\n", "secret"},
                                                        {"secret\r\n", "secret"},
                                                        {"secret\n\n", "secret\n"},
                                                        {" spaced secret \n", " spaced secret "}}) {
    Write(pw, content);
    EXPECT_EQ(read_password_file(pw), want) << content;
  }
  Write(pw, "\n");
  EXPECT_THROW(read_password_file(pw), std::runtime_error);
}

// --- The smarthost's route -----------------------------------------------------

class FakeDns : public DnsLookup {
 public:
  std::map<std::string, AddressResult> a_answers, aaaa_answers;
  int queries = 0;

  asio::awaitable<MxResult> mx(std::string) override {
    ++queries;
    co_return MxResult{};
  }
  asio::awaitable<AddressResult> a(std::string name) override {
    ++queries;
    co_return Find(a_answers, name);
  }
  asio::awaitable<AddressResult> aaaa(std::string name) override {
    ++queries;
    co_return Find(aaaa_answers, name);
  }
  asio::awaitable<TxtResult> txt(std::string) override { co_return TxtResult{}; }
  asio::awaitable<NameResult> ptr(asio::ip::address) override { co_return NameResult{}; }

 private:
  static AddressResult Find(const std::map<std::string, AddressResult>& m,
                            const std::string& name) {
    auto it = m.find(name);
    if (it != m.end()) return it->second;
    AddressResult r;
    r.status = DnsStatus::kNxDomain;
    r.error = "NXDOMAIN";
    return r;
  }
};

Route Smarthost(FakeDns& dns, std::string host) {
  asio::io_context io;
  auto f = asio::co_spawn(io, resolve_smarthost(dns, std::move(host)), asio::use_future);
  io.run();
  return f.get();
}

TEST(ResolveSmarthostTest, LiteralNeedsNoDns) {
  FakeDns dns;
  Route r = Smarthost(dns, "192.0.2.50");
  EXPECT_EQ(r.status, RouteStatus::kOk);
  ASSERT_EQ(r.hosts.size(), 1u);
  EXPECT_EQ(r.hosts[0].addresses, std::vector<asio::ip::address>{Ip("192.0.2.50")});
  std::vector<Hop> hops = route_hops(r, 587);
  ASSERT_EQ(hops.size(), 1u);
  EXPECT_EQ(hops[0].tls_name, "192.0.2.50");
  EXPECT_EQ(dns.queries, 0);
}

TEST(ResolveSmarthostTest, NameByItsAddressesNeverItsMx) {
  FakeDns dns;
  AddressResult v4;
  v4.status = DnsStatus::kOk;
  v4.records = {Ip("192.0.2.51")};
  dns.a_answers["smtp.provider.example"] = v4;
  AddressResult none;
  none.status = DnsStatus::kNoData;
  dns.aaaa_answers["smtp.provider.example"] = none;
  Route r = Smarthost(dns, "smtp.provider.example");
  EXPECT_EQ(r.status, RouteStatus::kOk);
  ASSERT_EQ(r.hosts.size(), 1u);
  EXPECT_EQ(r.hosts[0].name, "smtp.provider.example");
  EXPECT_EQ(r.hosts[0].addresses, std::vector<asio::ip::address>{Ip("192.0.2.51")});
  EXPECT_EQ(dns.queries, 2);  // AAAA and A; no MX
}

TEST(ResolveSmarthostTest, NoAddressIsOurProblemSoTransient) {
  FakeDns dns;
  Route r = Smarthost(dns, "gone.provider.example");
  EXPECT_EQ(r.status, RouteStatus::kRetry);
  EXPECT_EQ(r.reply.code, 451);
  EXPECT_EQ(r.reply.enhanced, "4.4.3");
  EXPECT_EQ(r.reply.lines.back().rfind("smarthost gone.provider.example: ", 0), 0u)
      << r.reply.lines.back();
  EXPECT_EQ(route_result(r).kind, RcptResult::Kind::kTransient);
}

// --- The queued content --------------------------------------------------------

TEST(FileBodyTest, ScanFromTheOffset) {
  testlib::TempDir dir;
  const std::string path = dir.path() + "/msg";
  const std::string header = "tern-queue 1\nid X\n\n";
  Write(path, header + "Subject: x\r\n\r\nplain\r\n");
  BodyFacts f;
  ASSERT_TRUE(scan_body_file(path, header.size(), &f).ok());
  EXPECT_EQ(f.size, 21u);
  EXPECT_FALSE(f.eight_bit);
  Write(path, header + "Subject: x\r\n\r\ncaf\xc3\xa9\r\n");
  ASSERT_TRUE(scan_body_file(path, header.size(), &f).ok());
  EXPECT_TRUE(f.eight_bit);
  Status s = scan_body_file(dir.path() + "/missing", 0, &f);
  EXPECT_EQ(s.kind(), Status::Kind::kTransient);
  EXPECT_NE(s.message().find("/missing"), std::string::npos) << s.message();
}

// Reads a FileBody to its end in pieces of `piece` octets.
std::pair<std::string, std::string> ReadAll(const std::string& path, uint64_t offset,
                                            size_t piece) {
  asio::io_context io;
  asio::thread_pool pool(2);
  FileBody body(pool.get_executor(), path, offset);
  std::string data, error;
  auto reader = [&]() -> asio::awaitable<void> {
    while (co_await body.read(&data, piece, &error)) {
    }
  };
  asio::co_spawn(io, reader(), asio::detached);
  io.run();
  pool.join();
  return {data, error};
}

TEST(FileBodyTest, StreamsTheContentInPieces) {
  testlib::TempDir dir;
  const std::string path = dir.path() + "/msg";
  std::string content;
  for (int i = 0; i < 1000; ++i) content += "line " + std::to_string(i) + "\r\n";
  Write(path, "HEADER\n\n" + content);
  auto [data, error] = ReadAll(path, 8, 777);
  EXPECT_EQ(error, "");
  EXPECT_EQ(data, content);
  auto [none, why] = ReadAll(dir.path() + "/missing", 0, 100);
  EXPECT_EQ(none, "");
  EXPECT_NE(why.find("/missing"), std::string::npos) << why;
}

}  // namespace
}  // namespace tern
