// ServerSession's relay-policy hooks, driven with no I/O: the sender check
// of authenticated users (RFC 6409 6.1), recipients the environment
// rewrites (SRS bounces) or refuses with a reason, and ETRN (RFC 1985).
#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/command.h"
#include "core/server_session.h"
#include "session_driver.h"

namespace tern {
namespace {

using testlib::codes;
using testlib::Driver;
using testlib::submission;
using testlib::V;

// A submission session authenticated as alice over TLS.
void login(Driver& d) {
  d.start();
  d.ehlo();
  d.send("STARTTLS\r\n");
  d.ehlo();
  ASSERT_EQ(
      codes(d.send("AUTH PLAIN " + base64_encode(std::string("\0alice\0secret", 13)) + "\r\n")),
      V{"235 2.7.0"});
}

TEST(SessionSender, AuthenticatedUserMayUseOnlyOwnedSenders) {
  Driver d(submission());
  login(d);
  std::string r = d.send("MAIL FROM:<mallory@local.test>\r\n");
  EXPECT_EQ(r, "553 5.7.1 Sender address not owned by authenticated user <alice>\r\n");
  EXPECT_FALSE(d.s.in_transaction());
  EXPECT_EQ(codes(d.send("MAIL FROM:<team@local.test>\r\n")), V{"250 2.1.0"});
  d.send("RSET\r\n");
  EXPECT_EQ(codes(d.send("MAIL FROM:<>\r\n")), V{"250 2.1.0"});
  d.send("RSET\r\n");
  EXPECT_EQ(codes(d.send("MAIL FROM:<x@tempfail.test>\r\n")), V{"451 4.3.0"});
  EXPECT_EQ(codes(d.send("MAIL FROM:<alice@local.test>\r\nRCPT TO:<x@elsewhere.test>\r\n")),
            (V{"250 2.1.0", "250 2.1.5"}));
  EXPECT_EQ(d.env.sender_checks, (V{"alice mallory@local.test", "alice team@local.test", "alice ",
                                    "alice x@tempfail.test", "alice alice@local.test"}));
}

TEST(SessionSender, NoCheckWithoutAuthentication) {
  Driver d;  // the smtp listener: anyone may claim any sender
  d.start();
  d.ehlo();
  EXPECT_EQ(codes(d.send("MAIL FROM:<mallory@local.test>\r\n")), V{"250 2.1.0"});
  EXPECT_TRUE(d.env.sender_checks.empty());
}

TEST(SessionRcpt, QuotedLocalPartsAndImpossibleMailboxes) {
  Driver d;
  d.start();
  d.ehlo();
  // RFC 5321 4.1.2: "\"alice\"" is alice, and is queued as such.
  EXPECT_EQ(d.send("MAIL FROM:<>\r\nRCPT TO:<\"alice\"@local.test>\r\n"),
            "250 2.1.0 Sender <> OK\r\n250 2.1.5 Recipient <alice@local.test> OK\r\n");
  // A name no mailbox can have: refused now (RFC 3463 X.1.3), not bounced later.
  EXPECT_EQ(d.send("RCPT TO:<\"../../tmp/x\"@local.test>\r\n"),
            "550 5.1.3 <\"../../tmp/x\"@local.test>: Bad destination mailbox address syntax\r\n");
  EXPECT_EQ(codes(d.send("DATA\r\n")), V{"354"});
}

TEST(SessionRcpt, RewrittenRecipientIsQueuedWithTheOriginalInOrcpt) {
  Driver d;
  d.start();
  d.ehlo();
  std::string r = d.send("MAIL FROM:<>\r\nRCPT TO:<back=remote.test=bob@local.test>\r\n");
  EXPECT_EQ(
      r, "250 2.1.0 Sender <> OK\r\n250 2.1.5 Recipient <back=remote.test=bob@local.test> OK\r\n");
  // An ORCPT the client gave wins.
  EXPECT_EQ(codes(d.send("RCPT TO:<back=far.test=carol@local.test> ORCPT=rfc822;c@x.test\r\n")),
            V{"250 2.1.5"});
  d.send("DATA\r\nSubject: bounce\r\n\r\nx\r\n.\r\n");
  ASSERT_EQ(d.envelopes.size(), 1u);
  const Envelope& e = d.envelopes[0];
  ASSERT_EQ(e.rcpts.size(), 2u);
  EXPECT_EQ(e.rcpts[0].to.str(), "bob@remote.test");
  EXPECT_EQ(e.rcpts[0].orcpt, "rfc822;back=remote.test=bob@local.test");
  EXPECT_EQ(e.rcpts[1].to.str(), "carol@far.test");
  EXPECT_EQ(e.rcpts[1].orcpt, "rfc822;c@x.test");
}

TEST(SessionRcpt, RefusalCarriesTheEnvironmentsReason) {
  Driver d;
  d.start();
  d.ehlo();
  std::string r = d.send("MAIL FROM:<>\r\nRCPT TO:<forged=x@local.test>\r\n");
  EXPECT_EQ(r,
            "250 2.1.0 Sender <> OK\r\n550 5.1.1 <forged=x@local.test>: Recipient address "
            "rejected: invalid SRS signature\r\n");
  EXPECT_EQ(d.send("RCPT TO:<nobody@local.test>\r\n"),
            "550 5.1.1 <nobody@local.test>: Recipient address rejected: User unknown\r\n");
}

SessionOptions etrn_allowed() {
  SessionOptions o;
  o.etrn = true;
  return o;
}

TEST(SessionEtrn, AdvertisedOnlyToAllowedClients) {
  Driver no;
  no.start();
  EXPECT_EQ(no.ehlo().find("ETRN"), std::string::npos);
  EXPECT_EQ(no.send("ETRN remote.test\r\n"), "502 5.5.1 ETRN not available to this client\r\n");
  EXPECT_TRUE(no.env.etrn_calls.empty());

  Driver yes(etrn_allowed());
  yes.start();
  EXPECT_NE(yes.ehlo().find("\r\n250-ETRN\r\n"), std::string::npos);
}

TEST(SessionEtrn, RepliesFollowRfc1985) {
  Driver d(etrn_allowed());
  d.start();
  EXPECT_EQ(codes(d.send("ETRN remote.test\r\n")), V{"503 5.5.1"});  // EHLO first
  d.ehlo();
  d.env.etrn_result = 3;
  EXPECT_EQ(d.send("ETRN Remote.TEST\r\n"),
            "253 2.0.0 OK, 3 pending messages for node remote.test started\r\n");
  d.env.etrn_result = 0;
  EXPECT_EQ(d.send("ETRN @remote.test\r\n"),
            "251 2.0.0 OK, no messages waiting for node @remote.test\r\n");
  d.env.etrn_result = std::nullopt;
  EXPECT_EQ(d.send("etrn remote.test\r\n"),
            "458 4.3.0 Unable to queue messages for node remote.test\r\n");
  EXPECT_EQ(d.send("ETRN #outbound\r\n"),
            "459 4.3.3 Node #outbound not allowed: queue names not supported\r\n");
  EXPECT_EQ(d.env.etrn_calls, (V{"remote.test", "@remote.test", "remote.test"}));
  for (const char* bad : {"ETRN\r\n", "ETRN \r\n", "ETRN a b\r\n", "ETRN [192.0.2.1]\r\n",
                          "ETRN -x.test\r\n", "ETRN x..test\r\n", "ETRN @\r\n", "ETRN #\r\n"}) {
    EXPECT_EQ(codes(d.send(bad)), V{"501 5.5.4"}) << bad;
  }
  EXPECT_EQ(d.env.etrn_calls.size(), 3u);
}

TEST(SessionEtrn, NotInsideATransaction) {
  Driver d(etrn_allowed());
  d.start();
  d.ehlo();
  d.send("MAIL FROM:<a@remote.test>\r\n");
  EXPECT_EQ(d.send("ETRN remote.test\r\n"), "503 5.5.1 MAIL transaction in progress\r\n");
  d.send("RSET\r\n");
  EXPECT_EQ(codes(d.send("ETRN remote.test\r\n")), V{"251 2.0.0"});
  EXPECT_EQ(d.env.etrn_calls, V{"remote.test"});
}

TEST(EtrnNode, Forms) {
  auto n = parse_etrn_node("Mail.Example.ORG");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->kind, EtrnNode::Kind::kDomain);
  EXPECT_EQ(n->name, "mail.example.org");
  n = parse_etrn_node("@example.org");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->kind, EtrnNode::Kind::kSubdomains);
  EXPECT_EQ(n->name, "example.org");
  n = parse_etrn_node("#Queue1");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->kind, EtrnNode::Kind::kQueue);
  EXPECT_EQ(n->name, "Queue1");
  EXPECT_TRUE(parse_etrn_node("localhost"));
  EXPECT_TRUE(parse_etrn_node("a-b.c9"));
  EXPECT_TRUE(parse_etrn_node(std::string(63, 'a') + ".test"));
  EXPECT_FALSE(parse_etrn_node(std::string(64, 'a') + ".test"));
  for (const char* bad : {"", "@", "#", "a b", "x.", ".x", "a-.b", "-a.b", "a_b.c", "@@x.test",
                          "[127.0.0.1]", "x.test\t", "#a b"})
    EXPECT_FALSE(parse_etrn_node(bad)) << bad;
}

}  // namespace
}  // namespace tern
