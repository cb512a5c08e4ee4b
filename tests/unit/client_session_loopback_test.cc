// ClientSession against the real ServerSession, entirely in memory: the
// bytes one writes are the bytes the other reads. Proves the two agree, and
// that a body carrying every SMTP smuggling variant arrives as one message.
#include <gtest/gtest.h>

#include <map>

#include "core/client_session.h"
#include "core/server_session.h"
#include "testlib.h"

namespace tern {
namespace {

class Env : public SessionEnv {
 public:
  RcptVerdict check_rcpt(const Address& rcpt, const std::string& auth_user) override {
    if (rcpt.domain == "local.test") {
      return rcpt.local == "alice" || rcpt.local == "bob" ? RcptVerdict::kLocal
                                                          : RcptVerdict::kUnknownUser;
    }
    if (rcpt.domain == "tempfail.test") return RcptVerdict::kTempFail;
    return auth_user.empty() ? RcptVerdict::kRelayDenied : RcptVerdict::kRelay;
  }
  bool mailbox_exists(const Address&) override { return false; }
  std::string new_queue_id() override { return "Q" + std::to_string(++ids); }
  int64_t now() override { return 1795424400; }
  int ids = 0;
};

Address addr(std::string_view s) {
  auto a = parse_mailbox(s, true);
  EXPECT_TRUE(a) << s;
  return a.value_or(Address{});
}

OutboundMessage msg(std::string_view from, std::vector<std::string_view> rcpts) {
  OutboundMessage m;
  m.mail.from = addr(from);
  for (std::string_view r : rcpts) m.rcpts.push_back(RcptArgs{addr(r), kNotifyNone, ""});
  return m;
}

ClientSessionOptions client_options() {
  ClientSessionOptions o;
  o.helo_name = "client.test";
  o.tls = TlsPolicy::kOpportunistic;
  return o;
}

struct Loopback {
  explicit Loopback(SessionOptions so = {}, ClientSessionOptions co = client_options())
      : server(so, &env, "192.0.2.7"), client(std::move(co)) {}

  uint64_t add(OutboundMessage m, std::string body = "Subject: hello\r\n\r\nhi\r\n") {
    BodyScanner scan;
    scan.feed(body);
    m.mail.size = scan.size();  // as the relay would, from the spool
    if (scan.eight_bit()) m.mail.body = BodyType::k8BitMime;
    uint64_t id = client.add(std::move(m));
    bodies[id] = std::move(body);
    return id;
  }

  // The server side, as its I/O layer would run it; replies go to to_client.
  void pump_server() {
    for (;;) {
      ServerSession::Action a = server.next();
      switch (a.kind) {
        case ServerSession::Action::kSend:
          to_client += a.data;
          break;
        case ServerSession::Action::kNeedInput:
          return;
        case ServerSession::Action::kStartTls:
          server.tls_started({"TLSv1.3", "TLS_AES_128_GCM_SHA256"});
          break;
        case ServerSession::Action::kCheckAuth:
          auths.push_back(server.auth_request());
          server.auth_checked(server.auth_request().password == "secret");
          break;
        case ServerSession::Action::kMessageBegin:
          current.clear();
          envelopes.push_back(server.envelope());
          break;
        case ServerSession::Action::kMessageData:
          current += a.data;
          break;
        case ServerSession::Action::kMessageEnd:
          stored.push_back(current);
          if (drain_after_first) server.set_draining();
          server.message_stored(Status::Ok());
          break;
        case ServerSession::Action::kMessageAbort:
          ++aborts;
          break;
        case ServerSession::Action::kClose:
          server_closed = true;
          return;
      }
    }
  }

  void to_server(std::string_view bytes) {
    client_wire += bytes;
    server.receive(bytes);
    pump_server();
  }

  // Runs both sides until the client closes.
  void run() {
    server.start();
    pump_server();
    client.start();
    for (int guard = 0; guard < 100000; ++guard) {
      ClientSession::Action a = client.next();
      switch (a.kind) {
        case ClientSession::Action::kSend:
          to_server(a.data);
          break;
        case ClientSession::Action::kNeedInput:
          if (!to_client.empty()) {
            client.receive(to_client);
            to_client.clear();
          } else if (server_closed) {
            client.eof();
          } else {
            ADD_FAILURE() << "both sides wait";
            return;
          }
          break;
        case ClientSession::Action::kStartTls:
          ++tls_handshakes;
          client.tls_started();
          break;
        case ClientSession::Action::kSendBody: {
          // Fed in pieces of 7, to cut CRLFs and variants anywhere.
          DotEncoder e = client.body_encoder();
          const std::string& body = bodies[a.message];
          std::string out;
          for (size_t i = 0; i < body.size(); i += 7) e.encode(body.substr(i, 7), &out);
          e.finish(&out);
          to_server(out);
          client.body_sent(e);
          break;
        }
        case ClientSession::Action::kMessageDone:
          results.push_back(*a.result);
          break;
        case ClientSession::Action::kIdle:
          client.quit();
          break;
        case ClientSession::Action::kClose:
          return;
      }
    }
    ADD_FAILURE() << "no end";
  }

  // The stored message without the Received header the server put on top.
  std::string body_of(size_t i) const {
    const std::string& s = stored.at(i);
    size_t end = s.find("\r\n", s.find("; "));  // Received ends with "; date\r\n"
    return end == std::string::npos ? s : s.substr(end + 2);
  }

  Env env;
  ServerSession server;
  ClientSession client;
  std::map<uint64_t, std::string> bodies;
  std::string to_client, client_wire, current;
  std::vector<std::string> stored;
  std::vector<Envelope> envelopes;
  std::vector<MessageResult> results;
  std::vector<AuthRequest> auths;
  int aborts = 0, tls_handshakes = 0;
  bool server_closed = false, drain_after_first = false;
};

TEST(ClientSessionLoopback, DeliveryWithStartTlsAndPipelining) {
  Loopback l;
  l.add(msg("sender@far.test", {"alice@local.test", "bob@local.test"}));
  l.run();
  EXPECT_EQ(l.tls_handshakes, 1);
  EXPECT_TRUE(l.client.tls_active());
  EXPECT_TRUE(l.client.capabilities().pipelining);
  ASSERT_EQ(l.results.size(), 1u);
  const MessageResult& r = l.results[0];
  EXPECT_FALSE(r.failure);
  EXPECT_EQ(r.delivered_count(), 2u);
  EXPECT_EQ(r.reply->brief(), "250 2.0.0 Ok: queued as Q1");
  ASSERT_EQ(l.stored.size(), 1u);
  EXPECT_EQ(l.body_of(0), "Subject: hello\r\n\r\nhi\r\n");
  ASSERT_EQ(l.envelopes.size(), 1u);
  EXPECT_EQ(l.envelopes[0].mail.from.str(), "sender@far.test");
  EXPECT_EQ(*l.envelopes[0].mail.size, 22u);
  EXPECT_EQ(l.envelopes[0].rcpts.size(), 2u);
  EXPECT_TRUE(l.server_closed);  // after QUIT
  EXPECT_FALSE(l.client.connection_failure());
}

TEST(ClientSessionLoopback, PerRecipientResults) {
  Loopback l;
  l.add(msg("s@far.test", {"alice@local.test", "nobody@local.test", "x@tempfail.test"}));
  l.run();
  const MessageResult& r = l.results.at(0);
  EXPECT_FALSE(r.failure);
  EXPECT_TRUE(r.rcpts[0].delivered());
  EXPECT_EQ(r.rcpts[1].failure->reply->brief().substr(0, 9), "550 5.1.1");
  EXPECT_TRUE(r.rcpts[1].failure->permanent);
  EXPECT_EQ(r.rcpts[2].failure->reply->code, 451);
  EXPECT_FALSE(r.rcpts[2].failure->permanent);
  ASSERT_EQ(l.envelopes.size(), 1u);
  ASSERT_EQ(l.envelopes[0].rcpts.size(), 1u);
  EXPECT_EQ(l.envelopes[0].rcpts[0].to.str(), "alice@local.test");
}

TEST(ClientSessionLoopback, SeveralMessagesOneConnection) {
  Loopback l;
  l.add(msg("s@far.test", {"alice@local.test"}), "one\r\n");
  l.add(msg("s@far.test", {"nobody@local.test"}), "two\r\n");  // refused: RSET follows
  l.add(msg("s@far.test", {"relay@elsewhere.test"}), "three\r\n");
  l.add(msg("s@far.test", {"bob@local.test"}), "four\r\n");
  l.run();
  ASSERT_EQ(l.results.size(), 4u);
  EXPECT_FALSE(l.results[0].failure);
  EXPECT_EQ(l.results[1].failure->phase, Phase::kRcpt);
  EXPECT_EQ(l.results[2].failure->reply->brief().substr(0, 9), "550 5.7.1");
  EXPECT_FALSE(l.results[3].failure);
  ASSERT_EQ(l.stored.size(), 2u);
  EXPECT_EQ(l.body_of(0), "one\r\n");
  EXPECT_EQ(l.body_of(1), "four\r\n");
  EXPECT_EQ(l.server.messages_accepted(), 2u);
  size_t rsets = 0;
  for (size_t p = l.client_wire.find("RSET\r\n"); p != std::string::npos;
       p = l.client_wire.find("RSET\r\n", p + 1))
    ++rsets;
  EXPECT_EQ(rsets, 2u);  // before messages 3 and 4 only
}

SessionOptions submission() {
  SessionOptions o;
  o.listener = "submission";
  o.auth_enabled = true;
  o.auth_required = true;
  return o;
}

TEST(ClientSessionLoopback, AuthPlainAndLogin) {
  for (std::string mech : {"", "LOGIN"}) {
    ClientSessionOptions co = client_options();
    co.auth = Credentials{"alice", "secret", "", mech};
    Loopback l(submission(), co);
    l.add(msg("alice@local.test", {"friend@far.test"}));
    l.run();
    EXPECT_TRUE(l.client.authenticated()) << mech;
    ASSERT_EQ(l.auths.size(), 1u);
    EXPECT_EQ(l.auths[0].mechanism, mech.empty() ? "PLAIN" : mech);
    EXPECT_EQ(l.auths[0].user, "alice");
    ASSERT_EQ(l.results.size(), 1u);
    EXPECT_FALSE(l.results[0].failure) << l.results[0].failure->describe();
    EXPECT_EQ(l.envelopes.at(0).auth_user, "alice");
  }
}

TEST(ClientSessionLoopback, AuthRefused) {
  ClientSessionOptions co = client_options();
  co.auth = Credentials{"alice", "wrong", "", ""};
  Loopback l(submission(), co);
  l.add(msg("alice@local.test", {"friend@far.test"}));
  l.run();
  ASSERT_EQ(l.results.size(), 1u);
  const Failure& f = *l.results[0].failure;
  EXPECT_EQ(f.phase, Phase::kAuth);
  EXPECT_EQ(f.reply->brief(), "535 5.7.8 Authentication credentials invalid");
  EXPECT_TRUE(f.permanent);
  EXPECT_TRUE(l.stored.empty());
}

TEST(ClientSessionLoopback, RequiredTlsAgainstAServerWithoutIt) {
  SessionOptions so;
  so.tls_available = false;
  ClientSessionOptions co = client_options();
  co.tls = TlsPolicy::kRequired;
  Loopback l(so, co);
  l.add(msg("s@far.test", {"alice@local.test"}));
  l.run();
  EXPECT_EQ(l.results.at(0).failure->cause, Failure::Cause::kTls);
  EXPECT_TRUE(l.server_closed);  // QUIT was sent and answered
  EXPECT_TRUE(l.stored.empty());
}

TEST(ClientSessionLoopback, Bdat) {
  ClientSessionOptions co = client_options();
  co.chunking = true;
  Loopback l({}, co);
  const std::string body = "Subject: b\r\n\r\n.starts with a dot\nbare LF\rbare CR";
  l.add(msg("s@far.test", {"alice@local.test"}), body);
  l.run();
  EXPECT_TRUE(l.results.at(0).bdat);
  EXPECT_FALSE(l.results.at(0).failure);
  EXPECT_NE(l.client_wire.find("BDAT "), std::string::npos);
  EXPECT_EQ(l.client_wire.find("DATA\r\n"), std::string::npos);
  ASSERT_EQ(l.stored.size(), 1u);
  EXPECT_EQ(l.body_of(0), testlib::normalised(body));
}

TEST(ClientSessionLoopback, EightBitUtf8AndDsnReachTheServer) {
  Loopback l;
  OutboundMessage m = msg("j\xc3\xb6rg@far.test", {"alice@local.test"});
  m.mail.ret = DsnRet::kHdrs;
  m.mail.envid = "env id+1";
  m.rcpts[0].notify = kNotifyFailure | kNotifyDelay;
  m.rcpts[0].orcpt = "rfc822;alice+x@local.test";
  l.add(m, "Subject: caf\xc3\xa9\r\n\r\nna\xc3\xafve\r\n");
  l.run();
  ASSERT_FALSE(l.results.at(0).failure) << l.results[0].failure->describe();
  EXPECT_TRUE(l.results[0].dsn_passed);
  ASSERT_EQ(l.envelopes.size(), 1u);
  const Envelope& e = l.envelopes[0];
  EXPECT_TRUE(e.mail.smtputf8);
  EXPECT_EQ(e.mail.body, BodyType::k8BitMime);
  EXPECT_EQ(e.mail.ret, DsnRet::kHdrs);
  EXPECT_EQ(e.mail.envid, "env id+1");
  EXPECT_EQ(e.rcpts[0].notify, kNotifyFailure | kNotifyDelay);
  EXPECT_EQ(e.rcpts[0].orcpt, "rfc822;alice+x@local.test");
  EXPECT_EQ(l.body_of(0), "Subject: caf\xc3\xa9\r\n\r\nna\xc3\xafve\r\n");
}

TEST(ClientSessionLoopback, TooBigIsRefusedBeforeSending) {
  SessionOptions so;
  so.max_message_size = 100;
  Loopback l(so);
  l.add(msg("s@far.test", {"alice@local.test"}), std::string(200, 'x') + "\r\n");
  l.add(msg("s@far.test", {"bob@local.test"}), "small\r\n");
  l.run();
  EXPECT_EQ(l.results.at(0).failure->reply->brief().substr(0, 9), "552 5.3.4");
  EXPECT_EQ(l.results[0].failure->cause, Failure::Cause::kLocal);
  EXPECT_FALSE(l.results.at(1).failure);
  EXPECT_EQ(l.stored.size(), 1u);
}

TEST(ClientSessionLoopback, UnderstatedSizeIsRefusedByTheServer) {
  SessionOptions so;
  so.max_message_size = 100;
  Loopback l(so);
  OutboundMessage m = msg("s@far.test", {"alice@local.test"});
  l.client.add(m);  // no size known: DATA, and the server counts
  l.bodies[1] = std::string(200, 'x') + "\r\n";
  l.run();
  const Failure& f = *l.results.at(0).failure;
  EXPECT_EQ(f.phase, Phase::kBody);
  EXPECT_EQ(f.reply->code, 552);
  EXPECT_TRUE(f.permanent);
  EXPECT_EQ(l.aborts, 1);
}

TEST(ClientSessionLoopback, ServerDrainingAfterTheFirstMessage) {
  Loopback l;
  l.drain_after_first = true;
  l.add(msg("s@far.test", {"alice@local.test"}));
  l.add(msg("s@far.test", {"bob@local.test"}));
  l.run();
  ASSERT_EQ(l.results.size(), 2u);
  EXPECT_FALSE(l.results[0].failure);  // its 250 came before the 421
  EXPECT_EQ(l.results[1].failure->reply->code, 421);
  EXPECT_FALSE(l.results[1].failure->permanent);
  EXPECT_FALSE(l.results[1].attempted);
  EXPECT_EQ(l.stored.size(), 1u);
}

// smuggling.md, "sending side": every variant in one body, under both of
// the server's bare-newline policies, by DATA and by BDAT.
TEST(ClientSessionLoopback, SmugglingVariantsArriveAsOneIntactMessage) {
  const std::vector<std::string> variants = {"\n.\n",
                                             "\n.\r\n",
                                             "\r.\r",
                                             "\r.\r\n",
                                             "\r.\n",
                                             "\n.\r",
                                             "\r\n.\n",
                                             "\r\n.\r",
                                             std::string("\r\n\0.\r\n", 6),
                                             std::string("\r\n.\0\r\n", 6),
                                             std::string("\r\0\n.\r\n", 6),
                                             std::string("\r\n.\r\0\n", 6),
                                             "\r\n.\r\r\n",
                                             "\r\r\n.\r\r\n",
                                             std::string("\0\r\n.\r\n", 6),
                                             std::string("\r\n.\r\n\0", 6)};
  for (const std::string& v : variants) {
    const std::string body = "From: a@x\r\nTo: rcpt@server\r\nSubject: test\r\n\r\nbody line" + v +
                             "MAIL FROM:<smuggled@x>\r\nRCPT TO:<alice@local.test>\r\nDATA\r\n"
                             "From: smuggled@x\r\nSubject: SMUGGLED\r\n\r\nsmuggled body\r\n.\r\n";
    for (BareNewline policy : {BareNewline::kReject, BareNewline::kNormalize}) {
      for (bool bdat : {false, true}) {
        SessionOptions so;
        so.bare_newline = policy;
        ClientSessionOptions co = client_options();
        co.chunking = bdat;
        Loopback l(so, co);
        l.add(msg("s@far.test", {"alice@local.test"}), body);
        l.run();
        SCOPED_TRACE(testing::Message() << "variant " << testing::PrintToString(v) << " bdat "
                                        << bdat << " policy " << static_cast<int>(policy));
        ASSERT_EQ(l.results.size(), 1u);
        EXPECT_FALSE(l.results[0].failure);
        EXPECT_EQ(l.results[0].bdat, bdat);
        ASSERT_EQ(l.stored.size(), 1u);  // exactly one message, never two
        EXPECT_EQ(l.envelopes.size(), 1u);
        EXPECT_EQ(l.body_of(0), testlib::normalised(body));
        EXPECT_NE(l.body_of(0).find("MAIL FROM:<smuggled@x>"), std::string::npos);
        EXPECT_EQ(l.aborts, 0);
      }
    }
  }
}

}  // namespace
}  // namespace tern
