// The LMTP side of local delivery as pure decisions (src/relay/lmtp_plan.h),
// and the LMTP address syntax of [delivery] (src/core/lmtp_address.h).
#include "relay/lmtp_plan.h"

#include <gtest/gtest.h>

#include "core/lmtp_address.h"

namespace tern {
namespace {

using K = RcptResult::Kind;
constexpr char kServer[] = "unix:/run/dovecot/lmtp";

Failure failure(Phase phase, Failure::Cause cause, std::optional<Reply> reply = {}) {
  Failure f;
  f.phase = phase;
  f.cause = cause;
  f.reply = reply;
  f.permanent = reply && reply->code >= 500;
  f.detail = "details";
  return f;
}

MessageResult result(std::vector<std::optional<Failure>> rcpts) {
  MessageResult r;
  for (auto& f : rcpts) {
    RecipientResult rr;
    rr.failure = f;
    if (!f) rr.reply = Reply(250, "2.0.0", "<u@d.test> abc Saved");
    r.rcpts.push_back(rr);
  }
  return r;
}

TEST(LmtpPlan, RepliesMapToTheQueue) {
  auto got = lmtp_results(
      result({std::nullopt,
              failure(Phase::kRcpt, Failure::Cause::kReply,
                      Reply(550, "5.1.1", "<x@d.test> User doesn't exist")),
              failure(Phase::kBody, Failure::Cause::kReply, Reply(452, "4.2.2", "Quota")),
              failure(Phase::kBody, Failure::Cause::kReply, Reply(552, "5.2.2", "Full"))}),
      kServer);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].kind, K::kDelivered);
  EXPECT_EQ(got[0].reply.code, 250);
  EXPECT_EQ(got[0].reply.lines[0], "<u@d.test> abc Saved");
  EXPECT_EQ(got[1].kind, K::kPermanent);
  EXPECT_EQ(got[1].reply.code, 550);  // the server's words go into the DSN
  EXPECT_EQ(got[1].reply.enhanced, "5.1.1");
  EXPECT_EQ(got[2].kind, K::kTransient);
  EXPECT_EQ(got[2].reply.code, 452);
  EXPECT_EQ(got[3].kind, K::kPermanent);
  for (const RcptResult& r : got) EXPECT_EQ(r.remote_mta, kServer);
}

TEST(LmtpPlan, TroubleWithTheServerIsNeverPermanent) {
  // A 5xx greeting or LHLO means the mailbox server is misconfigured: our
  // problem, not the recipient's.
  for (Failure f : {failure(Phase::kGreeting, Failure::Cause::kReply, Reply(554, "5.3.0", "no")),
                    failure(Phase::kEhlo, Failure::Cause::kReply, Reply(500, "5.5.1", "LHLO?")),
                    failure(Phase::kConnect, Failure::Cause::kConnection),
                    failure(Phase::kBody, Failure::Cause::kConnection),
                    failure(Phase::kMail, Failure::Cause::kProtocol)}) {
    auto got = lmtp_results(result({f}), kServer);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].kind, K::kTransient) << f.describe();
    EXPECT_EQ(got[0].reply.code / 100, 4) << f.describe();
    EXPECT_NE(got[0].reply.lines[0].find(kServer), std::string::npos);
  }
  auto refused =
      lmtp_results(result({failure(Phase::kConnect, Failure::Cause::kConnection)}), kServer);
  EXPECT_EQ(refused[0].reply.enhanced, "4.4.1");
}

TEST(LmtpPlan, OnlyAConnectionThatDiedBeforeTheBodyIsStale) {
  MessageResult before = result({failure(Phase::kMail, Failure::Cause::kConnection)});
  before.failure = before.rcpts[0].failure;
  EXPECT_TRUE(stale_connection(before));
  MessageResult after = result({failure(Phase::kBody, Failure::Cause::kConnection)});
  after.failure = after.rcpts[0].failure;
  EXPECT_FALSE(stale_connection(after));  // may have been delivered: the queue retries
  MessageResult refused =
      result({failure(Phase::kRcpt, Failure::Cause::kReply, Reply(550, "5.1.1", "no"))});
  refused.failure = refused.rcpts[0].failure;
  EXPECT_FALSE(stale_connection(refused));
  EXPECT_FALSE(stale_connection(result({std::nullopt})));
}

TEST(LmtpPlan, TheWorstTargetDecidesTheRecipient) {
  RcptResult local;
  local.kind = K::kExpanded;
  local.reply = Reply(250, "2.0.0", "alias expanded");
  local.forward_to = {"x@remote.test"};
  RcptResult ok;
  ok.kind = K::kDelivered;
  RcptResult bounced;
  bounced.kind = K::kPermanent;
  bounced.reply = Reply(550, "5.1.1", "unknown");
  RcptResult later;
  later.kind = K::kTransient;
  later.reply = Reply(451, "4.4.1", "down");
  EXPECT_EQ(merge_results(local, {}).kind, K::kExpanded);
  EXPECT_EQ(merge_results(local, {ok}).kind, K::kExpanded);
  RcptResult m = merge_results(local, {ok, bounced});
  EXPECT_EQ(m.kind, K::kPermanent);
  EXPECT_EQ(m.reply.code, 550);
  EXPECT_TRUE(m.forward_to.empty());
  EXPECT_EQ(merge_results(local, {bounced, later}).kind, K::kTransient);
  RcptResult failed_locally = later;
  EXPECT_EQ(merge_results(failed_locally, {bounced}).kind, K::kTransient);
}

TEST(LmtpPlan, MessageCarriesTheEnvelopeButNoDsnOrSize) {
  Envelope env;
  env.mail.from = Address{"bob", "remote.test"};
  env.mail.body = BodyType::k8BitMime;
  env.mail.envid = "abc";
  std::vector<bool> ok;
  OutboundMessage m = lmtp_message(env, {"alice@d.test", "bad address"}, &ok);
  EXPECT_EQ(ok, (std::vector<bool>{true, false}));
  ASSERT_EQ(m.rcpts.size(), 1u);
  EXPECT_EQ(m.rcpts[0].to.str(), "alice@d.test");
  EXPECT_EQ(m.mail.from.str(), "bob@remote.test");
  EXPECT_EQ(m.mail.body, BodyType::k8BitMime);
  EXPECT_TRUE(m.mail.envid.empty());
  EXPECT_FALSE(m.mail.size);
}

TEST(LmtpAddress, UnixAndTcp) {
  std::string error;
  auto u = parse_lmtp_address("unix:/run/dovecot/lmtp", &error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->kind, LmtpAddress::Kind::kUnix);
  EXPECT_EQ(u->path, "/run/dovecot/lmtp");
  auto t = parse_lmtp_address("tcp:127.0.0.1:24", &error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->ip, "127.0.0.1");
  EXPECT_EQ(t->port, 24);
  EXPECT_EQ(t->str(), "tcp:127.0.0.1:24");
  auto v6 = parse_lmtp_address("tcp:[::1]:2424", &error);
  ASSERT_TRUE(v6) << error;
  EXPECT_EQ(v6->ip, "::1");
  EXPECT_EQ(v6->str(), "tcp:[::1]:2424");
  for (const char* bad : {"", "/run/dovecot/lmtp", "unix:", "unix:relative/lmtp", "tcp:127.0.0.1",
                          "tcp:localhost:24", "tcp:127.0.0.1:0", "tcp:127.0.0.1:65536",
                          "tcp:127.0.0.1:2x", "tcp:[::1]24", "tcp:::1:24", "lmtp:127.0.0.1:24"}) {
    error.clear();
    EXPECT_FALSE(parse_lmtp_address(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  EXPECT_FALSE(parse_lmtp_address("unix:/" + std::string(200, 'a'), &error));
}

}  // namespace
}  // namespace tern
