// http::AsyncClient (curl multi-socket on the Asio loop) against tern's own
// http::Server on loopback (as http_client_test.cc): several requests at
// once on one thread, the limits, errors.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <thread>

#include "http/async_client.h"
#include "http/server.h"

namespace tern::http {
namespace {

// Coroutines get their state as parameters (copied into the frame): a
// lambda's captures would die with the lambda when co_spawn returns.
asio::awaitable<void> fetch(AsyncClient& client, ClientRequest req, ClientLimits limits,
                            std::vector<ClientResponse>* out) {
  out->push_back(co_await client.request(std::move(req), std::move(limits)));
}

// More server threads than requests at once: cpp-httplib holds a thread per
// connection, and curl keeps its connections open for reuse.
ServerLimits many_threads() {
  ServerLimits l;
  l.threads = 8;
  return l;
}

struct AsyncClientTest : ::testing::Test {
  Server server{"test", many_threads()};
  std::string base;

  void SetUp() override {
    server.get("/hello", [](const Request&) { return Response{200, "text/plain", "hello"}; });
    server.get("/slow", [](const Request&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return Response{200, "text/plain", "slow"};
    });
    server.get("/slower", [](const Request&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1600));
      return Response{200, "text/plain", "slower"};
    });
    server.get("/big", [](const Request&) {
      return Response{200, "text/plain", std::string(100000, 'x')};
    });
    base = "http://127.0.0.1:" + std::to_string(server.bind("127.0.0.1", 0));
    server.start();
  }
  void TearDown() override { server.stop(); }
};

TEST_F(AsyncClientTest, ManyRequestsAtOnceOnOneThread) {
  asio::io_context io;
  AsyncClient client(io);
  std::vector<ClientResponse> got;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i)
    asio::co_spawn(io, fetch(client, {"GET", base + "/slow", {}, ""}, {}, &got), asio::detached);
  asio::co_spawn(io, fetch(client, {"GET", base + "/hello", {}, ""}, {}, &got), asio::detached);
  io.run();
  ASSERT_EQ(got.size(), 5u);
  // The fast one does not wait for the slow ones: it finishes first.
  EXPECT_EQ(got[0].body, "hello");
  for (const ClientResponse& r : got) {
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200);
  }
  // Four 300 ms requests together, not one after the other.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1100));
}

TEST_F(AsyncClientTest, LimitsAndErrors) {
  asio::io_context io;
  AsyncClient client(io);
  std::vector<ClientResponse> got;
  ClientLimits small;
  small.max_response = 1000;
  asio::co_spawn(io, fetch(client, {"GET", base + "/big", {}, ""}, small, &got), asio::detached);
  asio::co_spawn(io, fetch(client, {"GET", "http://127.0.0.1:1/", {}, ""}, {}, &got),
                 asio::detached);
  asio::co_spawn(io, fetch(client, {"GET", base + "/big", {}, ""}, {}, &got), asio::detached);
  io.run();
  ASSERT_EQ(got.size(), 3u);
  int too_large = 0, refused = 0, whole = 0;
  for (const ClientResponse& r : got) {
    if (r.error.find("larger than 1000") != std::string::npos) ++too_large;
    if (!r.ok() && r.error.find("onnect") != std::string::npos) ++refused;
    if (r.ok() && r.body.size() == 100000u) ++whole;
  }
  EXPECT_EQ(too_large, 1);
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(whole, 1);
}

TEST_F(AsyncClientTest, TotalTimeoutThroughCurlsTimer) {
  asio::io_context io;
  AsyncClient client(io);
  std::vector<ClientResponse> got;
  ClientLimits quick;
  quick.timeout = std::chrono::seconds(1);
  const auto start = std::chrono::steady_clock::now();
  asio::co_spawn(io, fetch(client, {"GET", base + "/slower", {}, ""}, quick, &got), asio::detached);
  io.run();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].ok());
  EXPECT_NE(got[0].error.find("imeout"), std::string::npos) << got[0].error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
}

TEST_F(AsyncClientTest, DestroyedClientEndsItsRequests) {
  asio::io_context io;
  std::vector<ClientResponse> got;
  {
    auto client = std::make_unique<AsyncClient>(io);
    asio::co_spawn(io, fetch(*client, {"GET", base + "/slow", {}, ""}, {}, &got), asio::detached);
    io.run_for(std::chrono::milliseconds(50));  // under way, not done
    EXPECT_TRUE(got.empty());
  }
  io.restart();
  io.run();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].error, "client destroyed");
}

}  // namespace
}  // namespace tern::http
