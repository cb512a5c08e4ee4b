// ServerSession's rate-limit hooks (SessionEnv::limit_mail, limit_rcpt),
// with no I/O: a refusal is the reply the environment gives, the
// transaction does not begin or the recipient is not added, and the hooks
// are asked only for what would otherwise be accepted.
#include <gtest/gtest.h>

#include "core/server_session.h"
#include "session_driver.h"

namespace tern {
namespace {

using testlib::codes;
using testlib::V;

class LimitEnv : public testlib::FakeEnv {
 public:
  std::optional<Reply> limit_mail(const std::string& auth_user) override {
    calls.push_back("mail " + auth_user);
    return mail_refusal;
  }
  std::optional<Reply> limit_rcpt(const Address& rcpt, bool local,
                                  const std::string& auth_user) override {
    calls.push_back("rcpt " + rcpt.str() + (local ? " local " : " remote ") + auth_user);
    return rcpt_refusal;
  }
  std::optional<Reply> mail_refusal, rcpt_refusal;
  std::vector<std::string> calls;
};

// Sends `in` and returns what the session wrote back.
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

TEST(SessionLimits, MailRefusedByTheEnvironmentBeginsNoTransaction) {
  LimitEnv env;
  ServerSession s(SessionOptions{}, &env, "192.0.2.7");
  s.start();
  send(s, "EHLO client.test\r\n");
  // An invalid MAIL is not counted: the hook sees only what would pass.
  EXPECT_EQ(codes(send(s, "MAIL FROM:<bad\r\n")), V{"501 5.1.7"});
  EXPECT_TRUE(env.calls.empty());
  env.mail_refusal = Reply(451, "4.7.1", "Too many messages from your address this hour");
  EXPECT_EQ(send(s, "MAIL FROM:<a@remote.test>\r\n"),
            "451 4.7.1 Too many messages from your address this hour\r\n");
  EXPECT_FALSE(s.in_transaction());
  EXPECT_EQ(codes(send(s, "RCPT TO:<alice@local.test>\r\n")), V{"503 5.5.1"});
  env.mail_refusal.reset();
  EXPECT_EQ(codes(send(s, "MAIL FROM:<a@remote.test>\r\n")), V{"250 2.1.0"});
  EXPECT_EQ(env.calls, (V{"mail ", "mail "}));
}

TEST(SessionLimits, RcptRefusedByTheEnvironmentIsNotAdded) {
  LimitEnv env;
  ServerSession s(SessionOptions{}, &env, "192.0.2.7");
  s.start();
  send(s, "EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\n");
  EXPECT_EQ(codes(send(s, "RCPT TO:<alice@local.test>\r\n")), V{"250 2.1.5"});
  env.rcpt_refusal = Reply(450, "4.7.1", "Too many recipients from your address this hour");
  EXPECT_EQ(send(s, "RCPT TO:<bob@local.test>\r\n"),
            "450 4.7.1 Too many recipients from your address this hour\r\n");
  // Refused by the directory: never reaches the limit.
  EXPECT_EQ(codes(send(s, "RCPT TO:<nobody@local.test>\r\n")), V{"550 5.1.1"});
  EXPECT_EQ(codes(send(s, "RCPT TO:<x@remote.test>\r\n")), V{"550 5.7.1"});
  EXPECT_EQ(env.calls, (V{"mail ", "rcpt alice@local.test local ", "rcpt bob@local.test local "}));
  // The message goes to the one accepted recipient only.
  env.rcpt_refusal.reset();
  EXPECT_EQ(codes(send(s, "DATA\r\n")), V{"354"});
  s.receive("Subject: x\r\n\r\nhi\r\n.\r\n");
  for (;;) {
    ServerSession::Action a = s.next();
    if (a.kind == ServerSession::Action::kMessageEnd) {
      EXPECT_EQ(s.envelope().rcpts.size(), 1u);
      s.message_stored(Status::Ok());
    }
    if (a.kind == ServerSession::Action::kNeedInput) break;
  }
}

}  // namespace
}  // namespace tern
