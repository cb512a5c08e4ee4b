// The outbound relay's pure decisions (relay/remote_plan.h): the RFC 5321
// 5.1 loop rule, routes as connection attempts, the envelope as an
// OutboundMessage, and what a session's result means per recipient,
// including results made by a real ClientSession fed scripted replies.
#include "relay/remote_plan.h"

#include <gtest/gtest.h>

#include <deque>

namespace tern {
namespace {

using Kind = RcptResult::Kind;
using Cause = Failure::Cause;

asio::ip::address Ip(const char* s) { return asio::ip::make_address(s); }

Address A(std::string_view s) { return parse_mailbox(s, true).value_or(Address{}); }

Route OkRoute(std::vector<RouteHost> hosts) {
  Route r;
  r.status = RouteStatus::kOk;
  r.domain = "example.org";
  r.hosts = std::move(hosts);
  return r;
}

SelfIdentity Us() {
  SelfIdentity s;
  s.hostname = "MX.Us.Example";
  s.addresses = {Ip("192.0.2.25"), Ip("2001:db8::25")};
  return s;
}

// --- The loop rule -------------------------------------------------------------

TEST(IsSelfTest, ByNameCaseInsensitiveOrByAddress) {
  const SelfIdentity us = Us();
  EXPECT_TRUE(is_self(RouteHost{"mx.us.example", 10, {Ip("198.51.100.1")}}, us));
  EXPECT_TRUE(is_self(RouteHost{"other.example", 10, {Ip("198.51.100.1"), Ip("192.0.2.25")}}, us));
  EXPECT_TRUE(is_self(RouteHost{"v6.example", 10, {Ip("2001:db8::25")}}, us));
  EXPECT_FALSE(is_self(RouteHost{"other.example", 10, {Ip("198.51.100.1")}}, us));
  // Loopback is ours only with a wildcard listener.
  EXPECT_FALSE(is_self(RouteHost{"lo.example", 10, {Ip("127.0.0.2")}}, us));
  SelfIdentity wild = us;
  wild.any_loopback = true;
  EXPECT_TRUE(is_self(RouteHost{"lo.example", 10, {Ip("127.0.0.2")}}, wild));
  EXPECT_TRUE(is_self(RouteHost{"lo6.example", 10, {Ip("::1")}}, wild));
  EXPECT_TRUE(is_self(RouteHost{"mapped.example", 10, {Ip("::ffff:127.0.0.1")}}, wild));
  EXPECT_TRUE(is_self(RouteHost{"any.example", 10, {Ip("0.0.0.0")}}, wild));
  EXPECT_FALSE(is_self(RouteHost{"far.example", 10, {Ip("198.51.100.1")}}, wild));
  // No host name configured: never a match by name.
  SelfIdentity nameless;
  EXPECT_FALSE(is_self(RouteHost{"", 10, {}}, nameless));
}

TEST(DropSelfTest, KeepsOnlyHostsBetterThanUs) {
  Route r = OkRoute({{"mx1.example.org", 10, {Ip("198.51.100.1")}},
                     {"mx.us.example", 20, {Ip("198.51.100.2")}},
                     {"mx3.example.org", 20, {Ip("198.51.100.3")}},
                     {"mx4.example.org", 30, {Ip("198.51.100.4")}}});
  std::string looped;
  Route out = drop_self(r, Us(), &looped);
  EXPECT_EQ(out.status, RouteStatus::kOk);
  ASSERT_EQ(out.hosts.size(), 1u);
  EXPECT_EQ(out.hosts[0].name, "mx1.example.org");
  EXPECT_EQ(looped, "mx.us.example");
}

TEST(DropSelfTest, UsAsTheBestMxLoops) {
  Route r = OkRoute({{"mx0.example.org", 10, {Ip("192.0.2.25")}},  // us by address
                     {"mx1.example.org", 10, {Ip("198.51.100.1")}},
                     {"mx2.example.org", 20, {Ip("198.51.100.2")}}});
  Route out = drop_self(r, Us());
  EXPECT_EQ(out.status, RouteStatus::kFail);
  EXPECT_TRUE(out.hosts.empty());
  EXPECT_EQ(out.reply.code, 554);
  EXPECT_EQ(out.reply.enhanced, "5.4.6");
  EXPECT_EQ(out.reply.lines.back(), "mail for example.org loops back to myself");
  EXPECT_EQ(route_result(out).kind, Kind::kPermanent);
}

TEST(DropSelfTest, NotUsOrNotOkUnchanged) {
  Route r = OkRoute({{"mx1.example.org", 10, {Ip("198.51.100.1")}}});
  std::string looped = "untouched";
  EXPECT_EQ(drop_self(r, Us(), &looped).hosts, r.hosts);
  EXPECT_EQ(looped, "untouched");
  Route retry;
  retry.status = RouteStatus::kRetry;
  retry.reply = Reply(451, "4.4.3", "MX lookup failed");
  EXPECT_EQ(drop_self(retry, Us()).status, RouteStatus::kRetry);
}

// --- Routes as hops -------------------------------------------------------------

TEST(RouteHopsTest, EachHostInOrderEachAddressInTurn) {
  Route r = OkRoute({{"mx1.example.org", 10, {Ip("2001:db8::1"), Ip("198.51.100.1")}},
                     {"mx2.example.org", 20, {Ip("198.51.100.2")}}});
  std::vector<Hop> hops = route_hops(r, 2525);
  ASSERT_EQ(hops.size(), 3u);
  EXPECT_EQ(hops[0].host, "mx1.example.org");
  EXPECT_EQ(hops[0].tls_name, "mx1.example.org");
  EXPECT_EQ(hops[0].endpoint, asio::ip::tcp::endpoint(Ip("2001:db8::1"), 2525));
  EXPECT_EQ(hops[1].endpoint, asio::ip::tcp::endpoint(Ip("198.51.100.1"), 2525));
  EXPECT_EQ(hops[2].host, "mx2.example.org");
  EXPECT_EQ(hop_text(hops[0]), "mx1.example.org[2001:db8::1]:2525");
  EXPECT_EQ(hop_text(hops[2]), "mx2.example.org[198.51.100.2]:2525");
  Route failed;
  failed.status = RouteStatus::kNullMx;
  EXPECT_TRUE(route_hops(failed, 25).empty());
}

TEST(RouteHopsTest, AddressLiteralChecksTheBareAddress) {
  Route r = OkRoute({{"[192.0.2.7]", 0, {Ip("192.0.2.7")}}});
  std::vector<Hop> hops = route_hops(r, 25);
  ASSERT_EQ(hops.size(), 1u);
  EXPECT_EQ(hops[0].tls_name, "192.0.2.7");
  EXPECT_EQ(hop_text(hops[0]), "[192.0.2.7]:25");
}

TEST(RouteResultTest, StatusDecidesTheKind) {
  Route r;
  r.status = RouteStatus::kRetry;
  r.reply = Reply(451, "4.4.3", "MX lookup for x.example failed: SERVFAIL");
  EXPECT_EQ(route_result(r).kind, Kind::kTransient);
  EXPECT_EQ(route_result(r).reply.code, 451);
  EXPECT_TRUE(route_result(r).remote_mta.empty());
  r.status = RouteStatus::kNullMx;
  r.reply = Reply(556, "5.1.10", "Recipient address has null MX (x.example)");
  EXPECT_EQ(route_result(r).kind, Kind::kPermanent);
  r.status = RouteStatus::kFail;
  r.reply = Reply(550, "5.1.2", "Domain x.example does not exist");
  EXPECT_EQ(route_result(r).kind, Kind::kPermanent);
}

// --- The message ------------------------------------------------------------------

TEST(OutboundMessageTest, FromTheQueuedEnvelope) {
  Envelope env;
  env.mail.from = A("alice@example.net");
  env.mail.size = 99;  // what the submitter declared; the stored size counts
  env.mail.body = BodyType::k8BitMime;
  env.mail.smtputf8 = true;
  env.mail.ret = DsnRet::kHdrs;
  env.mail.envid = "QQ314159";
  env.mail.auth = "alice@example.net";
  env.rcpts = {RcptArgs{A("a@example.org"), kNotifySuccess | kNotifyFailure, "rfc822;a@x.example"},
               RcptArgs{A("b@example.org"), kNotifyNever, ""},
               RcptArgs{A("c@example.org"), kNotifyNone, ""}};
  OutboundMessage m = outbound_message(env, {0, 2}, BodyFacts{1234, false});
  EXPECT_EQ(m.mail.from, env.mail.from);
  EXPECT_EQ(m.mail.size, 1234u);
  EXPECT_EQ(m.mail.body, BodyType::k7Bit);  // declared 8-bit, but it is not
  EXPECT_TRUE(m.mail.smtputf8);
  EXPECT_EQ(m.mail.ret, DsnRet::kHdrs);
  EXPECT_EQ(m.mail.envid, "QQ314159");
  EXPECT_TRUE(m.mail.auth.empty());  // AUTH= is not passed on
  EXPECT_FALSE(m.mail.requiretls);
  ASSERT_EQ(m.rcpts.size(), 2u);
  EXPECT_EQ(m.rcpts[0].to, A("a@example.org"));
  EXPECT_EQ(m.rcpts[0].notify, kNotifySuccess | kNotifyFailure);
  EXPECT_EQ(m.rcpts[0].orcpt, "rfc822;a@x.example");
  EXPECT_EQ(m.rcpts[1].to, A("c@example.org"));

  EXPECT_EQ(outbound_message(env, {1}, BodyFacts{10, true}).mail.body, BodyType::k8BitMime);
  env.mail.requiretls = true;  // RFC 8689 4.2.1: passed on
  EXPECT_TRUE(outbound_message(env, {1}, BodyFacts{10, false}).mail.requiretls);
  env.mail.body = BodyType::kBinaryMime;
  EXPECT_EQ(outbound_message(env, {1}, BodyFacts{10, true}).mail.body, BodyType::kBinaryMime);
}

// --- Results, hand-made -------------------------------------------------------

Failure F(Phase phase, Cause cause, std::optional<Reply> reply = {}, std::string detail = {}) {
  Failure f;
  f.phase = phase;
  f.cause = cause;
  f.reply = std::move(reply);
  f.permanent = f.reply && f.reply->code >= 500;
  f.detail = std::move(detail);
  return f;
}

RecipientResult R(std::string_view to, std::optional<Failure> f = {}) {
  RecipientResult r;
  r.rcpt.to = A(to);
  r.failure = std::move(f);
  return r;
}

TEST(SettleTest, DeliveredAndRefusedRecipientsAreSettled) {
  MessageResult m;
  m.attempted = true;
  m.dsn_passed = true;
  m.reply = Reply(250, "2.0.0", "Ok: queued as X");
  m.rcpts = {R("a@example.org"),
             R("b@example.org", F(Phase::kRcpt, Cause::kReply, Reply(450, "4.2.1", "busy"))),
             R("c@example.org", F(Phase::kRcpt, Cause::kReply, Reply(550, "5.1.1", "no such")))};
  HopOutcome h = settle(m, "mx1.example.org");
  ASSERT_EQ(h.rcpts.size(), 3u);
  ASSERT_TRUE(h.rcpts[0] && h.rcpts[1] && h.rcpts[2]);
  EXPECT_EQ(h.rcpts[0]->kind, Kind::kDelivered);
  EXPECT_EQ(h.rcpts[0]->reply.brief(), "250 2.0.0 Ok: queued as X");
  EXPECT_EQ(h.rcpts[0]->remote_mta, "mx1.example.org");
  EXPECT_EQ(h.rcpts[1]->kind, Kind::kTransient);
  EXPECT_EQ(h.rcpts[1]->reply.brief(), "450 4.2.1 busy");
  EXPECT_EQ(h.rcpts[2]->kind, Kind::kPermanent);
  EXPECT_EQ(h.rcpts[2]->reply.brief(), "550 5.1.1 no such");
  EXPECT_EQ(h.rcpts[2]->remote_mta, "mx1.example.org");
  EXPECT_TRUE(h.delivered);
  EXPECT_TRUE(h.dsn_passed);
  EXPECT_FALSE(h.tls_handshake_failed);
}

TEST(SettleTest, TroubleWithTheHostSettlesNothing) {
  struct Case {
    Failure f;
    std::string retry;  // reply_line of the retry reply
  };
  const std::vector<Case> cases = {
      {F(Phase::kConnect, Cause::kConnection, {}, "cannot connect to 192.0.2.1:25: refused"),
       "451 4.4.1 connect: cannot connect to 192.0.2.1:25: refused"},
      {F(Phase::kGreeting, Cause::kReply, Reply(421, "4.3.2", "busy")),
       "421 4.3.2 greeting: 421 4.3.2 busy"},
      {F(Phase::kGreeting, Cause::kReply, Reply(554, "5.7.1", "go away")),
       "451 4.7.1 greeting: 554 5.7.1 go away"},
      {F(Phase::kEhlo, Cause::kReply, Reply(502, "", "no")), "451 4.3.0 ehlo: 502 no"},
      {F(Phase::kStartTls, Cause::kTls, {}, "TLS handshake failed: wrong version number"),
       "451 4.7.5 starttls: TLS handshake failed: wrong version number"},
      {F(Phase::kAuth, Cause::kReply, Reply(535, "5.7.8", "bad credentials")),
       "451 4.7.8 auth: 535 5.7.8 bad credentials"},
      {F(Phase::kMail, Cause::kReply, Reply(451, "4.3.0", "try later")), "451 4.3.0 try later"},
      {F(Phase::kRcpt, Cause::kReply, Reply(421, "4.4.2", "closing")), "421 4.4.2 closing"},
      {F(Phase::kData, Cause::kReply, Reply(452, "4.3.1", "full")), "452 4.3.1 full"},
      {F(Phase::kBody, Cause::kConnection, {}, "the connection was closed"),
       "451 4.4.2 body: the connection was closed"},
      {F(Phase::kBody, Cause::kProtocol, {}, "unexpected reply"),
       "451 4.5.0 body: unexpected reply"},
  };
  for (const Case& c : cases) {
    MessageResult m;
    m.failure = c.f;
    m.rcpts = {R("a@example.org", c.f), R("b@example.org", c.f)};
    HopOutcome h = settle(m, "mx1.example.org");
    ASSERT_EQ(h.rcpts.size(), 2u);
    EXPECT_FALSE(h.rcpts[0]) << c.retry;
    EXPECT_FALSE(h.rcpts[1]) << c.retry;
    EXPECT_EQ(h.retry.kind, Kind::kTransient);
    EXPECT_EQ(h.retry.remote_mta, "mx1.example.org");
    const Reply& r = h.retry.reply;
    std::string line = std::to_string(r.code) + (r.enhanced.empty() ? "" : " " + r.enhanced) + " " +
                       r.lines.back();
    EXPECT_EQ(line, c.retry);
    EXPECT_EQ(h.tls_handshake_failed, c.f.phase == Phase::kStartTls) << c.retry;
    EXPECT_FALSE(h.delivered);
  }
}

TEST(SettleTest, PermanentRefusalsOfTheTransactionAreSettled) {
  for (const Failure& f : {F(Phase::kMail, Cause::kReply, Reply(550, "5.7.1", "sender refused")),
                           F(Phase::kData, Cause::kReply, Reply(554, "5.5.1", "no valid rcpt")),
                           F(Phase::kBody, Cause::kReply, Reply(552, "5.3.4", "too big"))}) {
    MessageResult m;
    m.failure = f;
    m.rcpts = {R("a@example.org", f)};
    HopOutcome h = settle(m, "mx1.example.org");
    ASSERT_TRUE(h.rcpts[0]) << f.describe();
    EXPECT_EQ(h.rcpts[0]->kind, Kind::kPermanent);
    EXPECT_EQ(h.rcpts[0]->reply.brief(), f.reply->brief());
    EXPECT_EQ(h.rcpts[0]->remote_mta, "mx1.example.org");
  }
}

TEST(SettleTest, LocalRefusalIsOursAndNamesTheHost) {
  Failure f = F(Phase::kMail, Cause::kLocal,
                Reply(553, "5.6.7", "The message needs SMTPUTF8, which the server does not offer"));
  MessageResult m;
  m.failure = f;
  m.rcpts = {R("a@example.org", f)};
  HopOutcome h = settle(m, "mx1.example.org");
  ASSERT_TRUE(h.rcpts[0]);
  EXPECT_EQ(h.rcpts[0]->kind, Kind::kPermanent);
  EXPECT_EQ(h.rcpts[0]->reply.code, 553);
  EXPECT_EQ(h.rcpts[0]->reply.enhanced, "5.6.7");
  EXPECT_EQ(h.rcpts[0]->reply.lines.back(),
            "The message needs SMTPUTF8, which the server does not offer (mx1.example.org)");
  EXPECT_TRUE(h.rcpts[0]->remote_mta.empty());
}

// --- Results from a real session ---------------------------------------------

// Drives a ClientSession with one message against scripted server replies
// (one per read), the way ClientConnection does; returns the result.
MessageResult Drive(OutboundMessage msg, std::deque<std::string> replies,
                    std::string tls_error = {}) {
  ClientSessionOptions o;
  o.helo_name = "client.example";
  o.tls = TlsPolicy::kOpportunistic;
  ClientSession s(o);
  s.add(std::move(msg));
  s.quit();
  s.start();
  MessageResult out;
  for (int guard = 0; guard < 100; ++guard) {
    ClientSession::Action a = s.next();
    switch (a.kind) {
      case ClientSession::Action::kSend:
        break;
      case ClientSession::Action::kNeedInput:
        if (replies.empty()) {
          s.eof();
        } else {
          s.receive(replies.front());
          replies.pop_front();
        }
        break;
      case ClientSession::Action::kStartTls:
        if (tls_error.empty()) {
          s.tls_started();
        } else {
          s.tls_failed(tls_error);
        }
        break;
      case ClientSession::Action::kSendBody: {
        DotEncoder e = s.body_encoder();
        std::string wire;
        e.encode("Subject: x\r\n\r\nhello\r\n", &wire);
        e.finish(&wire);
        s.body_sent(e);
        break;
      }
      case ClientSession::Action::kMessageDone:
        out = *a.result;
        break;
      case ClientSession::Action::kIdle:
      case ClientSession::Action::kClose:
        return out;
    }
  }
  ADD_FAILURE() << "the session did not end";
  return out;
}

OutboundMessage Msg(std::vector<std::string_view> rcpts) {
  OutboundMessage m;
  m.mail.from = A("alice@example.net");
  for (std::string_view r : rcpts) m.rcpts.push_back(RcptArgs{A(r), kNotifyNone, ""});
  return m;
}

const char* kGreeting = "220 mx.example.org ESMTP\r\n";
const char* kEhlo = "250-mx.example.org\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n";

TEST(SettleSessionTest, PartialAcceptance) {
  MessageResult m =
      Drive(Msg({"a@example.org", "b@example.org", "c@example.org"}),
            {kGreeting, kEhlo, "250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n", "450 4.2.1 busy\r\n",
             "550 5.1.1 unknown\r\n", "354 go\r\n", "250 2.0.0 queued as Q\r\n", "221 bye\r\n"});
  HopOutcome h = settle(m, "mx.example.org");
  ASSERT_EQ(h.rcpts.size(), 3u);
  ASSERT_TRUE(h.rcpts[0] && h.rcpts[1] && h.rcpts[2]);
  EXPECT_EQ(h.rcpts[0]->kind, Kind::kDelivered);
  EXPECT_EQ(h.rcpts[0]->reply.brief(), "250 2.0.0 queued as Q");
  EXPECT_EQ(h.rcpts[1]->kind, Kind::kTransient);
  EXPECT_EQ(h.rcpts[2]->kind, Kind::kPermanent);
}

TEST(SettleSessionTest, EveryRecipientRefusedEachKeepsItsOwnReply) {
  MessageResult m = Drive(Msg({"a@example.org", "b@example.org"}),
                          {kGreeting, kEhlo, "250 2.1.0 ok\r\n", "450 4.2.1 busy\r\n",
                           "550 5.1.1 unknown\r\n", "250 2.0.0 reset\r\n", "221 bye\r\n"});
  ASSERT_TRUE(m.failure);
  HopOutcome h = settle(m, "mx.example.org");
  ASSERT_TRUE(h.rcpts[0] && h.rcpts[1]);
  EXPECT_EQ(h.rcpts[0]->kind, Kind::kTransient);
  EXPECT_EQ(h.rcpts[0]->reply.brief(), "450 4.2.1 busy");
  EXPECT_EQ(h.rcpts[1]->kind, Kind::kPermanent);
  EXPECT_EQ(h.rcpts[1]->reply.brief(), "550 5.1.1 unknown");
}

TEST(SettleSessionTest, GreetingAndLostConnectionGoToTheNextHost) {
  MessageResult m = Drive(Msg({"a@example.org"}), {"421 4.3.2 not now\r\n"});
  HopOutcome h = settle(m, "mx.example.org");
  EXPECT_FALSE(h.rcpts[0]);
  EXPECT_EQ(h.retry.reply.code, 421);

  // The connection drops after the body: not settled (the next host may
  // get a second copy: at least once).
  m = Drive(Msg({"a@example.org"}),
            {kGreeting, kEhlo, "250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n", "354 go\r\n"});
  h = settle(m, "mx.example.org");
  EXPECT_FALSE(h.rcpts[0]);
  EXPECT_EQ(h.retry.reply.enhanced, "4.4.2");
}

TEST(SettleSessionTest, StartTlsHandshakeFailureIsFlagged) {
  MessageResult m = Drive(Msg({"a@example.org"}),
                          {kGreeting, "250-mx.example.org\r\n250 STARTTLS\r\n", "220 go ahead\r\n"},
                          "wrong version number");
  HopOutcome h = settle(m, "mx.example.org");
  EXPECT_TRUE(h.tls_handshake_failed);
  EXPECT_FALSE(h.rcpts[0]);
  EXPECT_EQ(h.retry.reply.enhanced, "4.7.5");
}

}  // namespace
}  // namespace tern
