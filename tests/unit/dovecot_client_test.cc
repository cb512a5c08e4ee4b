// The client side of Dovecot's auth protocol (src/auth/dovecot_client.h),
// driven with the lines a real Dovecot 2.3 sends.
#include "auth/dovecot_client.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/base64.h"

namespace tern {
namespace {

using K = DovecotAuthResult::Kind;

constexpr char kHandshake[] =
    "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\tobsolete\n"
    "SPID\t4242\nCUID\t7\nCOOKIE\t0123456789abcdef0123456789abcdef\nDONE\n";

DovecotAuthRequest request() {
  DovecotAuthRequest r;
  r.user = "alice@example.test";
  r.password = "s3cret";
  r.local_ip = "127.0.0.1";
  r.remote_ip = "192.0.2.7";
  r.secured = true;
  r.pid = 99;
  r.id = 1;
  return r;
}

TEST(DovecotClient, HandshakeThenPlainThenOk) {
  DovecotAuthClient c(request());
  EXPECT_EQ(c.hello(), "VERSION\t1\t2\nCPID\t99\n");
  const std::string plain = base64_encode(std::string("\0alice@example.test\0s3cret", 26));
  EXPECT_EQ(
      c.receive(kHandshake),
      "AUTH\t1\tPLAIN\tservice=smtp\tsecured\tlip=127.0.0.1\trip=192.0.2.7\tresp=" + plain + "\n");
  EXPECT_FALSE(c.done());
  EXPECT_EQ(c.receive("OK\t1\tuser=Alice@example.test\n"), "");
  ASSERT_TRUE(c.done());
  EXPECT_EQ(c.result().kind, K::kOk);
  EXPECT_EQ(c.result().user, "Alice@example.test");  // Dovecot's name counts
}

TEST(DovecotClient, HandshakeInPiecesAndNotSecured) {
  DovecotAuthRequest r = request();
  r.secured = false;
  r.local_ip.clear();
  DovecotAuthClient c(r);
  std::string out;
  for (char ch : std::string(kHandshake)) out += c.receive(std::string_view(&ch, 1));
  EXPECT_TRUE(out.starts_with("AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.7\tresp="));
  EXPECT_EQ(out.find("secured"), std::string::npos);
  c.receive("FAIL\t1\tuser=alice@example.test\n");
  EXPECT_EQ(c.result().kind, K::kFail);
}

TEST(DovecotClient, FailWithReasonAndTempFlag) {
  DovecotAuthClient bad(request());
  bad.receive(kHandshake);
  bad.receive("FAIL\t1\tuser=alice@example.test\treason=Password\001tmismatch\n");
  EXPECT_EQ(bad.result().kind, K::kFail);
  EXPECT_EQ(bad.result().reason, "Password\tmismatch");

  DovecotAuthClient temp(request());
  temp.receive(kHandshake);
  temp.receive("FAIL\t1\ttemp\treason=passdb unavailable\n");
  EXPECT_EQ(temp.result().kind, K::kTemporary);
  EXPECT_EQ(temp.result().reason, "passdb unavailable");
}

TEST(DovecotClient, TroubleIsTemporaryNeverASuccess) {
  {
    DovecotAuthClient c(request());
    c.eof();
    EXPECT_EQ(c.result().kind, K::kTemporary);
  }
  {
    DovecotAuthClient c(request());
    c.receive("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\n");
    c.timeout();
    EXPECT_EQ(c.result().kind, K::kTemporary);
  }
  {
    DovecotAuthClient c(request());
    EXPECT_EQ(c.receive("VERSION\t2\t0\nMECH\tPLAIN\nDONE\n"), "");
    EXPECT_EQ(c.result().kind, K::kTemporary);
  }
  {
    DovecotAuthClient c(request());  // auth_mechanisms without plain
    EXPECT_EQ(c.receive("VERSION\t1\t2\nMECH\tCRAM-MD5\nDONE\n"), "");
    EXPECT_EQ(c.result().kind, K::kTemporary);
  }
  {
    DovecotAuthClient c(request());
    c.receive(kHandshake);
    c.receive("OK\t2\tuser=mallory\n");  // someone else's request
    EXPECT_EQ(c.result().kind, K::kTemporary);
  }
  {
    DovecotAuthClient c(request());
    c.receive(kHandshake);
    c.receive("CONT\t1\t\n");
    EXPECT_EQ(c.result().kind, K::kTemporary);
  }
  {
    DovecotAuthClient c(request());
    c.receive(std::string(DovecotAuthClient::kMaxLine + 1, 'x'));
    EXPECT_EQ(c.result().kind, K::kTemporary);
  }
  {
    DovecotAuthClient c(request());
    c.receive(kHandshake);
    c.eof();  // no answer to AUTH
    EXPECT_EQ(c.result().kind, K::kTemporary);
  }
}

TEST(DovecotClient, NamesWithTabsCannotInjectFields) {
  DovecotAuthRequest r = request();
  r.service = "smtp\tmaster";
  DovecotAuthClient c(r);
  const std::string out = c.receive(kHandshake);
  EXPECT_NE(out.find("service=smtp\001tmaster\t"), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

TEST(DovecotClient, EscapeRoundTrip) {
  const std::string s = std::string("a\tb\nc\rd\001e", 9);
  EXPECT_EQ(dovecot_escape(s), "a\001tb\001nc\001rd\0011e");
  EXPECT_EQ(dovecot_unescape(dovecot_escape(s)), s);
}

}  // namespace
}  // namespace tern
