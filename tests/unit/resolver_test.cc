// Resolver without a network: names libunbound answers by itself
// (localhost, RFC 6761 6.3), names it refuses, start-up errors, and the
// shutdown of a Resolver with a query in flight (to a loopback forwarder
// that never answers). Real DNS servers are in
// tests/integration/test_dns.py.
#include "dns/resolver.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <asio/co_spawn.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <stdexcept>

namespace tern {
namespace {

ResolverOptions Unused() {
  ResolverOptions o;
  o.forwarders = {"127.0.0.1@9"};  // never asked: the names below are answered locally
  return o;
}

template <typename T>
T Await(asio::io_context& io, asio::awaitable<T> a) {
  std::optional<T> out;
  asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T r) {
    if (e) std::rethrow_exception(e);
    out = std::move(r);
  });
  io.run();
  io.restart();
  return std::move(*out);
}

TEST(ResolverTest, AnswersLocalhostItself) {
  asio::io_context io;
  Resolver dns(io, Unused());
  const AddressResult a = Await(io, dns.a("LocalHost."));
  ASSERT_EQ(a.status, DnsStatus::kOk) << a.error;
  EXPECT_EQ(a.records, std::vector{asio::ip::make_address("127.0.0.1")});
  EXPECT_EQ(a.canonical_name, "localhost");
  EXPECT_GT(a.ttl, 0u);
  const AddressResult aaaa = Await(io, dns.aaaa("localhost"));
  ASSERT_EQ(aaaa.status, DnsStatus::kOk) << aaaa.error;
  EXPECT_EQ(aaaa.records, std::vector{asio::ip::make_address("::1")});
  const NameResult ptr = Await(io, dns.ptr(asio::ip::make_address("127.0.0.1")));
  ASSERT_EQ(ptr.status, DnsStatus::kOk) << ptr.error;
  EXPECT_EQ(ptr.records, std::vector<std::string>{"localhost"});
  EXPECT_EQ(ptr.canonical_name, "1.0.0.127.in-addr.arpa");
}

TEST(ResolverTest, NoDataAndNxDomainFromLocalZones) {
  asio::io_context io;
  Resolver dns(io, Unused());
  const MxResult mx = Await(io, dns.mx("localhost"));
  EXPECT_EQ(mx.status, DnsStatus::kNoData);
  EXPECT_EQ(mx.error, "no MX record");
  EXPECT_TRUE(mx.records.empty());
  const TxtResult txt = Await(io, dns.txt("name.invalid"));  // RFC 6761 6.4
  EXPECT_EQ(txt.status, DnsStatus::kNxDomain);
  EXPECT_EQ(txt.error, "NXDOMAIN");
}

TEST(ResolverTest, InvalidNamesAreNxDomain) {
  asio::io_context io;
  Resolver dns(io, Unused());
  const AddressResult r = Await(io, dns.a("a..b"));
  EXPECT_EQ(r.status, DnsStatus::kNxDomain);
  EXPECT_EQ(r.error, "not a valid domain name");
}

// The query must still be waiting when the Resolver goes. A name
// libunbound answers itself (localhost) could be answered by its thread
// while io.poll() runs (that made this test flaky); so the query goes to a
// forwarder that receives it and never answers (a bound UDP socket nobody
// reads from), with a deadline far beyond the test. The test waits, with a
// bound, until that socket holds the query: then it is certainly in flight.
TEST(ResolverTest, QueriesInFlightEndWhenTheResolverGoes) {
  asio::io_context io;
  asio::ip::udp::socket black_hole(io, {asio::ip::make_address("127.0.0.1"), 0});
  ResolverOptions o;
  o.forwarders = {"127.0.0.1@" + std::to_string(black_hole.local_endpoint().port())};
  o.timeout = std::chrono::hours(1);
  auto dns = std::make_unique<Resolver>(io, o);
  std::optional<AddressResult> out;
  asio::co_spawn(io, dns->a("in-flight.example.test"), [&](std::exception_ptr e, AddressResult r) {
    if (e) std::rethrow_exception(e);
    out = std::move(r);
  });
  io.poll();  // the coroutine starts the query
  // libunbound's thread sends it: wait (bounded) until it arrives.
  pollfd p{black_hole.native_handle(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 30000), 1) << "the query never reached the forwarder";
  io.poll();
  ASSERT_FALSE(out);  // nobody answers: still in flight
  dns.reset();
  io.run();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, DnsStatus::kTempFail);
  EXPECT_EQ(out->error, "resolver shut down");
}

TEST(ResolverTest, StartUpErrors) {
  asio::io_context io;
  ResolverOptions bad_forwarder;
  bad_forwarder.forwarders = {"dns.example"};
  EXPECT_THROW(Resolver(io, bad_forwarder), std::runtime_error);
  ResolverOptions no_file;
  no_file.resolv_conf = "/nonexistent/resolv.conf";
  try {
    Resolver r(io, no_file);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cannot use /nonexistent/resolv.conf: ", 0), 0u)
        << e.what();
  }
}

TEST(ResolverTest, TrustAnchorMustBeReadable) {
  asio::io_context io;
  ResolverOptions o = Unused();
  o.trust_anchor = "/nonexistent/root.key";
  try {
    Resolver r(io, o);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/root.key"), std::string::npos) << e.what();
  }
}

TEST(ResolverTest, ValidatingResolverStillAnswersLocalNames) {
  // An anchor for a zone nobody serves: local names are insecure, not bogus.
  const std::string path = ::testing::TempDir() + "/tern_resolver_test.key";
  {
    std::ofstream f(path);
    f << "example. IN DS 31589 8 2 "
         "CDE0D742D6998AA554A92D890F8184C698CFAC8A26FA59875A990C03E576343C\n";
  }
  asio::io_context io;
  ResolverOptions o = Unused();
  o.trust_anchor = path;
  Resolver dns(io, o);
  const AddressResult a = Await(io, dns.a("localhost"));
  ASSERT_EQ(a.status, DnsStatus::kOk) << a.error;
  EXPECT_EQ(a.security, DnsSecurity::kInsecure);
  std::remove(path.c_str());
}

TEST(ResolverTest, StatusNames) {
  EXPECT_STREQ(dns_security_name(DnsSecurity::kSecure), "secure");
  EXPECT_STREQ(dns_security_name(DnsSecurity::kInsecure), "insecure");
  EXPECT_STREQ(dns_security_name(DnsSecurity::kBogus), "bogus");
  EXPECT_STREQ(dns_status_name(DnsStatus::kOk), "ok");
  EXPECT_STREQ(dns_status_name(DnsStatus::kNoData), "no data");
  EXPECT_STREQ(dns_status_name(DnsStatus::kNxDomain), "NXDOMAIN");
  EXPECT_STREQ(dns_status_name(DnsStatus::kTempFail), "temporary failure");
}

}  // namespace
}  // namespace tern
