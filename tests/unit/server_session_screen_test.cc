// ServerSession's hooks for the checks before DATA (SessionEnv::screen_mail,
// screen_rcpt) and the refusal at connect (start_refused), with no I/O:
// RFC 5321 3.1's 554 greeting followed by 503 to everything but QUIT, the
// hooks' replies given as they come, and a greylisted RCPT not counted as
// an error within max_recipients attempts.
#include <gtest/gtest.h>

#include "core/server_session.h"
#include "session_driver.h"

namespace tern {
namespace {

using testlib::codes;
using testlib::V;

class ScreenEnv : public testlib::FakeEnv {
 public:
  std::optional<Reply> screen_mail(const Address& from, const std::string& auth_user) override {
    calls.push_back("mail " + from.str() + " " + auth_user);
    return mail_refusal;
  }
  std::optional<Reply> screen_rcpt(const Address& from, const Address& rcpt,
                                   const std::string& auth_user) override {
    calls.push_back("rcpt " + from.str() + " " + rcpt.str() + " " + auth_user);
    return rcpt_refusal;
  }
  void on_refusal(const Refusal& r) override {
    refusals.push_back(std::string(r.command) + " -> " + r.reply.brief());
  }
  std::optional<Reply> mail_refusal, rcpt_refusal;
  V calls, refusals;
};

std::string send(ServerSession& s, std::string_view in, bool* closed = nullptr) {
  std::string out;
  s.receive(in);
  for (;;) {
    ServerSession::Action a = s.next();
    if (a.kind == ServerSession::Action::kSend) out += a.data;
    if (a.kind == ServerSession::Action::kClose && closed) *closed = true;
    if (a.kind == ServerSession::Action::kNeedInput || a.kind == ServerSession::Action::kClose)
      return out;
  }
}

TEST(SessionScreen, RefusedAtConnectAnswers503UntilQuit) {
  ScreenEnv env;
  SessionOptions o;
  o.max_errors = 5;
  ServerSession s(o, &env, "192.0.2.7");
  s.start_refused(
      Reply(554, "5.7.1", "Service unavailable; client [192.0.2.7] blocked using bl.test"));
  EXPECT_EQ(send(s, ""),
            "554 5.7.1 Service unavailable; client [192.0.2.7] blocked using bl.test\r\n");
  EXPECT_EQ(env.refusals, (V{" -> 554 5.7.1 Service unavailable; client [192.0.2.7] blocked "
                             "using bl.test"}));
  EXPECT_EQ(send(s, "EHLO client.test\r\n"),
            "503 5.5.1 Bad sequence of commands: Service unavailable; client [192.0.2.7] "
            "blocked using bl.test\r\n");
  EXPECT_EQ(codes(send(s, "MAIL FROM:<a@remote.test>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n")),
            (V{"503 5.5.1", "503 5.5.1", "503 5.5.1"}));
  EXPECT_TRUE(env.calls.empty());
  bool closed = false;
  EXPECT_EQ(codes(send(s, "QUIT\r\n", &closed)), V{"221 2.0.0"});
  EXPECT_TRUE(closed);
  EXPECT_EQ(s.end(), SessionEnd::kQuit);
}

TEST(SessionScreen, RefusedAtConnectEndsAfterMaxErrors) {
  ScreenEnv env;
  SessionOptions o;
  o.max_errors = 3;
  ServerSession s(o, &env, "192.0.2.7");
  s.start_refused(Reply(554, "5.7.1", "no"));
  bool closed = false;
  EXPECT_EQ(codes(send(s, "NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n", &closed)),
            (V{"554 5.7.1", "503 5.5.1", "503 5.5.1", "503 5.5.1", "421 4.7.0"}));
  EXPECT_TRUE(closed);
  EXPECT_EQ(s.end(), SessionEnd::kTooManyErrors);
}

TEST(SessionScreen, MailAndRcptHooksRefuse) {
  ScreenEnv env;
  ServerSession s(SessionOptions{}, &env, "192.0.2.7");
  s.start();
  send(s, "EHLO client.test\r\n");
  env.mail_refusal = Reply(550, "5.7.25", "Reverse DNS required: no PTR record for [192.0.2.7]");
  EXPECT_EQ(send(s, "MAIL FROM:<a@remote.test>\r\n"),
            "550 5.7.25 Reverse DNS required: no PTR record for [192.0.2.7]\r\n");
  EXPECT_FALSE(s.in_transaction());
  env.mail_refusal.reset();
  EXPECT_EQ(codes(send(s, "MAIL FROM:<a@remote.test>\r\n")), V{"250 2.1.0"});
  env.rcpt_refusal = Reply(451, "4.7.1", "Greylisted, try again in 300 seconds");
  EXPECT_EQ(send(s, "RCPT TO:<alice@local.test>\r\n"),
            "451 4.7.1 Greylisted, try again in 300 seconds\r\n");
  // Refused by the directory first: the hook is not asked.
  EXPECT_EQ(codes(send(s, "RCPT TO:<nobody@local.test>\r\n")), V{"550 5.1.1"});
  EXPECT_EQ(env.calls, (V{"mail a@remote.test ", "mail a@remote.test ",
                          "rcpt a@remote.test alice@local.test "}));
  EXPECT_EQ(codes(send(s, "DATA\r\n")), V{"554 5.5.1"});  // no valid recipients
}

TEST(SessionScreen, GreylistedRecipientsCountOnlyPastMaxRecipients) {
  ScreenEnv env;
  SessionOptions o;
  o.max_errors = 3;
  o.max_recipients = 10;
  ServerSession s(o, &env, "192.0.2.7");
  s.start();
  send(s, "EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\n");
  env.rcpt_refusal = Reply(451, "4.7.1", "Greylisted, try again in 300 seconds");
  std::string many;
  for (int i = 0; i < 10; ++i) many += "RCPT TO:<alice@local.test>\r\n";
  bool closed = false;
  EXPECT_EQ(codes(send(s, many, &closed)), V(10, "451 4.7.1"));
  EXPECT_FALSE(closed);
  EXPECT_EQ(s.counts().errors, 0u);
  // Beyond max_recipients attempts they count, and max_errors ends it.
  EXPECT_EQ(codes(send(s,
                       "RCPT TO:<alice@local.test>\r\nRCPT TO:<alice@local.test>\r\n"
                       "RCPT TO:<alice@local.test>\r\n",
                       &closed)),
            (V{"451 4.7.1", "451 4.7.1", "451 4.7.1", "421 4.7.0"}));
  EXPECT_TRUE(closed);
}

}  // namespace
}  // namespace tern
