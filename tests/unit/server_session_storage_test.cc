// MAIL FROM when the spool is full (SessionEnv::storage_low): 452 4.3.1
// (RFC 5321 4.5.3.1.9, RFC 3463 X.3.1) before any data is sent, with the
// SIZE the client declared (RFC 1870 6.1), and no transaction begins.
#include <gtest/gtest.h>

#include "core/server_session.h"
#include "session_driver.h"

namespace tern {
namespace {

using testlib::codes;
using testlib::V;

class StorageEnv : public testlib::FakeEnv {
 public:
  bool storage_low(uint64_t declared_size) override {
    asked.push_back(declared_size);
    return declared_size >= room;
  }
  uint64_t room = 1000;
  std::vector<uint64_t> asked;
};

std::string send(ServerSession& s, std::string_view in) {
  std::string out;
  s.receive(in);
  for (;;) {
    ServerSession::Action a = s.next();
    if (a.kind == ServerSession::Action::kSend) out += a.data;
    if (a.kind == ServerSession::Action::kNeedInput || a.kind == ServerSession::Action::kClose)
      return out;
  }
}

TEST(SessionStorage, FullSpoolRefusesMailWith452AndTheSessionGoesOn) {
  StorageEnv env;
  ServerSession s(SessionOptions{}, &env, "192.0.2.7");
  s.start();
  send(s, "EHLO client.test\r\n");
  EXPECT_EQ(codes(send(s, "MAIL FROM:<a@remote.test> SIZE=999\r\n")), V{"250 2.1.0"});
  send(s, "RSET\r\n");
  EXPECT_EQ(send(s, "MAIL FROM:<a@remote.test> SIZE=1000\r\n"),
            "452 4.3.1 Insufficient system storage, try again later\r\n");
  EXPECT_FALSE(s.in_transaction());
  EXPECT_EQ(codes(send(s, "RCPT TO:<alice@local.test>\r\n")), V{"503 5.5.1"});
  env.room = 0;  // nothing fits, not even an undeclared size
  EXPECT_EQ(codes(send(s, "MAIL FROM:<a@remote.test>\r\n")), V{"452 4.3.1"});
  EXPECT_EQ(env.asked, (std::vector<uint64_t>{999, 1000, 0}));
  env.room = 1000;  // space is back
  EXPECT_EQ(codes(send(s, "MAIL FROM:<a@remote.test>\r\n")), V{"250 2.1.0"});
}

TEST(SessionStorage, OverTheSizeLimitIsStill552) {
  // A message that can never fit is a permanent refusal, asked first.
  StorageEnv env;
  env.room = 0;
  SessionOptions o;
  o.max_message_size = 100;
  ServerSession s(o, &env, "192.0.2.7");
  s.start();
  send(s, "EHLO client.test\r\n");
  EXPECT_EQ(codes(send(s, "MAIL FROM:<a@remote.test> SIZE=101\r\n")), V{"552 5.3.4"});
  EXPECT_TRUE(env.asked.empty());
}

}  // namespace
}  // namespace tern
