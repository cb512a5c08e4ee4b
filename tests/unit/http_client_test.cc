// http::request (http/client.h) against tern's own http::Server on a
// loopback port: statuses, headers, bodies, and the limits (response size,
// total time, no plain-text CA trust failure hidden). An exception to
// "unit tests open no sockets": curl has no in-memory transport, and these
// run in milliseconds on 127.0.0.1. HTTPS with a CA file is covered against
// pebble (tests/integration/test_acme.py).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "http/client.h"
#include "http/server.h"

namespace tern::http {
namespace {

struct HttpClientTest : ::testing::Test {
  Server server{"test"};
  std::string base;

  void SetUp() override {
    server.get("/hello", [](const Request& r) {
      return Response{200, "text/plain", "hello " + r.method};
    });
    server.get("/big", [](const Request&) {
      return Response{200, "text/plain", std::string(5000, 'x')};
    });
    server.get("/slow", [](const Request&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));
      return Response{200, "text/plain", "late"};
    });
    const auto port = server.bind("127.0.0.1", 0);
    server.start();
    base = "http://127.0.0.1:" + std::to_string(port);
  }
  void TearDown() override { server.stop(); }
};

TEST_F(HttpClientTest, GetsStatusHeadersAndBody) {
  ClientResponse r = request({"GET", base + "/hello", {}, ""}, {});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello GET");
  EXPECT_EQ(r.header("content-type"), "text/plain");  // names lower-cased
  EXPECT_EQ(r.header("no-such-header"), "");
}

TEST_F(HttpClientTest, NotFoundIsAResponseNotAnError) {
  ClientResponse r = request({"GET", base + "/nothing", {}, ""}, {});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 404);
}

TEST_F(HttpClientTest, ResponseLargerThanTheLimitIsAnError) {
  ClientLimits limits;
  limits.max_response = 4096;
  ClientResponse r = request({"GET", base + "/big", {}, ""}, limits);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("larger than 4096"), std::string::npos) << r.error;
  EXPECT_EQ(r.body, "");
  limits.max_response = 5000;
  EXPECT_TRUE(request({"GET", base + "/big", {}, ""}, limits).ok());
}

TEST_F(HttpClientTest, TotalTimeoutEndsTheRequest) {
  ClientLimits limits;
  limits.timeout = std::chrono::seconds(1);
  const auto start = std::chrono::steady_clock::now();
  ClientResponse r = request({"GET", base + "/slow", {}, ""}, limits);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("imeout"), std::string::npos) << r.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2400));
}

TEST_F(HttpClientTest, RefusedConnectionAndBadCaFileAreErrors) {
  // Port 1 (tcpmux) has no listener on a test machine: connection refused.
  ClientResponse r = request({"GET", "http://127.0.0.1:1/", {}, ""}, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status, 0);
  ClientLimits limits;
  limits.ca_file = "/nonexistent/ca.pem";
  r = request({"GET", "https://127.0.0.1:1/", {}, ""}, limits);
  EXPECT_FALSE(r.ok());
}

TEST_F(HttpClientTest, OnlyHttpAndHttps) {
  ClientResponse r = request({"GET", "file:///etc/passwd", {}, ""}, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.body, "");
}

}  // namespace
}  // namespace tern::http
