// ClientSession driven by scripted server replies: the exact bytes it sends,
// how it batches them, and the typed result of every message and recipient.
#include "core/client_session.h"

#include <gtest/gtest.h>

#include <map>

#include "core/base64.h"

namespace tern {
namespace {

using V = std::vector<std::string>;
using Kind = ClientSession::Action::Kind;
using Cause = Failure::Cause;

Address addr(std::string_view s) {
  if (s.empty()) return Address{};
  auto a = parse_mailbox(s, true);
  EXPECT_TRUE(a) << s;
  return a.value_or(Address{});
}

OutboundMessage msg(std::string_view from, std::vector<std::string_view> rcpts,
                    std::optional<uint64_t> size = {}) {
  OutboundMessage m;
  m.mail.from = addr(from);
  m.mail.size = size;
  for (std::string_view r : rcpts) m.rcpts.push_back(RcptArgs{addr(r), kNotifyNone, ""});
  return m;
}

std::string ehlo(std::vector<std::string> keywords) {
  Reply r(250, "", std::vector<std::string>{"mx.test Hello client.test"});
  for (auto& k : keywords) r.lines.push_back(k);
  return r.wire();
}

ClientSessionOptions plain() {
  ClientSessionOptions o;
  o.helo_name = "client.test";
  o.tls = TlsPolicy::kNone;
  return o;
}

// Runs a session the way the I/O layer does. Server bytes go in with
// reply(); what the client writes comes back from it.
struct Script {
  explicit Script(ClientSessionOptions o = plain()) : s(with_transcript(std::move(o))) {}

  ClientSessionOptions with_transcript(ClientSessionOptions o) {
    o.transcript = [this](TranscriptDir d, std::string_view line) {
      transcript.push_back((d == TranscriptDir::kSent ? "C: " : "S: ") + std::string(line));
    };
    return o;
  }

  // Runs until the session waits for input, is idle or closed.
  void pump() {
    for (int guard = 0; guard < 1000; ++guard) {
      ClientSession::Action a = s.next();
      last = a.kind;
      switch (a.kind) {
        case Kind::kSend:
          wire += a.data;
          sends.emplace_back(a.data);
          break;
        case Kind::kNeedInput:
          timeouts.push_back(a.timeout.count());
          return;
        case Kind::kStartTls:
          ++tls_requests;
          if (!between_tls.empty()) s.receive(between_tls);  // must be dropped
          if (tls_ok) {
            s.tls_started();
          } else {
            s.tls_failed("certificate verify failed");
          }
          break;
        case Kind::kSendBody: {
          DotEncoder e = s.body_encoder();
          std::string out;
          const std::string& body = bodies[a.message];
          e.encode(a.data, &out);  // the trace fields, when there are some
          e.encode(body, &out);
          e.finish(&out);
          if (truncate_body) out.resize(out.size() / 2);
          wire += out;
          sends.push_back(out);
          body_ids.push_back(a.message);
          s.body_sent(e);
          break;
        }
        case Kind::kMessageDone:
          results.push_back(*a.result);
          break;
        case Kind::kIdle:
          ++idles;
          return;
        case Kind::kClose:
          closed = true;
          return;
      }
    }
    FAIL() << "session does not settle";
  }
  void start() {
    s.start();
    pump();
  }
  // Feeds server bytes; returns what the client wrote in answer.
  std::string reply(std::string_view server) {
    wire.clear();
    s.receive(server);
    pump();
    return wire;
  }
  uint64_t add(OutboundMessage m, std::string body = "Subject: t\r\n\r\nhi\r\n") {
    uint64_t id = s.add(std::move(m));
    bodies[id] = std::move(body);
    return id;
  }
  // Greeting and EHLO with these keywords; returns the bytes after EHLO.
  std::string connect(std::vector<std::string> keywords) {
    start();
    EXPECT_EQ(reply("220 mx.test ESMTP\r\n"), "EHLO client.test\r\n");
    return reply(ehlo(std::move(keywords)));
  }

  ClientSession s;
  std::string wire;
  V sends;
  V transcript;
  std::vector<MessageResult> results;
  std::map<uint64_t, std::string> bodies;
  std::vector<uint64_t> body_ids;
  std::vector<long> timeouts;
  std::string between_tls;
  Kind last = Kind::kIdle;
  int tls_requests = 0, idles = 0;
  bool tls_ok = true, closed = false, truncate_body = false;
};

// --- Greeting and EHLO ------------------------------------------------------

TEST(ClientSession, GreetingEhloThenIdleThenQuit) {
  Script t;
  t.start();
  EXPECT_EQ(t.wire, "");  // nothing before the greeting
  EXPECT_EQ(t.last, Kind::kNeedInput);
  EXPECT_EQ(t.timeouts.back(), 300);  // RFC 5321 4.5.3.2.1
  EXPECT_EQ(t.reply("220 mx.test ESMTP\r\n"), "EHLO client.test\r\n");
  EXPECT_EQ(t.reply(ehlo({"PIPELINING", "SIZE 1000"})), "");
  EXPECT_EQ(t.last, Kind::kIdle);
  EXPECT_TRUE(t.s.capabilities().esmtp);
  EXPECT_TRUE(t.s.capabilities().pipelining);
  EXPECT_EQ(t.s.capabilities().max_size, 1000u);
  t.s.quit();
  t.wire.clear();
  t.pump();
  EXPECT_EQ(t.wire, "QUIT\r\n");
  EXPECT_EQ(t.reply("221 2.0.0 Bye\r\n"), "");
  EXPECT_TRUE(t.closed);
  EXPECT_TRUE(t.s.closed());
  EXPECT_FALSE(t.s.connection_failure());
  EXPECT_EQ(t.transcript,
            (V{"S: 220 mx.test ESMTP", "C: EHLO client.test", "S: 250-mx.test Hello client.test",
               "S: 250-PIPELINING", "S: 250 SIZE 1000", "C: QUIT", "S: 221 2.0.0 Bye"}));
}

TEST(ClientSession, MultiLineGreetingInPieces) {
  Script t;
  t.start();
  EXPECT_EQ(t.reply("220-mx.test ESMTP\r\n220-"), "");
  EXPECT_EQ(t.reply("welcome\r\n220 "), "");
  EXPECT_EQ(t.reply("go\r\n"), "EHLO client.test\r\n");
}

TEST(ClientSession, Greeting554FailsEveryMessageAndStillQuits) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.add(msg("a@x.test", {"c@y.test"}));
  t.start();
  // RFC 5321 3.1: the client sends QUIT after a 554 greeting.
  EXPECT_EQ(t.reply("554 5.7.1 No SMTP service here\r\n"), "QUIT\r\n");
  ASSERT_EQ(t.results.size(), 2u);
  for (const MessageResult& r : t.results) {
    ASSERT_TRUE(r.failure);
    EXPECT_FALSE(r.attempted);
    EXPECT_EQ(r.failure->phase, Phase::kGreeting);
    EXPECT_EQ(r.failure->cause, Cause::kReply);
    EXPECT_TRUE(r.failure->permanent);
    EXPECT_EQ(r.failure->reply->code, 554);
    EXPECT_FALSE(r.rcpts[0].delivered());
  }
  EXPECT_EQ(t.results[0].id, 1u);
  EXPECT_EQ(t.results[1].id, 2u);
  t.reply("221 Bye\r\n");
  EXPECT_TRUE(t.closed);
  ASSERT_TRUE(t.s.connection_failure());
  EXPECT_EQ(t.s.connection_failure()->describe(), "greeting: 554 5.7.1 No SMTP service here");
}

TEST(ClientSession, Greeting421ClosesWithoutQuit) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.start();
  EXPECT_EQ(t.reply("421 4.3.2 busy\r\n"), "");
  EXPECT_TRUE(t.closed);
  ASSERT_EQ(t.results.size(), 1u);
  EXPECT_FALSE(t.results[0].failure->permanent);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kGreeting);
}

TEST(ClientSession, Greeting4xxIsTransientAndQuits) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.start();
  EXPECT_EQ(t.reply("450 try later\r\n"), "QUIT\r\n");
  EXPECT_FALSE(t.results[0].failure->permanent);
}

TEST(ClientSession, HeloFallbackOn500And502) {
  for (std::string_view refusal :
       {"500 5.5.1 Command unrecognized\r\n", "502 Not implemented\r\n"}) {
    Script t;
    t.add(msg("a@x.test", {"b@y.test"}, 42));
    t.s.quit();
    t.start();
    t.reply("220 old.test\r\n");
    EXPECT_EQ(t.reply(refusal), "HELO client.test\r\n");
    // No extensions after HELO: no SIZE=, one command at a time.
    EXPECT_EQ(t.reply("250 old.test\r\n"), "MAIL FROM:<a@x.test>\r\n");
    EXPECT_FALSE(t.s.capabilities().esmtp);
    EXPECT_EQ(t.reply("250 ok\r\n"), "RCPT TO:<b@y.test>\r\n");
    EXPECT_EQ(t.reply("250 ok\r\n"), "DATA\r\n");
    EXPECT_EQ(t.reply("354 go\r\n"), "Subject: t\r\n\r\nhi\r\n.\r\n");
    EXPECT_EQ(t.reply("250 queued\r\n"), "QUIT\r\n");
    ASSERT_EQ(t.results.size(), 1u);
    EXPECT_FALSE(t.results[0].failure);
  }
}

TEST(ClientSession, NoHeloFallbackOn4xx) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.start();
  t.reply("220 mx.test\r\n");
  EXPECT_EQ(t.reply("451 4.3.0 later\r\n"), "QUIT\r\n");
  ASSERT_EQ(t.results.size(), 1u);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kEhlo);
  EXPECT_FALSE(t.results[0].failure->permanent);
}

TEST(ClientSession, HeloRefusedFailsTheConnection) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.start();
  t.reply("220 mx.test\r\n");
  t.reply("502 no\r\n");
  EXPECT_EQ(t.reply("550 go away\r\n"), "QUIT\r\n");
  EXPECT_EQ(t.results[0].failure->phase, Phase::kEhlo);
  EXPECT_TRUE(t.results[0].failure->permanent);
}

// The server's name for TLS-RPT's receiving-mx-helo (RFC 8460 4.4): the
// EHLO reply's first word (RFC 5321 4.1.1.1), else the greeting's (4.2).
TEST(ClientSession, ServerNameFromEhloElseGreeting) {
  Script t;
  t.start();
  EXPECT_EQ(t.s.server_name(), "");
  t.reply("220 greet.test ESMTP\r\n");
  EXPECT_EQ(t.s.server_name(), "greet.test");
  t.reply("250-mx.test Hello client.test\r\n250 PIPELINING\r\n");
  EXPECT_EQ(t.s.server_name(), "mx.test");

  // HELO fallback whose reply names no plausible host: the greeting's stays.
  Script h;
  h.start();
  h.reply("220 old.test\r\n");
  EXPECT_EQ(h.reply("502 no\r\n"), "HELO client.test\r\n");
  h.reply("250 \xff\xfe.test\r\n");
  EXPECT_EQ(h.s.server_name(), "old.test");

  // Hostile or absurd greetings give no name at all.
  for (std::string greeting :
       {std::string("220 mx\x01.test\r\n"), "220 " + std::string(300, 'a') + "\r\n"}) {
    Script g;
    g.start();
    g.reply(greeting);
    EXPECT_EQ(g.s.server_name(), "") << greeting;
  }
}

// --- STARTTLS ---------------------------------------------------------------

ClientSessionOptions opportunistic() {
  ClientSessionOptions o = plain();
  o.tls = TlsPolicy::kOpportunistic;
  return o;
}

TEST(ClientSession, OpportunisticStartTlsThenEhloAgainForgettingCapabilities) {
  Script t(opportunistic());
  t.add(msg("a@x.test", {"b@y.test"}));
  t.s.quit();
  EXPECT_EQ(t.connect({"PIPELINING", "STARTTLS", "SIZE 10"}), "STARTTLS\r\n");
  EXPECT_FALSE(t.s.tls_active());
  EXPECT_EQ(t.reply("220 2.0.0 Ready to start TLS\r\n"), "EHLO client.test\r\n");
  EXPECT_EQ(t.tls_requests, 1);
  EXPECT_TRUE(t.s.tls_active());
  EXPECT_FALSE(t.s.capabilities().pipelining);  // forgotten (RFC 3207 4.2)
  // After TLS: no PIPELINING now, so MAIL alone, and no SIZE limit known.
  EXPECT_EQ(t.reply(ehlo({"8BITMIME"})), "MAIL FROM:<a@x.test>\r\n");
  EXPECT_FALSE(t.s.capabilities().starttls);
}

TEST(ClientSession, StartTlsInjectionIsDiscarded) {
  // The server (or a man in the middle) sends a reply right behind the 220,
  // in plaintext: it must not be taken as the answer to the EHLO under TLS.
  Script t(opportunistic());
  t.connect({"STARTTLS"});
  t.between_tls = "250 also injected\r\n";
  EXPECT_EQ(t.reply("220 2.0.0 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n"),
            "EHLO client.test\r\n");
  EXPECT_EQ(t.last, Kind::kNeedInput);  // still waiting for the real EHLO reply
  EXPECT_EQ(t.reply(ehlo({"PIPELINING"})), "");
  EXPECT_EQ(t.last, Kind::kIdle);
  EXPECT_TRUE(t.s.capabilities().pipelining);
  EXPECT_TRUE(t.s.capabilities().auth.empty());
}

TEST(ClientSession, OpportunisticWithoutStartTlsGoesOnInPlaintext) {
  Script t(opportunistic());
  t.add(msg("a@x.test", {"b@y.test"}));
  EXPECT_EQ(t.connect({"8BITMIME"}), "MAIL FROM:<a@x.test>\r\n");
  EXPECT_EQ(t.tls_requests, 0);
}

TEST(ClientSession, OpportunisticStartTlsRefusedFallsBackToPlaintext) {
  Script t(opportunistic());
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"STARTTLS"});
  EXPECT_EQ(t.reply("454 4.7.0 TLS not available\r\n"), "MAIL FROM:<a@x.test>\r\n");
  EXPECT_FALSE(t.s.tls_active());
}

TEST(ClientSession, OpportunisticStartTlsRefusedFailsWhenFallbackIsOff) {
  ClientSessionOptions o = opportunistic();
  o.tls_fallback_plain = false;
  Script t(o);
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"STARTTLS"});
  EXPECT_EQ(t.reply("454 4.7.0 TLS not available\r\n"), "QUIT\r\n");
  ASSERT_EQ(t.results.size(), 1u);
  const Failure& f = *t.results[0].failure;
  EXPECT_EQ(f.phase, Phase::kStartTls);
  EXPECT_EQ(f.cause, Cause::kReply);
  EXPECT_FALSE(f.permanent);
  EXPECT_EQ(f.reply->code, 454);
}

TEST(ClientSession, RequiredTlsNotOfferedIsATypedFailure) {
  ClientSessionOptions o = plain();
  o.tls = TlsPolicy::kRequired;
  Script t(o);
  t.add(msg("a@x.test", {"b@y.test"}));
  EXPECT_EQ(t.connect({"PIPELINING"}), "QUIT\r\n");
  ASSERT_EQ(t.results.size(), 1u);
  const Failure& f = *t.results[0].failure;
  EXPECT_EQ(f.phase, Phase::kStartTls);
  EXPECT_EQ(f.cause, Cause::kTls);
  EXPECT_FALSE(f.permanent);
  EXPECT_FALSE(f.reply);
  EXPECT_EQ(f.describe(), "starttls: TLS required but STARTTLS not offered");
  EXPECT_FALSE(t.results[0].attempted);
}

TEST(ClientSession, RequiredTlsRefusedFails) {
  ClientSessionOptions o = plain();
  o.tls = TlsPolicy::kRequired;
  Script t(o);
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"STARTTLS"});
  EXPECT_EQ(t.reply("554 5.7.3 no\r\n"), "QUIT\r\n");
  EXPECT_TRUE(t.results[0].failure->permanent);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kStartTls);
}

TEST(ClientSession, RequiredTlsIsNotRetriedAfterItWorked) {
  ClientSessionOptions o = plain();
  o.tls = TlsPolicy::kRequired;
  Script t(o);
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"STARTTLS"});
  t.reply("220 go\r\n");
  EXPECT_EQ(t.reply(ehlo({})), "MAIL FROM:<a@x.test>\r\n");
}

TEST(ClientSession, TlsHandshakeFailureClosesWithoutQuit) {
  Script t(opportunistic());
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"STARTTLS"});
  t.tls_ok = false;
  EXPECT_EQ(t.reply("220 go\r\n"), "");
  EXPECT_TRUE(t.closed);
  const Failure& f = *t.results[0].failure;
  EXPECT_EQ(f.cause, Cause::kTls);
  EXPECT_EQ(f.phase, Phase::kStartTls);
  EXPECT_NE(f.detail.find("certificate verify failed"), std::string::npos);
}

TEST(ClientSession, ImplicitTlsNeverSendsStartTls) {
  ClientSessionOptions o = plain();
  o.tls = TlsPolicy::kImplicit;
  o.auth = Credentials{"user", "pw", "", ""};
  Script t(o);
  EXPECT_EQ(t.connect({"STARTTLS", "AUTH PLAIN"}).substr(0, 11), "AUTH PLAIN ");
  EXPECT_TRUE(t.s.tls_active());
}

// --- AUTH -------------------------------------------------------------------

ClientSessionOptions with_auth(Credentials c) {
  ClientSessionOptions o = plain();
  o.tls = TlsPolicy::kImplicit;
  o.auth = std::move(c);
  return o;
}

bool transcript_has(const V& transcript, std::string_view needle) {
  for (const std::string& l : transcript) {
    if (l.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(ClientSession, AuthPlainWithInitialResponseIsRedacted) {
  Script t(with_auth({"alice", "s3cret", "", ""}));
  t.add(msg("alice@x.test", {"b@y.test"}));
  const std::string b64 = base64_encode(std::string("\0alice\0s3cret", 13));
  EXPECT_EQ(t.connect({"AUTH LOGIN PLAIN"}), "AUTH PLAIN " + b64 + "\r\n");
  EXPECT_FALSE(t.s.authenticated());
  EXPECT_EQ(t.reply("235 2.7.0 Authentication successful\r\n"), "MAIL FROM:<alice@x.test>\r\n");
  EXPECT_TRUE(t.s.authenticated());
  EXPECT_TRUE(transcript_has(t.transcript, "C: AUTH PLAIN <redacted>"));
  EXPECT_FALSE(transcript_has(t.transcript, b64));
  EXPECT_FALSE(transcript_has(t.transcript, "s3cret"));
}

TEST(ClientSession, AuthLoginStepByStepIsRedacted) {
  Script t(with_auth({"alice", "s3cret", "", ""}));
  t.add(msg("alice@x.test", {"b@y.test"}));
  EXPECT_EQ(t.connect({"AUTH LOGIN"}), "AUTH LOGIN\r\n");
  EXPECT_EQ(t.reply("334 VXNlcm5hbWU6\r\n"), base64_encode("alice") + "\r\n");
  EXPECT_EQ(t.reply("334 UGFzc3dvcmQ6\r\n"), base64_encode("s3cret") + "\r\n");
  EXPECT_EQ(t.reply("235 2.7.0 ok\r\n"), "MAIL FROM:<alice@x.test>\r\n");
  EXPECT_EQ(t.transcript[4], "C: AUTH LOGIN");
  EXPECT_EQ(t.transcript[5], "S: 334 VXNlcm5hbWU6");
  EXPECT_EQ(t.transcript[6], "C: <redacted>");
  EXPECT_EQ(t.transcript[8], "C: <redacted>");
  EXPECT_FALSE(transcript_has(t.transcript, base64_encode("s3cret")));
  EXPECT_FALSE(transcript_has(t.transcript, base64_encode("alice")));
}

TEST(ClientSession, AuthXoauth2) {
  Script t(with_auth({"alice@x.test", "", "tok3n", ""}));
  const std::string b64 = base64_encode(
      "user=alice@x.test\x01"
      "auth=Bearer tok3n\x01\x01");
  EXPECT_EQ(t.connect({"AUTH PLAIN XOAUTH2"}), "AUTH XOAUTH2 " + b64 + "\r\n");
  EXPECT_EQ(t.reply("235 2.7.0 Accepted\r\n"), "");
  EXPECT_TRUE(t.s.authenticated());
  EXPECT_TRUE(transcript_has(t.transcript, "C: AUTH XOAUTH2 <redacted>"));
  EXPECT_FALSE(transcript_has(t.transcript, "tok3n"));
  EXPECT_FALSE(transcript_has(t.transcript, b64));
}

TEST(ClientSession, AuthXoauth2ErrorChallenge) {
  Script t(with_auth({"alice@x.test", "", "expired", ""}));
  t.add(msg("alice@x.test", {"b@y.test"}));
  t.connect({"AUTH XOAUTH2"});
  const std::string json = R"({"status":"401","schemes":"bearer"})";
  // The client answers the error challenge with an empty line.
  EXPECT_EQ(t.reply("334 " + base64_encode(json) + "\r\n"), "\r\n");
  EXPECT_EQ(t.reply("535 5.7.8 Username and Password not accepted\r\n"), "QUIT\r\n");
  const Failure& f = *t.results[0].failure;
  EXPECT_EQ(f.phase, Phase::kAuth);
  EXPECT_EQ(f.cause, Cause::kReply);
  EXPECT_TRUE(f.permanent);
  EXPECT_EQ(f.detail, json);
}

TEST(ClientSession, AuthMechanismChoice) {
  struct Case {
    std::string offered;
    std::string forced;
    std::string starts;  // what the client sends, or "" for a policy failure
  };
  for (const Case& c :
       {Case{"AUTH LOGIN PLAIN", "", "AUTH PLAIN "}, Case{"AUTH LOGIN", "", "AUTH LOGIN\r\n"},
        Case{"AUTH=LOGIN", "", "AUTH LOGIN\r\n"},
        Case{"AUTH PLAIN LOGIN", "login", "AUTH LOGIN\r\n"}, Case{"AUTH CRAM-MD5", "", ""},
        Case{"AUTH PLAIN", "LOGIN", ""}, Case{"AUTH PLAIN CRAM-MD5", "CRAM-MD5", ""},
        Case{"8BITMIME", "", ""}}) {
    Script t(with_auth({"u", "p", "", c.forced}));
    t.add(msg("u@x.test", {"b@y.test"}));
    std::string sent = t.connect({c.offered});
    if (c.starts.empty()) {
      EXPECT_EQ(sent, "QUIT\r\n") << c.offered << "/" << c.forced;
      ASSERT_EQ(t.results.size(), 1u);
      EXPECT_EQ(t.results[0].failure->cause, Cause::kPolicy);
      EXPECT_EQ(t.results[0].failure->phase, Phase::kAuth);
      EXPECT_FALSE(t.results[0].failure->permanent);
    } else {
      EXPECT_EQ(sent.substr(0, c.starts.size()), c.starts) << c.offered << "/" << c.forced;
    }
  }
}

TEST(ClientSession, AuthFailures) {
  for (auto [reply, permanent] :
       {std::pair{"535 5.7.8 Authentication credentials invalid\r\n", true},
        std::pair{"454 4.7.0 Temporary authentication failure\r\n", false},
        std::pair{"534 5.7.9 Authentication mechanism is too weak\r\n", true}}) {
    Script t(with_auth({"u", "bad", "", ""}));
    t.add(msg("u@x.test", {"b@y.test"}));
    t.connect({"AUTH PLAIN"});
    EXPECT_EQ(t.reply(reply), "QUIT\r\n");
    ASSERT_EQ(t.results.size(), 1u);
    const Failure& f = *t.results[0].failure;
    EXPECT_EQ(f.phase, Phase::kAuth);
    EXPECT_EQ(f.cause, Cause::kReply);
    EXPECT_EQ(f.permanent, permanent);
    EXPECT_FALSE(t.s.authenticated());
    EXPECT_FALSE(t.results[0].attempted);
  }
}

TEST(ClientSession, AuthUnexpectedChallengeIsAProtocolError) {
  Script t(with_auth({"u", "p", "", ""}));
  t.add(msg("u@x.test", {"b@y.test"}));
  t.connect({"AUTH PLAIN"});
  EXPECT_EQ(t.reply("334 \r\n"), "");
  EXPECT_TRUE(t.closed);
  EXPECT_EQ(t.results[0].failure->cause, Cause::kProtocol);
}

TEST(ClientSession, NoAuthInCleartextUnlessAllowed) {
  ClientSessionOptions o = plain();
  o.auth = Credentials{"u", "p", "", ""};
  {
    Script t(o);
    t.add(msg("u@x.test", {"b@y.test"}));
    EXPECT_EQ(t.connect({"AUTH PLAIN"}), "QUIT\r\n");
    EXPECT_EQ(t.results[0].failure->cause, Cause::kPolicy);
    EXPECT_EQ(t.results[0].failure->describe(), "auth: refusing to send credentials without TLS");
  }
  o.allow_cleartext_auth = true;
  {
    Script t(o);
    EXPECT_EQ(t.connect({"AUTH PLAIN"}).substr(0, 11), "AUTH PLAIN ");
  }
}

TEST(ClientSession, AuthAfterStartTls) {
  ClientSessionOptions o = opportunistic();
  o.auth = Credentials{"u", "p", "", ""};
  Script t(o);
  // AUTH offered before TLS is not used; the EHLO under TLS decides.
  EXPECT_EQ(t.connect({"STARTTLS", "AUTH LOGIN"}), "STARTTLS\r\n");
  t.reply("220 go\r\n");
  EXPECT_EQ(t.reply(ehlo({"AUTH PLAIN"})).substr(0, 11), "AUTH PLAIN ");
}

// --- Transactions -----------------------------------------------------------

TEST(ClientSession, PipelinedTransactionIsOneBatch) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test", "c@y.test"}, 18));
  t.s.quit();
  EXPECT_EQ(t.connect({"PIPELINING", "SIZE 1000"}),
            "MAIL FROM:<a@x.test> SIZE=18\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n");
  EXPECT_EQ(t.sends.size(), 2u);  // EHLO, then the whole batch at once
  EXPECT_EQ(t.timeouts.back(), 300);
  EXPECT_EQ(t.reply("250 2.1.0 ok\r\n250 2.1.5 ok\r\n"), "");
  EXPECT_EQ(t.timeouts.back(), 300);  // the next reply is DATA's... after the RCPT
  EXPECT_EQ(t.reply("250 2.1.5 ok\r\n"), "");
  EXPECT_EQ(t.timeouts.back(), 120);  // RFC 5321 4.5.3.2.4
  EXPECT_EQ(t.reply("354 go\r\n"), "Subject: t\r\n\r\nhi\r\n.\r\n");
  EXPECT_EQ(t.timeouts.back(), 600);  // RFC 5321 4.5.3.2.6
  EXPECT_EQ(t.reply("250 2.0.0 queued as X\r\n"), "QUIT\r\n");
  ASSERT_EQ(t.results.size(), 1u);
  const MessageResult& r = t.results[0];
  EXPECT_FALSE(r.failure);
  EXPECT_TRUE(r.attempted);
  EXPECT_EQ(r.delivered_count(), 2u);
  EXPECT_EQ(r.reply->brief(), "250 2.0.0 queued as X");
  EXPECT_EQ(r.rcpts[1].reply->enhanced, "2.1.5");
  EXPECT_TRUE(transcript_has(t.transcript, "C: <18 octets of message data>"));
  EXPECT_FALSE(transcript_has(t.transcript, "C: hi"));
}

TEST(ClientSession, PipelinedRepliesMayComeAllAtOnce) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"PIPELINING"});
  EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n354 go\r\n"), "Subject: t\r\n\r\nhi\r\n.\r\n");
}

TEST(ClientSession, WithoutPipeliningOneCommandAtATime) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test", "c@y.test"}, 20));
  EXPECT_EQ(t.connect({"SIZE"}), "MAIL FROM:<a@x.test> SIZE=20\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n"), "RCPT TO:<b@y.test>\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n"), "RCPT TO:<c@y.test>\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n"), "DATA\r\n");
  EXPECT_EQ(t.reply("354 go\r\n"), "Subject: t\r\n\r\nhi\r\n.\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n"), "");
  EXPECT_EQ(t.last, Kind::kIdle);
  EXPECT_EQ(t.sends.size(), 6u);  // EHLO MAIL RCPT RCPT DATA body
}

TEST(ClientSession, PipeliningCanBeTurnedOff) {
  ClientSessionOptions o = plain();
  o.pipelining = false;
  Script t(o);
  t.add(msg("a@x.test", {"b@y.test"}));
  EXPECT_EQ(t.connect({"PIPELINING"}), "MAIL FROM:<a@x.test>\r\n");
}

TEST(ClientSession, ServerThatTalksOutOfTurnIsAProtocolError) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({});
  EXPECT_EQ(t.reply("250 ok\r\n250 extra\r\n"), "");
  EXPECT_TRUE(t.closed);
  const Failure& f = *t.results[0].failure;
  EXPECT_EQ(f.cause, Cause::kProtocol);
  EXPECT_EQ(f.phase, Phase::kMail);
  EXPECT_FALSE(f.permanent);
}

TEST(ClientSession, MixedRecipientResultsPipelined) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test", "nobody@y.test", "c@y.test"}));
  t.connect({"PIPELINING"});
  EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n550 5.1.1 User unknown\r\n250 ok\r\n354 go\r\n"),
            "Subject: t\r\n\r\nhi\r\n.\r\n");
  t.reply("250 2.0.0 ok\r\n");
  ASSERT_EQ(t.results.size(), 1u);
  const MessageResult& r = t.results[0];
  EXPECT_FALSE(r.failure);
  EXPECT_EQ(r.delivered_count(), 2u);
  EXPECT_TRUE(r.rcpts[0].delivered());
  EXPECT_TRUE(r.rcpts[2].delivered());
  ASSERT_FALSE(r.rcpts[1].delivered());
  EXPECT_EQ(r.rcpts[1].failure->phase, Phase::kRcpt);
  EXPECT_TRUE(r.rcpts[1].failure->permanent);
  EXPECT_EQ(r.rcpts[1].failure->describe(), "rcpt: 550 5.1.1 User unknown");
  EXPECT_EQ(r.rcpts[1].rcpt.to.str(), "nobody@y.test");
}

TEST(ClientSession, MixedRecipientResultsOneAtATime) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test", "nobody@y.test", "c@y.test"}));
  t.connect({});
  t.reply("250 ok\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n"), "RCPT TO:<nobody@y.test>\r\n");
  EXPECT_EQ(t.reply("450 4.2.1 mailbox busy\r\n"), "RCPT TO:<c@y.test>\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n"), "DATA\r\n");
  t.reply("354 go\r\n");
  t.reply("250 ok\r\n");
  const MessageResult& r = t.results[0];
  EXPECT_EQ(r.delivered_count(), 2u);
  EXPECT_FALSE(r.rcpts[1].failure->permanent);
}

TEST(ClientSession, AllRecipientsRefusedNoDataThenRsetBeforeNextMessage) {
  Script t;
  t.add(msg("a@x.test", {"x@y.test", "z@y.test"}));
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({});
  t.reply("250 ok\r\n");
  t.reply("550 5.1.1 no x\r\n");
  // No DATA: the result comes, and the open transaction is reset first.
  EXPECT_EQ(t.reply("550 5.1.1 no z\r\n"), "RSET\r\n");
  ASSERT_EQ(t.results.size(), 1u);
  const MessageResult& r = t.results[0];
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->phase, Phase::kRcpt);
  EXPECT_TRUE(r.failure->permanent);
  EXPECT_EQ(r.failure->reply->lines, V{"no x"});
  EXPECT_EQ(r.rcpts[1].failure->reply->lines, V{"no z"});
  EXPECT_FALSE(transcript_has(t.transcript, "C: DATA"));
  EXPECT_EQ(t.reply("250 2.0.0 ok\r\n"), "MAIL FROM:<a@x.test>\r\n");
}

TEST(ClientSession, AllRefusedMixedIsTransient) {
  Script t;
  t.add(msg("a@x.test", {"x@y.test", "z@y.test"}));
  t.connect({});
  t.reply("250 ok\r\n");
  t.reply("550 5.1.1 no x\r\n");
  t.reply("451 4.3.0 try z later\r\n");
  ASSERT_TRUE(t.results[0].failure);
  EXPECT_FALSE(t.results[0].failure->permanent);
  EXPECT_TRUE(t.results[0].rcpts[0].failure->permanent);
  EXPECT_FALSE(t.results[0].rcpts[1].failure->permanent);
}

TEST(ClientSession, AllRefusedPipelinedDataRefusedToo) {
  Script t;
  t.add(msg("a@x.test", {"x@y.test"}));
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"PIPELINING"});
  // The next batch starts with RSET, since MAIL was accepted.
  EXPECT_EQ(t.reply("250 ok\r\n550 5.1.1 no\r\n554 5.5.1 No valid recipients\r\n"),
            "RSET\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
  ASSERT_EQ(t.results.size(), 1u);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kRcpt);  // the cause, not DATA's 554
  EXPECT_EQ(t.results[0].failure->reply->code, 550);
  EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"), "Subject: t\r\n\r\nhi\r\n.\r\n");
}

TEST(ClientSession, AllRefusedPipelinedButDataAcceptedSendsALoneDot) {
  // RFC 2920 3.1: the DATA was accepted although no recipient was: send ".".
  Script t;
  t.add(msg("a@x.test", {"x@y.test"}));
  t.connect({"PIPELINING"});
  EXPECT_EQ(t.reply("250 ok\r\n550 no\r\n354 go ahead\r\n"), ".\r\n");
  EXPECT_TRUE(t.body_ids.empty());
  EXPECT_EQ(t.reply("554 5.5.1 no valid recipients\r\n"), "");
  ASSERT_EQ(t.results.size(), 1u);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kRcpt);
  EXPECT_EQ(t.last, Kind::kIdle);
}

TEST(ClientSession, MailRefusedPipelined) {
  Script t;
  t.add(msg("bad@x.test", {"b@y.test", "c@y.test"}));
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"PIPELINING"});
  // RCPT and DATA get 503; no RSET is needed (no transaction opened).
  EXPECT_EQ(t.reply("553 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n"
                    "503 5.5.1 need MAIL\r\n"),
            "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
  const MessageResult& r = t.results[0];
  EXPECT_EQ(r.failure->phase, Phase::kMail);
  EXPECT_EQ(r.failure->reply->code, 553);
  for (const RecipientResult& rr : r.rcpts) {
    EXPECT_EQ(rr.failure->phase, Phase::kMail);  // the cause, not the 503
    EXPECT_EQ(rr.reply->code, 503);              // but the RCPT reply is kept
  }
}

TEST(ClientSession, MailRefusedOneAtATime) {
  Script t;
  t.add(msg("bad@x.test", {"b@y.test"}));
  t.connect({});
  EXPECT_EQ(t.reply("451 4.3.0 later\r\n"), "");
  EXPECT_EQ(t.last, Kind::kIdle);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kMail);
  EXPECT_FALSE(t.results[0].failure->permanent);
  EXPECT_FALSE(t.results[0].rcpts[0].reply);  // no RCPT was sent
}

TEST(ClientSession, DataRefused) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.add(msg("a@x.test", {"c@y.test"}));
  t.connect({});
  t.reply("250 ok\r\n");
  t.reply("250 ok\r\n");
  EXPECT_EQ(t.reply("451 4.3.0 no DATA now\r\n"), "RSET\r\n");
  EXPECT_EQ(t.results[0].failure->phase, Phase::kData);
  EXPECT_FALSE(t.results[0].failure->permanent);
  EXPECT_EQ(t.results[0].rcpts[0].failure->phase, Phase::kData);
}

TEST(ClientSession, BodyRefusedAfterTheEndMarker) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test", "c@y.test"}));
  t.add(msg("a@x.test", {"c@y.test"}));
  t.connect({"PIPELINING"});
  t.reply("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  // The transaction is over either way: no RSET before the next one.
  EXPECT_EQ(t.reply("554 5.7.1 spam\r\n"),
            "MAIL FROM:<a@x.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n");
  const MessageResult& r = t.results[0];
  EXPECT_EQ(r.failure->phase, Phase::kBody);
  EXPECT_TRUE(r.failure->permanent);
  EXPECT_EQ(r.reply->code, 554);
  EXPECT_EQ(r.delivered_count(), 0u);
  EXPECT_EQ(r.rcpts[1].failure->describe(), "body: 554 5.7.1 spam");
}

TEST(ClientSession, ServiceClosingMidTransaction) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test", "c@y.test", "d@y.test"}));
  t.add(msg("a@x.test", {"e@y.test"}));
  t.connect({"PIPELINING"});
  EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n550 5.1.1 no c\r\n421 4.3.2 shutting down\r\n"), "");
  EXPECT_TRUE(t.closed);  // no QUIT after 421 (RFC 5321 3.8)
  ASSERT_EQ(t.results.size(), 2u);
  const MessageResult& r = t.results[0];
  EXPECT_TRUE(r.attempted);
  EXPECT_EQ(r.failure->reply->code, 421);
  EXPECT_FALSE(r.failure->permanent);
  EXPECT_EQ(r.failure->phase, Phase::kRcpt);
  EXPECT_EQ(r.rcpts[0].failure->reply->code, 421);  // accepted, never delivered
  EXPECT_EQ(r.rcpts[1].failure->reply->code, 550);  // its own refusal stays
  EXPECT_EQ(r.rcpts[2].failure->reply->code, 421);
  EXPECT_FALSE(t.results[1].attempted);
  EXPECT_EQ(t.results[1].failure->reply->code, 421);
  EXPECT_EQ(t.s.connection_failure()->reply->code, 421);
}

TEST(ClientSession, ServiceClosingAfterTheBody) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"PIPELINING"});
  t.reply("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(t.reply("421 4.4.2 timeout\r\n"), "");
  EXPECT_TRUE(t.closed);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kBody);
  EXPECT_FALSE(t.results[0].failure->permanent);
}

TEST(ClientSession, ServiceClosingRightAfterADelivery) {
  // The 250 counts even though a 421 follows it in the same read.
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.add(msg("a@x.test", {"c@y.test"}));
  t.connect({"PIPELINING"});
  t.reply("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(t.reply("250 2.0.0 queued\r\n421 4.3.2 shutting down\r\n"), "");
  EXPECT_TRUE(t.closed);
  ASSERT_EQ(t.results.size(), 2u);
  EXPECT_FALSE(t.results[0].failure);
  EXPECT_EQ(t.results[0].delivered_count(), 1u);
  EXPECT_FALSE(t.results[1].attempted);
  EXPECT_EQ(t.results[1].failure->reply->code, 421);
  EXPECT_TRUE(transcript_has(t.transcript, "S: 421 4.3.2 shutting down"));
}

TEST(ClientSession, JunkRightAfterADeliveryKeepsTheDelivery) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.add(msg("a@x.test", {"c@y.test"}));
  t.connect({});
  t.reply("250 ok\r\n");
  t.reply("250 ok\r\n");
  t.reply("354 go\r\n");
  EXPECT_EQ(t.reply("250 queued\r\n250 what\r\n"), "");
  EXPECT_TRUE(t.closed);
  EXPECT_FALSE(t.results[0].failure);
  EXPECT_EQ(t.results[1].failure->cause, Cause::kProtocol);
  EXPECT_FALSE(t.results[1].attempted);
}

TEST(ClientSession, ServiceClosingDuringEhlo) {
  Script t;
  t.start();
  t.reply("220 hi\r\n");
  EXPECT_EQ(t.reply("421 4.7.0 go away\r\n"), "");
  EXPECT_TRUE(t.closed);
  EXPECT_EQ(t.s.connection_failure()->phase, Phase::kEhlo);
}

// --- Local refusals ---------------------------------------------------------

TEST(ClientSession, TooBigForTheServerFailsLocally) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}, 2000));
  t.add(msg("a@x.test", {"c@y.test"}, 1000));
  // The first message sends nothing; the second goes ahead.
  EXPECT_EQ(t.connect({"SIZE 1000"}), "MAIL FROM:<a@x.test> SIZE=1000\r\n");
  ASSERT_EQ(t.results.size(), 1u);
  const Failure& f = *t.results[0].failure;
  EXPECT_FALSE(t.results[0].attempted);
  EXPECT_EQ(f.cause, Cause::kLocal);
  EXPECT_TRUE(f.permanent);
  EXPECT_EQ(f.reply->code, 552);
  EXPECT_EQ(f.reply->enhanced, "5.3.4");
  EXPECT_EQ(t.results[0].rcpts[0].failure->reply->code, 552);
}

TEST(ClientSession, SizeZeroMeansNoLimit) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}, 1u << 30));
  EXPECT_EQ(t.connect({"SIZE 0"}), "MAIL FROM:<a@x.test> SIZE=1073741824\r\n");
}

TEST(ClientSession, Smtputf8NeededButNotOffered) {
  Script t;
  t.add(msg("a@x.test", {"j\xc3\xb6rg@y.test"}));
  OutboundMessage flagged = msg("a@x.test", {"b@y.test"});
  flagged.mail.smtputf8 = true;  // e.g. UTF-8 headers
  t.add(flagged);
  EXPECT_EQ(t.connect({"8BITMIME"}), "");
  ASSERT_EQ(t.results.size(), 2u);
  for (const MessageResult& r : t.results) {
    EXPECT_EQ(r.failure->reply->code, 553);
    EXPECT_EQ(r.failure->reply->enhanced, "5.6.7");
    EXPECT_EQ(r.failure->cause, Cause::kLocal);
    EXPECT_TRUE(r.failure->permanent);
  }
  EXPECT_EQ(t.sends.size(), 1u);  // EHLO only
}

TEST(ClientSession, Smtputf8Offered) {
  Script t;
  t.add(msg("j\xc3\xb6rg@x.test", {"b@y.test"}));
  EXPECT_EQ(t.connect({"SMTPUTF8", "8BITMIME"}), "MAIL FROM:<j\xc3\xb6rg@x.test> SMTPUTF8\r\n");
}

TEST(ClientSession, EightBitBody) {
  OutboundMessage m = msg("a@x.test", {"b@y.test"});
  m.mail.body = BodyType::k8BitMime;
  {
    Script t;
    t.add(m);
    EXPECT_EQ(t.connect({"8BITMIME"}), "MAIL FROM:<a@x.test> BODY=8BITMIME\r\n");
  }
  {
    Script t;  // not offered: refused, conversion required
    t.add(m);
    EXPECT_EQ(t.connect({}), "");
    const Failure& f = *t.results[0].failure;
    EXPECT_EQ(f.reply->brief().substr(0, 9), "554 5.6.3");
    EXPECT_TRUE(f.permanent);
    EXPECT_EQ(f.cause, Cause::kLocal);
  }
  {
    ClientSessionOptions o = plain();
    o.eight_bit = EightBitPolicy::kSendAsIs;
    Script t(o);
    t.add(m);
    EXPECT_EQ(t.connect({}), "MAIL FROM:<a@x.test>\r\n");
  }
  {
    m.mail.body = BodyType::kBinaryMime;
    Script t;
    t.add(m);
    t.connect({"8BITMIME", "CHUNKING"});
    EXPECT_EQ(t.results[0].failure->reply->code, 554);
  }
}

TEST(ClientSession, NoRecipientsFailsLocally) {
  Script t;
  t.add(msg("a@x.test", {}));
  EXPECT_EQ(t.connect({}), "");
  EXPECT_EQ(t.results[0].failure->cause, Cause::kLocal);
}

TEST(ClientSession, AddressesThatWouldBreakTheCommandLineAreRefused) {
  Script t;
  OutboundMessage bad_from = msg("a@x.test", {"b@y.test"});
  bad_from.mail.from = Address{"a", "x.test>\r\nRCPT TO:<victim@z.test"};
  t.add(bad_from);
  OutboundMessage bad_rcpt = msg("a@x.test", {"b@y.test", "c@y.test"});
  bad_rcpt.rcpts[1].to = Address{"c d", "y.test"};
  t.add(bad_rcpt);
  EXPECT_EQ(t.connect({"PIPELINING"}), "");
  ASSERT_EQ(t.results.size(), 2u);
  EXPECT_EQ(t.results[0].failure->reply->brief(), "553 5.1.7 Invalid sender address");
  EXPECT_EQ(t.results[1].failure->reply->brief(), "553 5.1.3 Invalid recipient address");
  EXPECT_EQ(t.results[1].failure->cause, Cause::kLocal);
  EXPECT_EQ(t.sends.size(), 1u);  // EHLO only
}

TEST(ClientSession, BadEhloNameFailsBeforeAnythingIsSent) {
  ClientSessionOptions o = plain();
  o.helo_name = "client.test\r\nMAIL FROM:<x@y>";
  Script t(o);
  t.add(msg("a@x.test", {"b@y.test"}));
  t.start();
  EXPECT_TRUE(t.closed);
  EXPECT_EQ(t.wire, "");
  EXPECT_EQ(t.results[0].failure->cause, Cause::kPolicy);
}

// --- DSN --------------------------------------------------------------------

OutboundMessage dsn_message() {
  OutboundMessage m = msg("a@x.test", {"b@y.test", "c@y.test"});
  m.mail.ret = DsnRet::kHdrs;
  m.mail.envid = "QQ314159 x+y=z";
  m.rcpts[0].notify = kNotifySuccess | kNotifyFailure;
  m.rcpts[0].orcpt = "rfc822;b+tag@y.test";
  m.rcpts[1].notify = kNotifyNever;
  m.rcpts[1].orcpt = "bad type;c@y.test";  // not an atom: ORCPT left out
  return m;
}

TEST(ClientSession, DsnParametersWhenOffered) {
  Script t;
  t.add(dsn_message());
  EXPECT_EQ(t.connect({"PIPELINING", "DSN"}),
            "MAIL FROM:<a@x.test> RET=HDRS ENVID=QQ314159+20x+2By+3Dz\r\n"
            "RCPT TO:<b@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Btag@y.test\r\n"
            "RCPT TO:<c@y.test> NOTIFY=NEVER\r\n"
            "DATA\r\n");
  t.reply("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  t.reply("250 ok\r\n");
  EXPECT_TRUE(t.results[0].dsn_passed);
}

TEST(ClientSession, NoDsnParametersWhenNotOffered) {
  Script t;
  t.add(dsn_message());
  EXPECT_EQ(t.connect({"PIPELINING"}),
            "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n");
  t.reply("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  t.reply("250 ok\r\n");
  EXPECT_FALSE(t.results[0].dsn_passed);  // the relay owes "relayed" DSNs
}

TEST(ClientSession, NullSenderAndPostmaster) {
  Script t;
  OutboundMessage m;
  m.rcpts.push_back(RcptArgs{Address{"Postmaster", ""}, kNotifyNone, ""});
  t.add(m);
  EXPECT_EQ(t.connect({"PIPELINING"}), "MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n");
}

// --- Connection reuse -------------------------------------------------------

TEST(ClientSession, SeveralMessagesWithRsetOnlyWhenNeeded) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}), "one\r\n");
  t.add(msg("a@x.test", {"nobody@y.test"}), "two\r\n");
  t.add(msg("a@x.test", {"c@y.test"}), "three\r\n");
  t.s.quit();
  t.connect({"PIPELINING"});
  // 1: delivered; 2 follows without RSET.
  EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n354 go\r\n"), "one\r\n.\r\n");
  EXPECT_EQ(t.reply("250 ok 1\r\n"), "MAIL FROM:<a@x.test>\r\nRCPT TO:<nobody@y.test>\r\nDATA\r\n");
  // 2: no recipient, so the transaction stays open: 3 starts with RSET.
  EXPECT_EQ(t.reply("250 ok\r\n550 no\r\n554 no valid recipients\r\n"),
            "RSET\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n");
  EXPECT_EQ(t.reply("250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n"), "three\r\n.\r\n");
  EXPECT_EQ(t.reply("250 ok 3\r\n"), "QUIT\r\n");
  ASSERT_EQ(t.results.size(), 3u);
  EXPECT_FALSE(t.results[0].failure);
  EXPECT_TRUE(t.results[1].failure);
  EXPECT_FALSE(t.results[2].failure);
  EXPECT_EQ(t.results[2].reply->lines, V{"ok 3"});
  EXPECT_EQ(t.body_ids, (std::vector<uint64_t>{1, 3}));
}

TEST(ClientSession, AddingMessagesWhenIdleReusesTheConnection) {
  Script t;
  t.connect({});
  EXPECT_EQ(t.last, Kind::kIdle);
  t.add(msg("a@x.test", {"b@y.test"}));
  t.wire.clear();
  t.pump();
  EXPECT_EQ(t.wire, "MAIL FROM:<a@x.test>\r\n");
  t.reply("250 ok\r\n");
  t.reply("250 ok\r\n");
  t.reply("354 go\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n"), "");
  EXPECT_EQ(t.last, Kind::kIdle);
  ASSERT_EQ(t.results.size(), 1u);
  t.add(msg("a@x.test", {"c@y.test"}));
  t.wire.clear();
  t.pump();
  EXPECT_EQ(t.wire, "MAIL FROM:<a@x.test>\r\n");  // no RSET after a delivered message
}

TEST(ClientSession, RsetRefusedEndsTheConnection) {
  Script t;
  t.add(msg("a@x.test", {"x@y.test"}));
  t.add(msg("a@x.test", {"b@y.test"}));
  t.add(msg("a@x.test", {"c@y.test"}));
  t.connect({});
  t.reply("250 ok\r\n");
  EXPECT_EQ(t.reply("550 no\r\n"), "RSET\r\n");
  EXPECT_EQ(t.reply("500 what\r\n"), "QUIT\r\n");
  ASSERT_EQ(t.results.size(), 3u);
  EXPECT_EQ(t.results[1].failure->detail, "RSET refused");
  EXPECT_FALSE(t.results[1].failure->permanent);
  EXPECT_FALSE(t.results[2].attempted);
}

// --- BDAT -------------------------------------------------------------------

ClientSessionOptions chunking() {
  ClientSessionOptions o = plain();
  o.chunking = true;
  return o;
}

TEST(ClientSession, BdatSendsTheNormalisedBodyWithoutStuffing) {
  Script t(chunking());
  const std::string body = ".line\nend";  // normalised: ".line\r\nend\r\n", 12 octets
  t.add(msg("a@x.test", {"b@y.test"}, 12), body);
  t.s.quit();
  EXPECT_EQ(t.connect({"PIPELINING", "CHUNKING", "SIZE 100"}),
            "MAIL FROM:<a@x.test> SIZE=12\r\nRCPT TO:<b@y.test>\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n"), "BDAT 12 LAST\r\n.line\r\nend\r\n");
  EXPECT_EQ(t.reply("250 2.0.0 queued\r\n"), "QUIT\r\n");
  EXPECT_FALSE(t.results[0].failure);
  EXPECT_TRUE(t.results[0].bdat);
  EXPECT_TRUE(transcript_has(t.transcript, "C: BDAT 12 LAST"));
  EXPECT_TRUE(transcript_has(t.transcript, "C: <12 octets of message data>"));
}

TEST(ClientSession, BdatOneAtATime) {
  Script t(chunking());
  t.add(msg("a@x.test", {"b@y.test"}, 4), "hi\r\n");
  EXPECT_EQ(t.connect({"CHUNKING"}), "MAIL FROM:<a@x.test>\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n"), "RCPT TO:<b@y.test>\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n"), "BDAT 4 LAST\r\nhi\r\n");
  EXPECT_EQ(t.timeouts.back(), 600);
  t.reply("250 ok\r\n");
  EXPECT_FALSE(t.results[0].failure);
}

TEST(ClientSession, BdatNeedsTheSizeAndTheOptionAndTheOffer) {
  {
    Script t(chunking());
    t.add(msg("a@x.test", {"b@y.test"}));  // size unknown: DATA
    EXPECT_EQ(t.connect({"PIPELINING", "CHUNKING"}),
              "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
  }
  {
    Script t;  // option off
    t.add(msg("a@x.test", {"b@y.test"}, 4));
    EXPECT_EQ(t.connect({"PIPELINING", "CHUNKING"}),
              "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
  }
  {
    Script t(chunking());  // not offered
    t.add(msg("a@x.test", {"b@y.test"}, 4));
    EXPECT_EQ(t.connect({"PIPELINING"}), "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
  }
}

TEST(ClientSession, BdatAllRecipientsRefusedSendsNoChunk) {
  Script t(chunking());
  t.add(msg("a@x.test", {"x@y.test"}, 4), "hi\r\n");
  t.connect({"PIPELINING", "CHUNKING"});
  EXPECT_EQ(t.reply("250 ok\r\n550 no\r\n"), "");
  EXPECT_EQ(t.results[0].failure->phase, Phase::kRcpt);
  EXPECT_TRUE(t.body_ids.empty());
}

TEST(ClientSession, BdatWrongSizeClosesTheConnection) {
  Script t(chunking());
  t.add(msg("a@x.test", {"b@y.test"}, 3), "hello\r\n");
  t.add(msg("a@x.test", {"c@y.test"}, 3), "hi\r\n");
  t.connect({"PIPELINING", "CHUNKING"});
  // Only the announced 3 octets go out, then the connection is closed.
  EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n"), "BDAT 3 LAST\r\nhel");
  EXPECT_TRUE(t.closed);
  ASSERT_EQ(t.results.size(), 2u);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kBody);
  EXPECT_EQ(t.results[0].failure->cause, Cause::kLocal);
  EXPECT_FALSE(t.results[0].failure->permanent);
  EXPECT_FALSE(t.results[1].attempted);
}

// --- The body and smuggling -------------------------------------------------

TEST(ClientSession, SmugglingVariantsInTheBodyEndTheDataOnlyOnce) {
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
                                             "\r\r\n.\r\r\n"};
  std::string body = "Subject: all of them\r\n\r\n";
  for (const std::string& v : variants) {
    body += "text" + v + "MAIL FROM:<smuggled@x>\r\nRCPT TO:<r@y>\r\nDATA\r\n";
  }
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}), body);
  t.connect({"PIPELINING"});
  t.wire.clear();
  t.s.receive("250 ok\r\n250 ok\r\n354 go\r\n");
  t.pump();
  const std::string all = "DATA\r\n" + t.wire;
  size_t n = 0;
  for (size_t p = all.find("\r\n.\r\n"); p != std::string::npos; p = all.find("\r\n.\r\n", p + 1))
    ++n;
  EXPECT_EQ(n, 1u);
  EXPECT_TRUE(all.ends_with("\r\n.\r\n"));
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] == '\r') {
      EXPECT_EQ(all[i + 1], '\n') << i;
    }
    if (all[i] == '\n') {
      EXPECT_EQ(all[i - 1], '\r') << i;
    }
  }
}

TEST(ClientSession, BodyFailureClosesTheConnection) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"PIPELINING"});
  t.s.receive("250 ok\r\n250 ok\r\n354 go\r\n");
  ClientSession::Action a = t.s.next();
  ASSERT_EQ(a.kind, Kind::kSendBody);
  EXPECT_EQ(a.message, 1u);
  EXPECT_EQ(a.timeout.count(), 180);  // RFC 5321 4.5.3.2.5
  t.s.body_failed("spool read error");
  t.pump();
  EXPECT_TRUE(t.closed);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kBody);
  EXPECT_EQ(t.results[0].failure->cause, Cause::kConnection);
  EXPECT_EQ(t.results[0].failure->describe(), "body: spool read error");
}

TEST(ClientSession, UnfinishedEncoderClosesTheConnection) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"PIPELINING"});
  t.s.receive("250 ok\r\n250 ok\r\n354 go\r\n");
  ASSERT_EQ(t.s.next().kind, Kind::kSendBody);
  DotEncoder e = t.s.body_encoder();
  std::string out;
  e.encode("half a body", &out);
  t.s.body_sent(e);
  t.pump();
  EXPECT_TRUE(t.closed);
  EXPECT_EQ(t.results[0].failure->cause, Cause::kLocal);
}

// --- Connection trouble -----------------------------------------------------

TEST(ClientSession, ConnectFailed) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.s.connect_failed("connection refused");
  t.pump();
  EXPECT_TRUE(t.closed);
  ASSERT_EQ(t.results.size(), 1u);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kConnect);
  EXPECT_EQ(t.results[0].failure->cause, Cause::kConnection);
  EXPECT_EQ(t.results[0].failure->describe(), "connect: connection refused");
  // Too late for this connection: comes back at once.
  t.add(msg("a@x.test", {"c@y.test"}));
  t.pump();
  ASSERT_EQ(t.results.size(), 2u);
  EXPECT_EQ(t.results[1].id, 2u);
  EXPECT_FALSE(t.results[1].attempted);
}

TEST(ClientSession, ConnectionLostMidTransaction) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({});
  t.reply("250 ok\r\n");
  t.s.eof();
  t.pump();
  EXPECT_TRUE(t.closed);
  const Failure& f = *t.results[0].failure;
  EXPECT_EQ(f.phase, Phase::kRcpt);
  EXPECT_EQ(f.cause, Cause::kConnection);
  EXPECT_FALSE(f.permanent);
}

TEST(ClientSession, RepliesBeforeEofAreRead) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.start();
  t.s.receive("554 5.7.1 go away\r\n");
  t.s.eof();
  t.pump();
  EXPECT_EQ(t.results[0].failure->reply->code, 554);
  EXPECT_TRUE(t.closed);
}

TEST(ClientSession, ConnectionClosedAfterQuitIsFine) {
  Script t;
  t.s.quit();
  EXPECT_EQ(t.connect({}), "QUIT\r\n");
  t.s.eof();
  t.pump();
  EXPECT_TRUE(t.closed);
  EXPECT_FALSE(t.s.connection_failure());
}

TEST(ClientSession, Timeout) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"PIPELINING"});
  t.s.timeout();
  t.pump();
  EXPECT_TRUE(t.closed);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kMail);
  EXPECT_EQ(t.results[0].failure->cause, Cause::kConnection);
  EXPECT_NE(t.results[0].failure->detail.find("timed out"), std::string::npos);
}

TEST(ClientSession, TimeoutWhileSendingTheBody) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({"PIPELINING"});
  t.s.receive("250 ok\r\n250 ok\r\n354 go\r\n");
  ASSERT_EQ(t.s.next().kind, Kind::kSendBody);
  t.s.timeout();
  t.s.body_failed("write interrupted");  // late completion: ignored
  t.pump();
  EXPECT_TRUE(t.closed);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kBody);
  EXPECT_NE(t.results[0].failure->detail.find("timed out"), std::string::npos);
}

TEST(ClientSession, MalformedReplyIsAProtocolError) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({});
  EXPECT_EQ(t.reply("250-ok\r\n251 changed\r\n"), "");
  EXPECT_TRUE(t.closed);
  const Failure& f = *t.results[0].failure;
  EXPECT_EQ(f.cause, Cause::kProtocol);
  EXPECT_EQ(f.phase, Phase::kMail);
  EXPECT_FALSE(f.permanent);
  EXPECT_NE(f.detail.find("251 changed"), std::string::npos);
}

TEST(ClientSession, UnexpectedReplyClassIsAProtocolError) {
  Script t;
  t.add(msg("a@x.test", {"b@y.test"}));
  t.connect({});
  t.reply("250 ok\r\n");
  t.reply("250 ok\r\n");
  EXPECT_EQ(t.reply("250 DATA? sure\r\n"), "");  // DATA must get 354 or a refusal
  EXPECT_TRUE(t.closed);
  EXPECT_EQ(t.results[0].failure->cause, Cause::kProtocol);
  EXPECT_EQ(t.results[0].failure->phase, Phase::kData);
}

TEST(ClientSession, MisuseThrows) {
  ClientSession s(plain());
  EXPECT_THROW(s.next(), std::logic_error);
  s.start();
  EXPECT_THROW(s.start(), std::logic_error);
  EXPECT_THROW(s.tls_started(), std::logic_error);
  EXPECT_THROW(s.body_sent(DotEncoder::Data()), std::logic_error);
}

TEST(ClientSession, PhaseNames) {
  EXPECT_STREQ(phase_name(Phase::kConnect), "connect");
  EXPECT_STREQ(phase_name(Phase::kStartTls), "starttls");
  EXPECT_STREQ(phase_name(Phase::kBody), "body");
}

// --- REQUIRETLS (RFC 8689 4.2.1) ------------------------------------------

OutboundMessage requiretls_msg() {
  OutboundMessage m = msg("a@x.test", {"b@y.test"});
  m.mail.requiretls = true;
  return m;
}

TEST(ClientSession, RequireTlsSentOverTlsToAServerOfferingIt) {
  Script t(opportunistic());
  t.add(requiretls_msg());
  EXPECT_EQ(t.connect({"STARTTLS"}), "STARTTLS\r\n");
  EXPECT_EQ(t.reply("220 2.0.0 Ready to start TLS\r\n"), "EHLO client.test\r\n");
  EXPECT_EQ(t.reply(ehlo({"REQUIRETLS"})), "MAIL FROM:<a@x.test> REQUIRETLS\r\n");
  EXPECT_TRUE(t.s.capabilities().requiretls);
}

TEST(ClientSession, RequireTlsRefusedLocallyWithoutTheExtension) {
  Script t(opportunistic());
  t.add(requiretls_msg());
  t.connect({"STARTTLS"});
  EXPECT_EQ(t.reply("220 2.0.0 Ready to start TLS\r\n"), "EHLO client.test\r\n");
  EXPECT_EQ(t.reply(ehlo({"8BITMIME"})), "");  // no MAIL
  ASSERT_EQ(t.results.size(), 1u);
  const auto& f = *t.results[0].failure;
  EXPECT_EQ(f.reply->code, 550);
  EXPECT_EQ(f.reply->enhanced, "5.7.30");
  EXPECT_EQ(f.cause, Cause::kLocal);
  EXPECT_TRUE(f.permanent);
}

TEST(ClientSession, RequireTlsNeverSentInPlaintext) {
  Script t;  // no TLS at all, even though the server claims the extension
  t.add(requiretls_msg());
  EXPECT_EQ(t.connect({"REQUIRETLS"}), "");
  ASSERT_EQ(t.results.size(), 1u);
  EXPECT_EQ(t.results[0].failure->reply->enhanced, "5.7.30");
}

// --- The trace (OutboundMessage::trace) -----------------------------------

OutboundMessage traced(std::optional<uint64_t> size, std::function<std::string()> trace) {
  OutboundMessage m = msg("a@x.test", {"b@y.test"}, size);
  m.trace = std::move(trace);
  return m;
}

constexpr std::string_view kTrace = "Received: by us (t)\r\n\tid Q; date\r\n";  // 34 octets

TEST(ClientSession, TraceCountsInSizeAndGoesFirst) {
  Script t;
  int asked = 0;
  t.add(traced(4,
               [&] {
                 ++asked;
                 return std::string(kTrace);
               }),
        "hi\r\n");
  t.s.quit();
  // Pipelining as without a trace; SIZE= counts it (34 + 4).
  EXPECT_EQ(t.connect({"PIPELINING", "SIZE 100"}),
            "MAIL FROM:<a@x.test> SIZE=38\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n354 go\r\n"), std::string(kTrace) + "hi\r\n.\r\n");
  EXPECT_EQ(t.reply("250 queued\r\n"), "QUIT\r\n");
  EXPECT_EQ(asked, 1);
  EXPECT_FALSE(t.results[0].failure);
  EXPECT_TRUE(transcript_has(t.transcript, "C: <38 octets of message data>"));
}

TEST(ClientSession, TraceCountsInBdat) {
  Script t(chunking());
  t.add(traced(4, [] { return std::string(kTrace); }), "hi\r\n");
  EXPECT_EQ(t.connect({"PIPELINING", "CHUNKING", "SIZE"}),
            "MAIL FROM:<a@x.test> SIZE=38\r\nRCPT TO:<b@y.test>\r\n");
  // The chunk is exactly as long as announced: the connection stays.
  EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n"), "BDAT 38 LAST\r\n" + std::string(kTrace) + "hi\r\n");
  t.reply("250 queued\r\n");
  EXPECT_FALSE(t.closed);
  ASSERT_EQ(t.results.size(), 1u);
  EXPECT_FALSE(t.results[0].failure);
  EXPECT_TRUE(t.results[0].bdat);
}

TEST(ClientSession, TraceCountsAgainstTheServersSize) {
  Script t;
  t.add(traced(4, [] { return std::string(kTrace); }), "hi\r\n");
  EXPECT_EQ(t.connect({"SIZE 37"}), "");  // 38 > 37: refused here
  ASSERT_EQ(t.results.size(), 1u);
  EXPECT_EQ(t.results[0].failure->reply->enhanced, "5.3.4");
}

TEST(ClientSession, TraceIsAskedAfterStartTlsOncePerMessage) {
  ClientSessionOptions o = plain();
  o.tls = TlsPolicy::kOpportunistic;
  Script t(o);
  std::vector<bool> tls_when_asked;
  auto trace = [&] {
    tls_when_asked.push_back(t.s.tls_active());
    return "X-Trace: " + std::to_string(tls_when_asked.size()) + "\r\n";
  };
  t.add(traced(4, trace), "hi\r\n");
  t.add(traced(4, trace), "ho\r\n");
  EXPECT_EQ(t.connect({"STARTTLS", "PIPELINING", "SIZE"}), "STARTTLS\r\n");
  EXPECT_EQ(t.reply("220 go\r\n"), "EHLO client.test\r\n");
  EXPECT_TRUE(tls_when_asked.empty());  // not before the handshake
  EXPECT_EQ(t.reply(ehlo({"PIPELINING", "SIZE"})),
            "MAIL FROM:<a@x.test> SIZE=16\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n354 go\r\n"), "X-Trace: 1\r\nhi\r\n.\r\n");
  EXPECT_EQ(t.reply("250 queued\r\n"),
            "MAIL FROM:<a@x.test> SIZE=16\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n354 go\r\n"), "X-Trace: 2\r\nho\r\n.\r\n");
  t.reply("250 queued\r\n");
  EXPECT_EQ(tls_when_asked, (std::vector<bool>{true, true}));
  ASSERT_EQ(t.results.size(), 2u);
  EXPECT_FALSE(t.results[1].failure);
}

TEST(ClientSession, NoTraceWithoutOneOrWhenMalformed) {
  for (std::string bad :
       {std::string(), std::string("X: a\n"), std::string("X: a"), std::string("X: a\r\n\r\n"),
        std::string(" X: a\r\n"), std::string("X: \xc3\xa9\r\n"), std::string("X: a\rb\r\n"),
        std::string("X: \x01\r\n")}) {
    Script t;
    t.add(traced(4, [bad] { return bad; }), "hi\r\n");
    EXPECT_EQ(t.connect({"PIPELINING", "SIZE"}),
              "MAIL FROM:<a@x.test> SIZE=4\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
    EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n354 go\r\n"), "hi\r\n.\r\n") << bad;
  }
}

TEST(ClientSession, TraceWithoutAKnownSizeGoesByData) {
  Script t(chunking());
  t.add(traced(std::nullopt, [] { return std::string(kTrace); }), "hi\r\n");
  EXPECT_EQ(t.connect({"PIPELINING", "CHUNKING", "SIZE"}),
            "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
  EXPECT_EQ(t.reply("250 ok\r\n250 ok\r\n354 go\r\n"), std::string(kTrace) + "hi\r\n.\r\n");
}

}  // namespace
}  // namespace tern
