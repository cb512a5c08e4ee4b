// ClientSession in LMTP mode (RFC 2033) driven by scripted server replies:
// LHLO, one reply per accepted recipient after the body, and what a lost
// connection between those replies leaves delivered.
#include <gtest/gtest.h>

#include <map>

#include "core/client_session.h"

namespace tern {
namespace {

using Kind = ClientSession::Action::Kind;
using Cause = Failure::Cause;

OutboundMessage msg(std::vector<std::string_view> rcpts) {
  OutboundMessage m;
  m.mail.from = *parse_mailbox("a@x.test", true);
  for (std::string_view r : rcpts) m.rcpts.push_back(RcptArgs{*parse_mailbox(r, true), 0, ""});
  return m;
}

// Runs the session as the I/O layer does; reply() returns what the client
// wrote in answer to the server's bytes.
struct Lmtp {
  Lmtp() : s(options()) {}
  static ClientSessionOptions options() {
    ClientSessionOptions o;
    o.helo_name = "mx.test";
    o.tls = TlsPolicy::kNone;
    o.lmtp = true;
    return o;
  }
  void pump() {
    for (int guard = 0; guard < 1000; ++guard) {
      ClientSession::Action a = s.next();
      switch (a.kind) {
        case Kind::kSend:
          wire += a.data;
          break;
        case Kind::kSendBody: {
          DotEncoder e = s.body_encoder();
          e.encode("Subject: t\r\n\r\nhi\r\n", &wire);
          e.finish(&wire);
          s.body_sent(e);
          break;
        }
        case Kind::kMessageDone:
          results.push_back(*a.result);
          break;
        case Kind::kStartTls:
          ADD_FAILURE() << "no STARTTLS over LMTP here";
          return;
        case Kind::kNeedInput:
        case Kind::kIdle:
          return;
        case Kind::kClose:
          closed = true;
          return;
      }
    }
    FAIL() << "session does not settle";
  }
  std::string reply(std::string_view server) {
    wire.clear();
    s.receive(server);
    pump();
    return wire;
  }
  // Greeting and LHLO; returns what follows the LHLO reply.
  std::string connect(std::string lhlo = "250-lmtp.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n") {
    s.start();
    pump();
    EXPECT_EQ(reply("220 lmtp.test Dovecot ready.\r\n"), "LHLO mx.test\r\n");
    return reply(lhlo);
  }

  ClientSession s;
  std::string wire;
  std::vector<MessageResult> results;
  bool closed = false;
};

constexpr std::string_view kBody = "Subject: t\r\n\r\nhi\r\n.\r\n";

TEST(LmtpSession, OneReplyPerAcceptedRecipientAfterTheBody) {
  Lmtp t;
  t.s.add(msg({"u1@d.test", "nobody@d.test", "u2@d.test", "u3@d.test"}));
  // PIPELINING (RFC 2920): MAIL, every RCPT and DATA in one batch.
  EXPECT_EQ(t.connect(),
            "MAIL FROM:<a@x.test>\r\nRCPT TO:<u1@d.test>\r\nRCPT TO:<nobody@d.test>\r\n"
            "RCPT TO:<u2@d.test>\r\nRCPT TO:<u3@d.test>\r\nDATA\r\n");
  EXPECT_EQ(t.reply("250 2.1.0 OK\r\n250 2.1.5 OK\r\n550 5.1.1 <nobody@d.test> User doesn't "
                    "exist\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n354 OK\r\n"),
            kBody);
  // RFC 2033 4.2: three replies, for u1, u2, u3 in that order.
  EXPECT_EQ(t.reply("250 2.0.0 <u1@d.test> Saved\r\n"), "");
  EXPECT_TRUE(t.results.empty());
  EXPECT_EQ(t.reply("452 4.2.2 <u2@d.test> Quota exceeded\r\n"
                    "552 5.2.2 <u3@d.test> Mailbox full\r\n"),
            "");
  ASSERT_EQ(t.results.size(), 1u);
  const MessageResult& r = t.results[0];
  EXPECT_FALSE(r.failure);  // u1 got it
  ASSERT_EQ(r.rcpts.size(), 4u);
  EXPECT_TRUE(r.rcpts[0].delivered());
  ASSERT_TRUE(r.rcpts[1].failure);
  EXPECT_EQ(r.rcpts[1].failure->phase, Phase::kRcpt);
  EXPECT_TRUE(r.rcpts[1].failure->permanent);
  ASSERT_TRUE(r.rcpts[2].failure);
  EXPECT_EQ(r.rcpts[2].failure->phase, Phase::kBody);
  EXPECT_EQ(r.rcpts[2].failure->reply->code, 452);
  EXPECT_FALSE(r.rcpts[2].failure->permanent);
  ASSERT_TRUE(r.rcpts[3].failure);
  EXPECT_EQ(r.rcpts[3].failure->reply->code, 552);
  EXPECT_TRUE(r.rcpts[3].failure->permanent);
  EXPECT_EQ(r.delivered_count(), 1u);
}

TEST(LmtpSession, NextMessageOnTheSameConnectionNeedsNoRset) {
  Lmtp t;
  t.s.add(msg({"u1@d.test"}));
  t.connect();
  EXPECT_EQ(t.reply("250 OK\r\n250 OK\r\n354 OK\r\n"), kBody);
  EXPECT_EQ(t.reply("250 2.0.0 Saved\r\n"), "");
  ASSERT_EQ(t.results.size(), 1u);
  EXPECT_TRUE(t.results[0].rcpts[0].delivered());
  t.s.add(msg({"u2@d.test"}));
  t.wire.clear();
  t.pump();
  // The transaction ended with the last reply (RFC 5321 4.1.1.4).
  EXPECT_EQ(t.wire, "MAIL FROM:<a@x.test>\r\nRCPT TO:<u2@d.test>\r\nDATA\r\n");
}

TEST(LmtpSession, EveryRecipientRefusedAfterTheBodyFailsTheMessage) {
  Lmtp t;
  t.s.add(msg({"u1@d.test", "u2@d.test"}));
  t.connect();
  t.reply("250 OK\r\n250 OK\r\n250 OK\r\n354 OK\r\n");
  t.reply("550 5.7.1 rejected by sieve\r\n451 4.3.0 temporary\r\n");
  ASSERT_EQ(t.results.size(), 1u);
  const MessageResult& r = t.results[0];
  ASSERT_TRUE(r.failure);
  EXPECT_FALSE(r.failure->permanent);  // one of them is only transient
  EXPECT_EQ(r.failure->phase, Phase::kBody);
  EXPECT_EQ(r.rcpts[0].failure->reply->code, 550);
  EXPECT_EQ(r.rcpts[1].failure->reply->code, 451);
}

TEST(LmtpSession, ConnectionLostBetweenRepliesKeepsTheConfirmedOnes) {
  Lmtp t;
  t.s.add(msg({"u1@d.test", "u2@d.test", "u3@d.test"}));
  t.connect();
  t.reply("250 OK\r\n250 OK\r\n250 OK\r\n250 OK\r\n354 OK\r\n");
  t.reply("250 2.0.0 <u1@d.test> Saved\r\n");
  t.s.eof();
  t.pump();
  ASSERT_EQ(t.results.size(), 1u);
  const MessageResult& r = t.results[0];
  EXPECT_FALSE(r.failure);
  EXPECT_TRUE(r.rcpts[0].delivered());
  for (size_t i : {1u, 2u}) {
    ASSERT_TRUE(r.rcpts[i].failure);
    EXPECT_EQ(r.rcpts[i].failure->cause, Cause::kConnection);
    EXPECT_FALSE(r.rcpts[i].failure->permanent);  // deferred, never lost
  }
  EXPECT_TRUE(t.closed);
}

TEST(LmtpSession, TimeoutBeforeAnyReplyFailsEveryoneTransiently) {
  Lmtp t;
  t.s.add(msg({"u1@d.test"}));
  t.connect();
  t.reply("250 OK\r\n250 OK\r\n354 OK\r\n");
  t.s.timeout();
  t.pump();
  ASSERT_EQ(t.results.size(), 1u);
  ASSERT_TRUE(t.results[0].failure);
  EXPECT_EQ(t.results[0].failure->cause, Cause::kConnection);
  EXPECT_FALSE(t.results[0].rcpts[0].failure->permanent);
}

TEST(LmtpSession, WithoutPipeliningCommandsGoOneByOne) {
  Lmtp t;
  t.s.add(msg({"u1@d.test", "u2@d.test"}));
  EXPECT_EQ(t.connect("250 lmtp.test\r\n"), "MAIL FROM:<a@x.test>\r\n");
  EXPECT_EQ(t.reply("250 OK\r\n"), "RCPT TO:<u1@d.test>\r\n");
  EXPECT_EQ(t.reply("250 OK\r\n"), "RCPT TO:<u2@d.test>\r\n");
  EXPECT_EQ(t.reply("250 OK\r\n"), "DATA\r\n");
  EXPECT_EQ(t.reply("354 go\r\n"), kBody);
  t.reply("250 OK\r\n250 OK\r\n");
  ASSERT_EQ(t.results.size(), 1u);
  EXPECT_EQ(t.results[0].delivered_count(), 2u);
}

TEST(LmtpSession, LhloRefusedDoesNotFallBackToHelo) {
  Lmtp t;
  t.s.add(msg({"u1@d.test"}));
  t.s.start();
  t.pump();
  EXPECT_EQ(t.reply("220 lmtp.test\r\n"), "LHLO mx.test\r\n");
  // RFC 2033 4.1: HELO and EHLO are not LMTP; give up politely.
  EXPECT_EQ(t.reply("500 5.5.1 Unknown command\r\n"), "QUIT\r\n");
  ASSERT_EQ(t.results.size(), 1u);
  ASSERT_TRUE(t.results[0].failure);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kEhlo);
}

TEST(LmtpSession, A421InsteadOfAReplyDefersTheRestOnly) {
  Lmtp t;
  t.s.add(msg({"u1@d.test", "u2@d.test"}));
  t.connect();
  t.reply("250 OK\r\n250 OK\r\n250 OK\r\n354 OK\r\n");
  t.reply("250 2.0.0 Saved\r\n421 4.3.2 Shutting down\r\n");
  ASSERT_EQ(t.results.size(), 1u);
  EXPECT_TRUE(t.results[0].rcpts[0].delivered());
  ASSERT_TRUE(t.results[0].rcpts[1].failure);
  EXPECT_EQ(t.results[0].rcpts[1].failure->reply->code, 421);
  EXPECT_FALSE(t.results[0].rcpts[1].failure->permanent);
  EXPECT_TRUE(t.closed);
}

}  // namespace
}  // namespace tern
