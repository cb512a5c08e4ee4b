#include <gtest/gtest.h>

#include <stdexcept>

#include "http/server.h"

namespace tern::http {
namespace {

TEST(HttpListen, HostAndPort) {
  auto a = parse_listen_address("127.0.0.1:9325");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9325);
  auto b = parse_listen_address("[::1]:80");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 80);
  auto c = parse_listen_address(":80");
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 80);
}

TEST(HttpListen, Refused) {
  EXPECT_THROW(parse_listen_address("localhost"), std::invalid_argument);
  EXPECT_THROW(parse_listen_address("127.0.0.1:"), std::invalid_argument);
  EXPECT_THROW(parse_listen_address("127.0.0.1:65536"), std::invalid_argument);
  EXPECT_THROW(parse_listen_address("127.0.0.1:8o"), std::invalid_argument);
  EXPECT_THROW(parse_listen_address("127.0.0.1:123456"), std::invalid_argument);
}

}  // namespace
}  // namespace tern::http
