// The command table's helpers (core/command.h): HTTP lines, HELO names.
#include "core/command.h"

#include <gtest/gtest.h>

#include <string>

namespace tern {
namespace {

TEST(LooksLikeHttp, RequestLinesAndHeaders) {
  for (const char* s :
       {"GET / HTTP/1.1", "get /", "POST /x HTTP/1.0", "HEAD / HTTP/1.1", "PUT /a HTTP/1.1",
        "DELETE /a HTTP/1.1", "PATCH /a HTTP/1.1", "OPTIONS * HTTP/1.1", "TRACE / HTTP/1.1",
        "CONNECT a:25 HTTP/1.1", "PRI * HTTP/2.0", "Host: a", "host:a", "User-Agent: curl/8"})
    EXPECT_TRUE(looks_like_http(s)) << s;
}

TEST(LooksLikeHttp, SmtpAndLookalikesAreNot) {
  for (const char* s : {"", "GET", "GETX /", "MAIL FROM:<a@b>", "HELO get", "Hostname: a",
                        "EHLO host:", "NOOP GET / HTTP/1.1", "DATA"})
    EXPECT_FALSE(looks_like_http(s)) << s;
}

TEST(HeloNameOk, Lengths) {
  std::string l63(63, 'a');
  EXPECT_TRUE(helo_name_ok("mx.example.org"));
  EXPECT_TRUE(helo_name_ok(l63));
  EXPECT_FALSE(helo_name_ok(l63 + "a"));
  EXPECT_FALSE(helo_name_ok("x." + l63 + "a.org"));
  std::string n255 = l63 + "." + l63 + "." + l63 + "." + l63;
  EXPECT_TRUE(helo_name_ok(n255));
  EXPECT_FALSE(helo_name_ok(n255 + "a"));
  EXPECT_FALSE(helo_name_ok(""));
}

TEST(HeloNameOk, AddressLiteralsAndSloppyNames) {
  EXPECT_TRUE(helo_name_ok("[192.0.2.1]"));
  EXPECT_TRUE(helo_name_ok("[IPv6:2001:db8::1]"));
  EXPECT_FALSE(helo_name_ok("[" + std::string(260, '1') + "]"));
  // Characters are not judged: real clients send these.
  EXPECT_TRUE(helo_name_ok("my_laptop"));
  EXPECT_TRUE(helo_name_ok("192.0.2.1"));
}

}  // namespace
}  // namespace tern
