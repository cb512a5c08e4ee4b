// The scheduler's pure decisions (src/relay/plan.h): grouping by
// destination, what results mean for the state log, NOTIFY, next due time.
#include "relay/plan.h"

#include <gtest/gtest.h>

namespace tern {
namespace {

constexpr int64_t kT0 = 1700000000;

bool IsLocal(std::string_view d) { return d == "example.com" || d == "EXAMPLE.com"; }

QueuedMessage Message(Address from, std::vector<std::pair<Address, unsigned>> rcpts) {
  QueuedMessage m;
  m.envelope.id = "0000000000000001";
  m.envelope.mail.from = std::move(from);
  m.envelope.received_at = kT0;
  for (auto& [a, notify] : rcpts) {
    RcptArgs r;
    r.to = a;
    r.notify = notify;
    m.envelope.rcpts.push_back(r);
  }
  m.state.resize(m.envelope.rcpts.size());
  return m;
}

const Address kSender{"alice", "example.com"};

RcptResult Result(RcptResult::Kind kind, Reply reply, std::string mta = "") {
  RcptResult r;
  r.kind = kind;
  r.reply = std::move(reply);
  r.remote_mta = std::move(mta);
  return r;
}

TEST(PlanTest, DestinationOf) {
  EXPECT_EQ(destination_of({"bob", "example.com"}, IsLocal).kind, Destination::Kind::kLocal);
  EXPECT_EQ(destination_of({"Postmaster", ""}, IsLocal).kind, Destination::Kind::kLocal);
  Destination d = destination_of({"x", "Remote.NET"}, IsLocal);
  EXPECT_EQ(d.kind, Destination::Kind::kRemote);
  EXPECT_EQ(d.domain, "remote.net");
  EXPECT_EQ(d.key(), "remote.net");
  EXPECT_EQ(destination_of({"bob", "example.com"}, IsLocal).key(), "local");
  EXPECT_EQ(destination_of({"x", "[192.0.2.1]"}, IsLocal).domain, "[192.0.2.1]");
}

TEST(PlanTest, DueRecipientsGroupedByDestinationInOrder) {
  QueuedMessage m = Message(kSender, {{{"a", "remote.net"}, 0},
                                      {{"b", "example.com"}, 0},
                                      {{"c", "REMOTE.net"}, 0},
                                      {{"d", "other.org"}, 0},
                                      {{"e", "example.com"}, 0},
                                      {{"f", "other.org"}, 0}});
  m.state[3].next_attempt = kT0 + 600;  // not due yet
  m.state[4].done = true;
  m.state[5].outcome = RcptOutcome::kFailed;  // final, waiting for its DSN
  auto groups = due_groups(m, kT0, false, IsLocal);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].dest.domain, "remote.net");
  EXPECT_EQ(groups[0].rcpts, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(groups[1].dest.kind, Destination::Kind::kLocal);
  EXPECT_EQ(groups[1].rcpts, std::vector<size_t>{1});
  // flush: every pending one, due or not.
  groups = due_groups(m, kT0, true, IsLocal);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[2].dest.domain, "other.org");
  EXPECT_EQ(groups[2].rcpts, std::vector<size_t>{3});
  EXPECT_EQ(due_groups(m, kT0 + 600, false, IsLocal).size(), 3u);
}

TEST(PlanTest, FlushScopeByDomain) {
  DomainPattern exact{"one.net", false}, sub{"one.net", true};
  EXPECT_TRUE(exact.matches("ONE.net"));
  EXPECT_FALSE(exact.matches("mx.one.net"));
  EXPECT_TRUE(sub.matches("one.net"));
  EXPECT_TRUE(sub.matches("a.b.One.Net"));
  EXPECT_FALSE(sub.matches("none.net"));  // a suffix, not a subdomain
  EXPECT_FALSE(sub.matches("one.net.evil"));

  QueuedMessage m = Message(kSender, {{{"a", "one.net"}, 0},
                                      {{"b", "two.net"}, 0},
                                      {{"c", "mx.one.net"}, 0},
                                      {{"Postmaster", ""}, 0}});
  for (auto& s : m.state) s.next_attempt = kT0 + 600;  // none due by time
  EXPECT_TRUE(due_groups(m, kT0, FlushScope{}, IsLocal).empty());
  FlushScope etrn{.all = false, .domains = {exact}};
  auto groups = due_groups(m, kT0, etrn, IsLocal);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].rcpts, std::vector<size_t>{0});
  etrn.merge(FlushScope{.all = false, .domains = {sub, exact}});
  EXPECT_EQ(etrn.domains.size(), 2u);  // no duplicates
  groups = due_groups(m, kT0, etrn, IsLocal);
  ASSERT_EQ(groups.size(), 2u);  // one.net, mx.one.net
  EXPECT_EQ(groups[1].rcpts, std::vector<size_t>{2});
  EXPECT_FALSE(etrn.covers({"Postmaster", ""}));
  etrn.merge(FlushScope{.all = true, .domains = {}});
  EXPECT_EQ(due_groups(m, kT0, etrn, IsLocal).size(), 4u);
}

TEST(PlanTest, ResultRecords) {
  RetryPolicy p;
  p.jitter = 0;
  QueuedMessage m = Message(kSender, {{{"a", "remote.net"}, 0}});
  Destination remote = destination_of({"a", "remote.net"}, IsLocal);
  Destination local;

  StateRecord r =
      result_record(m, 0, Result(RcptResult::Kind::kTransient, Reply(451, "4.4.1", "no"), "mx"),
                    remote, false, p, kT0 + 10, 0.5);
  EXPECT_EQ(r.type, StateRecord::Type::kTry);
  EXPECT_EQ(r.at, kT0 + 10);
  EXPECT_EQ(r.next, kT0 + 10 + 300);
  EXPECT_EQ(r.remote_mta, "mx");
  m.state[0].attempts = 2;  // the third failure waits the third interval
  EXPECT_EQ(result_record(m, 0, Result(RcptResult::Kind::kTransient, Reply(421, "", "x")), remote,
                          false, p, kT0, 0.5)
                .next,
            kT0 + 1200);

  r = result_record(m, 0, Result(RcptResult::Kind::kPermanent, Reply(550, "5.1.1", "no such")),
                    remote, false, p, kT0, 0.5);
  EXPECT_EQ(r.type, StateRecord::Type::kFail);
  // A permanent result with a wrong code still reads as permanent, and a
  // transient one as transient.
  EXPECT_EQ(result_record(m, 0, Result(RcptResult::Kind::kPermanent, Reply(450, "", "")), remote,
                          false, p, kT0, 0.5)
                .reply.code,
            550);
  EXPECT_EQ(
      result_record(m, 0, Result(RcptResult::Kind::kTransient, Reply()), remote, false, p, kT0, 0.5)
          .reply.code,
      451);

  r = result_record(m, 0, Result(RcptResult::Kind::kDelivered, Reply(250, "2.0.0", "ok")), remote,
                    true, p, kT0, 0.5);
  EXPECT_EQ(r.type, StateRecord::Type::kOk);
  EXPECT_EQ(r.outcome, RcptOutcome::kRelayed);
  EXPECT_TRUE(r.next_hop_dsn);
  r = result_record(m, 0, Result(RcptResult::Kind::kDelivered, Reply(250, "2.0.0", "ok")), local,
                    true, p, kT0, 0.5);
  EXPECT_EQ(r.outcome, RcptOutcome::kDelivered);
  EXPECT_FALSE(r.next_hop_dsn);
  EXPECT_EQ(result_record(m, 0, Result(RcptResult::Kind::kExpanded, Reply(250, "", "")), local,
                          false, p, kT0, 0.5)
                .outcome,
            RcptOutcome::kExpanded);

  // Past max_age a transient failure is final.
  r = result_record(m, 0, Result(RcptResult::Kind::kTransient, Reply(451, "4.4.1", "no")), remote,
                    false, p, kT0 + 5 * 86400, 0.5);
  EXPECT_EQ(r.type, StateRecord::Type::kFail);
  EXPECT_EQ(r.reply.code, 451);
}

TEST(PlanTest, BounceRecordsFailEveryPendingRecipient) {
  QueuedMessage m = Message(kSender, {{{"a", "x.net"}, 0}, {{"b", "x.net"}, 0}, {{"c", "x"}, 0}});
  m.state[1].done = true;
  m.state[2].outcome = RcptOutcome::kDelivered;
  auto records = bounce_records(m, kT0);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].rcpt, 0u);
  EXPECT_EQ(records[0].type, StateRecord::Type::kFail);
  EXPECT_EQ(records[0].reply.enhanced, "5.0.0");
}

// RFC 3461 4.1 as plan.h states it.
TEST(PlanTest, NotifyDecidesWhichReports) {
  struct Case {
    unsigned notify;
    bool failed, delayed, delivered;
  } cases[] = {
      {kNotifyNone, true, true, false},     {kNotifyNever, false, false, false},
      {kNotifyFailure, true, false, false}, {kNotifyDelay, false, true, false},
      {kNotifySuccess, false, false, true}, {kNotifySuccess | kNotifyFailure, true, false, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.notify);
    QueuedMessage m = Message(kSender, {{{"a", "x.net"}, c.notify}});
    EXPECT_EQ(wants_report(m, 0, DsnAction::kFailed), c.failed);
    EXPECT_EQ(wants_report(m, 0, DsnAction::kDelayed), c.delayed);
    EXPECT_EQ(wants_report(m, 0, DsnAction::kDelivered), c.delivered);
    EXPECT_EQ(wants_report(m, 0, DsnAction::kExpanded), c.delivered);
    EXPECT_EQ(wants_report(m, 0, DsnAction::kRelayed), c.delivered);
    m.state[0].next_hop_dsn = true;  // the next hop reports success itself
    EXPECT_FALSE(wants_report(m, 0, DsnAction::kRelayed));
    QueuedMessage null = Message(Address{}, {{{"a", "x.net"}, c.notify}});
    EXPECT_FALSE(wants_report(null, 0, DsnAction::kFailed));
    EXPECT_FALSE(wants_report(null, 0, DsnAction::kDelayed));
    EXPECT_FALSE(wants_report(null, 0, DsnAction::kDelivered));
  }
}

TEST(PlanTest, NoticeFinishesFinalRecipientsAndWarnsOnce) {
  RetryPolicy p;
  QueuedMessage m = Message(kSender, {{{"a", "x.net"}, 0},
                                      {{"b", "x.net"}, kNotifySuccess},
                                      {{"c", "x.net"}, 0},
                                      {{"d", "x.net"}, 0},
                                      {{"e", "x.net"}, kNotifyNever}});
  m.state[0].outcome = RcptOutcome::kFailed;
  m.state[0].last_reply = Reply(550, "5.1.1", "no such user");
  m.state[0].remote_mta = "mx.x.net";
  m.state[1].outcome = RcptOutcome::kDelivered;
  m.state[2].attempts = 3;  // pending, last tried 5 h after arrival
  m.state[2].last_attempt = kT0 + 5 * 3600;
  m.state[2].last_reply = Reply(451, "4.4.1", "no answer");
  m.state[3].attempts = 1;  // pending, tried early only
  m.state[3].last_attempt = kT0 + 60;
  m.state[4].attempts = 3;  // would be warned, but NOTIFY=NEVER
  m.state[4].last_attempt = kT0 + 5 * 3600;

  Notice n = plan_notice(m, p);
  ASSERT_EQ(n.entries.size(), 3u);
  EXPECT_EQ(n.entries[0].action, DsnAction::kFailed);
  EXPECT_EQ(n.entries[0].final_recipient, "a@x.net");
  EXPECT_EQ(n.entries[0].status, "5.1.1");
  EXPECT_EQ(n.entries[0].remote_mta, "mx.x.net");
  EXPECT_EQ(n.entries[0].diagnostic, "550 5.1.1 no such user");
  EXPECT_EQ(n.entries[1].action, DsnAction::kDelivered);
  EXPECT_EQ(n.entries[2].action, DsnAction::kDelayed);
  EXPECT_EQ(n.entries[2].status, "4.4.1");
  EXPECT_EQ(n.entries[2].will_retry_until, kT0 + 5 * 86400);
  ASSERT_EQ(n.records.size(), 3u);
  EXPECT_EQ(n.records[0].type, StateRecord::Type::kDone);
  EXPECT_EQ(n.records[1].type, StateRecord::Type::kDone);
  EXPECT_EQ(n.records[2].type, StateRecord::Type::kWarn);
  EXPECT_EQ(n.records[2].rcpt, 2u);

  for (const StateRecord& r : n.records) apply_state_record(r, &m.state);
  Notice again = plan_notice(m, p);
  EXPECT_TRUE(again.entries.empty());
  EXPECT_TRUE(again.records.empty());
}

TEST(PlanTest, ExpiredFailureSaysSo) {
  RetryPolicy p;
  QueuedMessage m = Message(kSender, {{{"a", "x.net"}, 0}});
  m.state[0].outcome = RcptOutcome::kFailed;
  m.state[0].last_reply = Reply(451, "4.4.1", "connection refused");
  Notice n = plan_notice(m, p);
  ASSERT_EQ(n.entries.size(), 1u);
  EXPECT_EQ(n.entries[0].status, "4.4.1");  // "abandoned after persistent transient failures"
  EXPECT_NE(n.entries[0].reason.find("gave up after 5d"), std::string::npos);
  EXPECT_NE(n.entries[0].reason.find("connection refused"), std::string::npos);
}

TEST(PlanTest, NullSenderGetsNothingButRecipientsFinish) {
  QueuedMessage m = Message(Address{}, {{{"a", "x.net"}, kNotifyFailure}});
  m.state[0].outcome = RcptOutcome::kFailed;
  Notice n = plan_notice(m, RetryPolicy{});
  EXPECT_TRUE(n.entries.empty());
  ASSERT_EQ(n.records.size(), 1u);
  EXPECT_EQ(n.records[0].type, StateRecord::Type::kDone);
}

// Which passes may skip the state log (the scheduler removes the message
// instead of writing these records).
TEST(PlanTest, FinishesQuietlyOnlyWhenNothingIsLeftToDoOrReport) {
  RetryPolicy p;
  auto record = [](StateRecord::Type type, size_t i) {
    StateRecord r;
    r.type = type;
    r.rcpt = i;
    r.at = kT0;
    r.next = kT0 + 600;  // read for kTry only
    return r;
  };
  auto ok = [&](size_t i) { return record(StateRecord::Type::kOk, i); };  // delivered
  auto fail = [&](size_t i) { return record(StateRecord::Type::kFail, i); };
  auto retry = [&](size_t i) { return record(StateRecord::Type::kTry, i); };
  QueuedMessage two = Message(kSender, {{{"a", "x.net"}, 0}, {{"b", "x.net"}, 0}});
  EXPECT_TRUE(finishes_quietly(two, {ok(0), ok(1)}, p));
  EXPECT_FALSE(finishes_quietly(two, {ok(0)}, p));            // b still pending
  EXPECT_FALSE(finishes_quietly(two, {ok(0), retry(1)}, p));  // b tried again later
  EXPECT_FALSE(finishes_quietly(two, {ok(0), fail(1)}, p));   // a bounce to send
  QueuedMessage null = Message(Address{}, {{{"a", "x.net"}, 0}});
  EXPECT_TRUE(finishes_quietly(null, {fail(0)}, p));  // no DSN to "<>"
  QueuedMessage never = Message(kSender, {{{"a", "x.net"}, kNotifyNever}});
  EXPECT_TRUE(finishes_quietly(never, {fail(0)}, p));
  QueuedMessage success = Message(kSender, {{{"a", "x.net"}, kNotifySuccess}});
  EXPECT_FALSE(finishes_quietly(success, {ok(0)}, p));  // a success DSN to send
  // b was finished by an earlier pass (its records are in the log).
  two.state[1].outcome = RcptOutcome::kDelivered;
  two.state[1].done = true;
  EXPECT_TRUE(finishes_quietly(two, {ok(0)}, p));
  EXPECT_FALSE(finishes_quietly(two, {}, p));
  // The message's own state is not touched.
  EXPECT_EQ(two.state[0].outcome, RcptOutcome::kPending);
}

TEST(PlanTest, NextDue) {
  QueuedMessage m = Message(kSender, {{{"a", "x.net"}, 0}, {{"b", "x.net"}, 0}});
  m.state[0].next_attempt = kT0 + 600;
  m.state[1].next_attempt = kT0 + 300;
  EXPECT_EQ(next_due(m), kT0 + 300);
  m.state[1].done = true;
  EXPECT_EQ(next_due(m), kT0 + 600);
  m.state[0].outcome = RcptOutcome::kFailed;  // its DSN is owed: now
  EXPECT_EQ(next_due(m), 0);
  m.state[0].done = true;
  EXPECT_EQ(next_due(m), kNever);
}

TEST(PlanTest, DsnAndForwardEnvelopes) {
  QueuedMessage m = Message(kSender, {{{"team", "example.com"}, kNotifyFailure}});
  m.envelope.mail.envid = "E1";
  m.envelope.mail.ret = DsnRet::kFull;
  Envelope d = dsn_envelope(m, "0000000000000002", kT0 + 5, "Subject: x\r\n");
  EXPECT_TRUE(d.mail.from.is_null());
  ASSERT_EQ(d.rcpts.size(), 1u);
  EXPECT_EQ(d.rcpts[0].to, kSender);
  EXPECT_EQ(d.mail.body, BodyType::k7Bit);
  EXPECT_EQ(d.received_at, kT0 + 5);
  EXPECT_EQ(dsn_envelope(m, "0000000000000002", kT0, "Subject: \xC3\xA9\r\n").mail.body,
            BodyType::k8BitMime);

  Envelope f = forward_envelope(m, 0, {"x@remote.net", "y@other.org"}, "0000000000000003", kT0);
  EXPECT_EQ(f.mail.from, kSender);
  EXPECT_EQ(f.mail.envid, "E1");
  EXPECT_EQ(f.mail.ret, DsnRet::kFull);
  ASSERT_EQ(f.rcpts.size(), 2u);
  EXPECT_EQ(f.rcpts[1].to, (Address{"y", "other.org"}));
  EXPECT_EQ(f.rcpts[0].notify, kNotifyFailure);
  EXPECT_EQ(f.rcpts[0].orcpt, "rfc822;team@example.com");
  m.envelope.rcpts[0].orcpt = "rfc822;original@example.net";
  EXPECT_EQ(forward_envelope(m, 0, {"x@remote.net"}, "0000000000000004", kT0).rcpts[0].orcpt,
            "rfc822;original@example.net");
  // A stranger's copy is nobody's; our user's copy stays theirs (signed).
  EXPECT_EQ(f.auth_user, "");
  EXPECT_EQ(f.listener, "forward");
  m.envelope.auth_user = "alice@example.com";
  EXPECT_EQ(forward_envelope(m, 0, {"x@remote.net"}, "0000000000000005", kT0).auth_user,
            "alice@example.com");
}

// RFC 8689 4.1: aliased copies keep REQUIRETLS; 5: so does the DSN.
TEST(PlanTest, RequireTlsKeptByCopiesAndReports) {
  QueuedMessage m = Message(kSender, {{{"team", "example.com"}, kNotifyFailure}});
  EXPECT_FALSE(dsn_envelope(m, "0000000000000002", kT0, "").mail.requiretls);
  EXPECT_FALSE(forward_envelope(m, 0, {"x@remote.net"}, "0000000000000003", kT0).mail.requiretls);
  m.envelope.mail.requiretls = true;
  EXPECT_TRUE(dsn_envelope(m, "0000000000000002", kT0, "").mail.requiretls);
  EXPECT_TRUE(forward_envelope(m, 0, {"x@remote.net"}, "0000000000000003", kT0).mail.requiretls);
}

}  // namespace
}  // namespace tern
