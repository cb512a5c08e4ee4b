// The Scheduler end to end over a real FsQueueStore in a temp dir, with
// fake couriers and a fake clock (src/relay/scheduler.h). Passes are driven
// with run_due() at chosen times; nothing waits on the real clock, and the
// "blocking" executor is the test's own io_context.
#include "relay/scheduler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "queue/fs_store.h"
#include "queue/queue_id.h"
#include "relay/local_courier.h"
#include "testlib.h"

namespace tern {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1700000000;
constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;

using testlib::slurp;

// A courier that answers from a script (by recipient address; default:
// delivered) and records every call with the message's content.
class FakeCourier : public Courier {
 public:
  struct Call {
    std::string id;
    Address from;
    Destination dest;
    std::vector<std::string> rcpts;
    std::string content;
  };

  asio::awaitable<CourierResult> deliver(std::shared_ptr<const QueuedMessage> msg, Destination dest,
                                         std::vector<size_t> rcpts) override {
    ++in_flight;
    max_in_flight = std::max(max_in_flight, in_flight);
    for (int i = 0; i < yields; ++i)
      co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    Call call{msg->envelope.id,
              msg->envelope.mail.from,
              dest,
              {},
              slurp(msg->body_path, msg->body_offset)};
    CourierResult out;
    out.next_hop_dsn = next_hop_dsn;
    for (size_t i : rcpts) {
      std::string to = msg->envelope.rcpts[i].to.str();
      call.rcpts.push_back(to);
      auto it = script.find(to);
      if (it != script.end()) {
        out.rcpts.push_back(it->second);
      } else {
        RcptResult ok;
        ok.kind = RcptResult::Kind::kDelivered;
        ok.reply = Reply(250, "2.0.0", "ok");
        out.rcpts.push_back(ok);
      }
    }
    calls.push_back(std::move(call));
    --in_flight;
    co_return out;
  }

  void fail(const std::string& to, RcptResult::Kind kind, Reply reply, std::string mta = "") {
    RcptResult r;
    r.kind = kind;
    r.reply = std::move(reply);
    r.remote_mta = std::move(mta);
    script[to] = r;
  }

  // Calls for recipient `to` of messages that are not DSNs.
  size_t attempts(const std::string& to) const {
    size_t n = 0;
    for (const Call& c : calls)
      if (!c.from.is_null()) n += std::count(c.rcpts.begin(), c.rcpts.end(), to);
    return n;
  }
  // The DSNs delivered (messages from "<>").
  std::vector<Call> dsns() const {
    std::vector<Call> out;
    for (const Call& c : calls)
      if (c.from.is_null()) out.push_back(c);
    return out;
  }

  std::map<std::string, RcptResult> script;
  std::vector<Call> calls;
  bool next_hop_dsn = false;
  int yields = 0;
  int in_flight = 0;
  int max_in_flight = 0;
};

bool IsLocal(std::string_view d) { return d == "example.com"; }

// Counts the state-log appends and the loads the scheduler makes.
class CountingStore : public FsQueueStore {
 public:
  using FsQueueStore::FsQueueStore;
  Status append(const std::string& id, const std::vector<StateRecord>& records) override {
    ++appends;
    return FsQueueStore::append(id, records);
  }
  Status load(const std::string& id, QueuedMessage* out) override {
    ++loads;
    return FsQueueStore::load(id, out);
  }
  Status purge(const std::string& id) override {
    if (fail_purge) return Status::Transient("injected purge failure");
    return FsQueueStore::purge(id);
  }
  int appends = 0;
  int loads = 0;
  bool fail_purge = false;
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-sched-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    options_.policy.jitter = 0;
    options_.hostname = "mx.example.com";
    open_store();
    start();
  }
  void TearDown() override {
    sched_.reset();
    store_.reset();
    fs::remove_all(root_);
  }

  void open_store() {
    store_ = std::make_unique<CountingStore>(root_ + "/queue");
    ASSERT_TRUE(store_->open().ok());
  }
  void start() {
    SchedulerEnv env;
    env.store = store_.get();
    env.local = local_override_ ? local_override_ : &local_;
    env.remote = &remote_;
    env.is_local_domain = IsLocal;
    env.clock = [this] { return now_; };
    env.random = [] { return 0.5; };
    env.blocking = io_.get_executor();
    env.new_id = new_queue_id;
    env.forward_sender = forward_sender_;
    env.dsn_recipient = dsn_recipient_;
    sched_ = std::make_unique<Scheduler>(io_.get_executor(), env, options_);
    run(sched_->load());
  }
  // A crash and a restart: everything in memory is gone, the disk stays.
  void restart() {
    sched_.reset();
    store_.reset();
    io_.restart();
    open_store();
    start();
  }

  template <typename T>
  T run(asio::awaitable<T> a) {
    std::optional<T> out;
    asio::co_spawn(io_, std::move(a), [&](std::exception_ptr e, T v) {
      if (e) std::rethrow_exception(e);
      out = std::move(v);
    });
    io_.restart();
    io_.run();
    EXPECT_TRUE(out.has_value());
    return std::move(*out);
  }
  void run(asio::awaitable<void> a) {
    bool done = false;
    asio::co_spawn(io_, std::move(a), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      done = true;
    });
    io_.restart();
    io_.run();
    EXPECT_TRUE(done);
  }

  // Runs every pass due at `t`.
  void pass_at(int64_t t) {
    now_ = t;
    run(sched_->run_due());
  }

  // Queues a message (received at kT0) and tells the scheduler.
  std::string queue(Address from, std::vector<std::string> rcpts, unsigned notify = kNotifyNone,
                    DsnRet ret = DsnRet::kUnspecified, bool by_envelope = false) {
    Envelope e;
    e.id = new_queue_id();
    e.mail.from = std::move(from);
    e.mail.ret = ret;
    e.mail.envid = "ENV-" + e.id;
    e.received_at = kT0;
    for (const std::string& r : rcpts) {
      RcptArgs a;
      size_t at = r.find('@');
      a.to = Address{r.substr(0, at), r.substr(at + 1)};
      a.notify = notify;
      e.rcpts.push_back(a);
    }
    std::unique_ptr<SpoolWriter> w;
    EXPECT_TRUE(store_->begin(e, &w).ok());
    EXPECT_TRUE(w->write("From: sender\r\nSubject: test\r\n\r\nbody\r\n").ok());
    EXPECT_TRUE(w->commit().ok());
    if (by_envelope)
      sched_->enqueue(e);
    else
      sched_->enqueue(e.id);
    return e.id;
  }

  QueuedMessage load(const std::string& id) {
    QueuedMessage m;
    EXPECT_TRUE(store_->load(id, &m).ok()) << id;
    return m;
  }
  bool queued(const std::string& id) {
    auto ids = store_->list();
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  }

  std::string root_;
  int64_t now_ = kT0;
  asio::io_context io_;
  SchedulerOptions options_;
  FakeCourier local_, remote_;
  Courier* local_override_ = nullptr;
  std::function<Address(const Address&, int64_t)> forward_sender_, dsn_recipient_;
  std::unique_ptr<CountingStore> store_;
  std::unique_ptr<Scheduler> sched_;
};

const Address kLocalSender{"alice", "example.com"};
const Address kRemoteSender{"sender", "src.net"};

TEST_F(SchedulerTest, DeliversAndRemoves) {
  std::string id = queue(kRemoteSender, {"bob@example.com", "carol@remote.net"});
  pass_at(kT0);
  EXPECT_EQ(local_.attempts("bob@example.com"), 1u);
  EXPECT_EQ(remote_.attempts("carol@remote.net"), 1u);
  EXPECT_FALSE(queued(id));
  EXPECT_TRUE(sched_->list().empty());
  EXPECT_TRUE(remote_.dsns().empty());
  // Delivered at the first attempt with nothing to report: no state log
  // was written; the removal is the record.
  EXPECT_EQ(store_->appends, 0);
}

// A pass that finished quietly but cannot remove the message writes its
// results after all: the next pass (here after a restart) does not
// deliver again.
TEST_F(SchedulerTest, QuietPassThatCannotRemoveWritesItsResults) {
  store_->fail_purge = true;
  std::string id = queue(kRemoteSender, {"bob@example.com"});
  pass_at(kT0);
  EXPECT_EQ(local_.attempts("bob@example.com"), 1u);
  EXPECT_TRUE(queued(id));
  EXPECT_EQ(store_->appends, 1);
  EXPECT_TRUE(load(id).state[0].done);
  restart();
  pass_at(kT0 + 3600);
  EXPECT_EQ(local_.attempts("bob@example.com"), 1u);
  EXPECT_FALSE(queued(id));
}

TEST_F(SchedulerTest, TransientFailuresRetryOnSchedule) {
  remote_.fail("x@remote.net", RcptResult::Kind::kTransient, Reply(451, "4.4.1", "no answer"),
               "mx.remote.net");
  std::string id = queue(kRemoteSender, {"x@remote.net"});
  pass_at(kT0);
  EXPECT_EQ(remote_.attempts("x@remote.net"), 1u);
  pass_at(kT0 + 5 * kMinute - 1);
  EXPECT_EQ(remote_.attempts("x@remote.net"), 1u);  // not yet
  pass_at(kT0 + 5 * kMinute);
  EXPECT_EQ(remote_.attempts("x@remote.net"), 2u);
  pass_at(kT0 + 5 * kMinute + 10 * kMinute - 1);
  EXPECT_EQ(remote_.attempts("x@remote.net"), 2u);
  pass_at(kT0 + 15 * kMinute);
  EXPECT_EQ(remote_.attempts("x@remote.net"), 3u);

  QueuedMessage m = load(id);
  EXPECT_EQ(m.state[0].attempts, 3u);
  EXPECT_EQ(m.state[0].next_attempt, kT0 + 15 * kMinute + 20 * kMinute);
  EXPECT_EQ(m.state[0].remote_mta, "mx.remote.net");
  auto list = sched_->list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].next_attempt, kT0 + 35 * kMinute);
  EXPECT_EQ(list[0].last_error, "451 4.4.1 no answer (from mx.remote.net)");
  EXPECT_EQ(list[0].pending_rcpts, std::vector<std::string>{"x@remote.net"});
  EXPECT_EQ(list[0].sender, "sender@src.net");
  EXPECT_TRUE(remote_.dsns().empty());  // 35 minutes: no delay warning yet
}

TEST_F(SchedulerTest, PermanentFailureBouncesOnceAtOnce) {
  remote_.fail("x@remote.net", RcptResult::Kind::kPermanent, Reply(550, "5.1.1", "no such user"),
               "mx.remote.net");
  std::string id = queue(kLocalSender, {"x@remote.net", "ok@remote.net"});
  pass_at(kT0);
  EXPECT_EQ(remote_.attempts("x@remote.net"), 1u);
  EXPECT_FALSE(queued(id));
  // The DSN went to the local sender, delivered by the local courier.
  auto dsns = local_.dsns();
  ASSERT_EQ(dsns.size(), 1u);
  EXPECT_EQ(dsns[0].rcpts, std::vector<std::string>{"alice@example.com"});
  const std::string& dsn = dsns[0].content;
  EXPECT_NE(dsn.find("Content-Type: multipart/report; report-type=delivery-status"),
            std::string::npos);
  EXPECT_NE(dsn.find("Final-Recipient: rfc822; x@remote.net\r\nAction: failed\r\n"
                     "Status: 5.1.1\r\nRemote-MTA: dns; mx.remote.net\r\n"
                     "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"),
            std::string::npos)
      << dsn;
  EXPECT_EQ(dsn.find("ok@remote.net"), std::string::npos);  // delivered: not reported
  EXPECT_NE(dsn.find("Original-Envelope-Id: ENV-" + id), std::string::npos);
  EXPECT_NE(dsn.find("Content-Type: text/rfc822-headers\r\n\r\nFrom: sender\r\n"
                     "Subject: test\r\n\r\n--"),
            std::string::npos);
  // Nothing more, ever.
  pass_at(kT0 + kDay);
  EXPECT_EQ(local_.dsns().size(), 1u);
  EXPECT_EQ(remote_.attempts("x@remote.net"), 1u);
  EXPECT_TRUE(sched_->list().empty());
}

TEST_F(SchedulerTest, RetFullReturnsTheWholeMessage) {
  remote_.fail("x@remote.net", RcptResult::Kind::kPermanent, Reply(550, "5.1.1", "no"));
  queue(kLocalSender, {"x@remote.net"}, kNotifyNone, DsnRet::kFull);
  pass_at(kT0);
  auto dsns = local_.dsns();
  ASSERT_EQ(dsns.size(), 1u);
  EXPECT_NE(dsns[0].content.find("Content-Type: message/rfc822\r\n\r\nFrom: sender\r\n"
                                 "Subject: test\r\n\r\nbody\r\n\r\n--"),
            std::string::npos)
      << dsns[0].content;
}

TEST_F(SchedulerTest, PartialSuccessIsNotDeliveredAgain) {
  remote_.fail("b@remote.net", RcptResult::Kind::kTransient, Reply(452, "4.2.2", "full"));
  std::string id = queue(kRemoteSender, {"a@remote.net", "b@remote.net", "c@example.com"});
  pass_at(kT0);
  pass_at(kT0 + 5 * kMinute);
  remote_.script.clear();
  pass_at(kT0 + 15 * kMinute);
  EXPECT_EQ(remote_.attempts("a@remote.net"), 1u);
  EXPECT_EQ(local_.attempts("c@example.com"), 1u);
  EXPECT_EQ(remote_.attempts("b@remote.net"), 3u);
  // Each attempt carried only the recipients still pending.
  EXPECT_EQ(remote_.calls.back().rcpts, std::vector<std::string>{"b@remote.net"});
  EXPECT_FALSE(queued(id));
}

TEST_F(SchedulerTest, DelayWarningOnceThenExpiryBounce) {
  remote_.fail("x@remote.net", RcptResult::Kind::kTransient, Reply(451, "4.4.1", "no answer"));
  std::string id = queue(kLocalSender, {"x@remote.net"});
  // Follow the schedule for six days, a pass every ten minutes.
  for (int64_t t = kT0; t <= kT0 + 6 * kDay; t += 10 * kMinute) pass_at(t);
  auto dsns = local_.dsns();
  ASSERT_EQ(dsns.size(), 2u);
  EXPECT_NE(dsns[0].content.find("Action: delayed"), std::string::npos);
  EXPECT_NE(dsns[0].content.find("Will-Retry-Until:"), std::string::npos);
  EXPECT_NE(dsns[0].content.find("Subject: Delayed Mail"), std::string::npos);
  EXPECT_NE(dsns[1].content.find("Action: failed\r\nStatus: 4.4.1"), std::string::npos);
  EXPECT_NE(dsns[1].content.find("gave up after 5d"), std::string::npos);
  EXPECT_FALSE(queued(id));
  // Attempts at 5m, 10m, 20m... then every 4h, the last one at expiry.
  size_t n = remote_.attempts("x@remote.net");
  EXPECT_GE(n, 30u);
  EXPECT_LE(n, 40u);
}

TEST_F(SchedulerTest, DelayWarningFollowsNotify) {
  remote_.fail("x@remote.net", RcptResult::Kind::kTransient, Reply(451, "4.4.1", "no"));
  std::string id = queue(kLocalSender, {"x@remote.net"}, kNotifyFailure);  // no DELAY
  for (int64_t t = kT0; t <= kT0 + 10 * kHour; t += 10 * kMinute) pass_at(t);
  EXPECT_TRUE(local_.dsns().empty());
  EXPECT_FALSE(load(id).state[0].delay_warned);
}

TEST_F(SchedulerTest, SuccessDsnWhenAskedAndTheNextHopDoesNotTakeDsn) {
  queue(kLocalSender, {"x@remote.net"}, kNotifySuccess);
  pass_at(kT0);
  auto dsns = local_.dsns();
  ASSERT_EQ(dsns.size(), 1u);
  EXPECT_NE(dsns[0].content.find("Action: relayed\r\nStatus: 2.0.0"), std::string::npos);
  EXPECT_NE(dsns[0].content.find("Subject: Successful Mail Delivery Report"), std::string::npos);

  remote_.next_hop_dsn = true;  // it will report itself
  queue(kLocalSender, {"y@remote.net"}, kNotifySuccess);
  pass_at(kT0 + 1);
  EXPECT_EQ(local_.dsns().size(), 1u);

  queue(kRemoteSender, {"bob@example.com"}, kNotifySuccess | kNotifyFailure);  // local: delivered
  pass_at(kT0 + 2);
  dsns = remote_.dsns();
  ASSERT_EQ(dsns.size(), 1u);
  EXPECT_NE(dsns[0].content.find("Action: delivered"), std::string::npos);
  EXPECT_EQ(dsns[0].rcpts, std::vector<std::string>{"sender@src.net"});

  queue(kLocalSender, {"z@remote.net"});  // NOTIFY absent: no success report
  pass_at(kT0 + 3);
  EXPECT_EQ(local_.dsns().size(), 1u);
}

TEST_F(SchedulerTest, NeverABounceToTheNullSender) {
  remote_.fail("x@remote.net", RcptResult::Kind::kPermanent, Reply(550, "5.1.1", "no"));
  std::string id = queue(Address{}, {"x@remote.net"}, kNotifyFailure | kNotifySuccess);
  pass_at(kT0);
  EXPECT_FALSE(queued(id));
  EXPECT_TRUE(local_.calls.empty());
  ASSERT_EQ(remote_.calls.size(), 1u);  // the message itself, from <>; nothing after it
  EXPECT_EQ(remote_.calls[0].id, id);
  EXPECT_TRUE(store_->list().empty());
}

TEST_F(SchedulerTest, NotifyNeverSilencesFailures) {
  remote_.fail("x@remote.net", RcptResult::Kind::kPermanent, Reply(550, "5.1.1", "no"));
  queue(kLocalSender, {"x@remote.net"}, kNotifyNever);
  pass_at(kT0);
  EXPECT_TRUE(local_.dsns().empty());
  EXPECT_TRUE(store_->list().empty());
}

// A bounce that cannot be delivered (5xx) to a sender: no DSN about the DSN.
TEST_F(SchedulerTest, UndeliverableBounceIsDropped) {
  remote_.fail("x@remote.net", RcptResult::Kind::kPermanent, Reply(550, "5.1.1", "no"));
  remote_.fail("sender@src.net", RcptResult::Kind::kPermanent, Reply(550, "5.1.1", "gone"));
  queue(kRemoteSender, {"x@remote.net"});
  pass_at(kT0);
  EXPECT_EQ(remote_.dsns().size(), 1u);  // tried once
  EXPECT_TRUE(store_->list().empty());
}

TEST_F(SchedulerTest, RestartNeitherRedeliversNorForgets) {
  remote_.fail("b@remote.net", RcptResult::Kind::kTransient, Reply(451, "4.4.1", "no"));
  std::string id = queue(kRemoteSender, {"a@remote.net", "b@remote.net", "c@example.com"});
  pass_at(kT0);
  restart();
  ASSERT_EQ(sched_->list().size(), 1u);
  EXPECT_EQ(sched_->list()[0].pending_rcpts, std::vector<std::string>{"b@remote.net"});
  EXPECT_EQ(sched_->list()[0].next_attempt, kT0 + 5 * kMinute);
  pass_at(kT0 + kMinute);  // not due: nothing happens after the restart either
  EXPECT_EQ(remote_.calls.size(), 1u);
  pass_at(kT0 + 5 * kMinute);
  EXPECT_EQ(remote_.attempts("a@remote.net"), 1u);
  EXPECT_EQ(remote_.attempts("b@remote.net"), 2u);
  EXPECT_EQ(local_.attempts("c@example.com"), 1u);
  remote_.script.clear();
  restart();
  pass_at(kT0 + 15 * kMinute);
  EXPECT_EQ(remote_.attempts("b@remote.net"), 3u);
  EXPECT_FALSE(queued(id));
}

// A crash after a failure was recorded but before its DSN was queued: the
// restart sends the DSN (the result was recorded first, so it is not lost).
TEST_F(SchedulerTest, RecordedFailureIsBouncedAfterACrash) {
  sched_.reset();  // nobody delivers while the message is "half done"
  Envelope e;
  e.id = new_queue_id();
  e.mail.from = kLocalSender;
  e.received_at = kT0;
  e.rcpts.push_back(RcptArgs{Address{"x", "remote.net"}, kNotifyNone, ""});
  e.rcpts.push_back(RcptArgs{Address{"y", "remote.net"}, kNotifyNone, ""});
  std::unique_ptr<SpoolWriter> w;
  ASSERT_TRUE(store_->begin(e, &w).ok());
  ASSERT_TRUE(w->write("Subject: s\r\n\r\nb\r\n").ok());
  ASSERT_TRUE(w->commit().ok());
  StateRecord fail;
  fail.type = StateRecord::Type::kFail;
  fail.rcpt = 0;
  fail.at = kT0;
  fail.reply = Reply(550, "5.1.1", "no such user");
  StateRecord ok;
  ok.type = StateRecord::Type::kOk;
  ok.rcpt = 1;
  ok.at = kT0;
  ok.outcome = RcptOutcome::kRelayed;
  ASSERT_TRUE(store_->append(e.id, {fail, ok}).ok());
  restart();
  pass_at(kT0 + 1);
  EXPECT_TRUE(remote_.calls.empty());  // nobody is sent to again
  auto dsns = local_.dsns();
  ASSERT_EQ(dsns.size(), 1u);
  EXPECT_NE(dsns[0].content.find("Final-Recipient: rfc822; x@remote.net"), std::string::npos);
  EXPECT_FALSE(queued(e.id));
}

TEST_F(SchedulerTest, FlushTriesNowBounceAndDelete) {
  remote_.fail("x@remote.net", RcptResult::Kind::kTransient, Reply(451, "4.3.0", "later"));
  std::string a = queue(kLocalSender, {"x@remote.net"});
  std::string b = queue(kLocalSender, {"x@remote.net"});
  pass_at(kT0);
  EXPECT_EQ(remote_.attempts("x@remote.net"), 2u);
  EXPECT_EQ(sched_->flush(a), 1u);
  EXPECT_EQ(sched_->flush("0000000000000000"), 0u);
  pass_at(kT0 + 1);
  EXPECT_EQ(remote_.attempts("x@remote.net"), 3u);  // a only, before its time

  Status s = run(sched_->bounce(a));
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_FALSE(queued(a));
  auto dsns = local_.dsns();
  ASSERT_EQ(dsns.size(), 1u);
  EXPECT_NE(dsns[0].content.find("Action: failed\r\nStatus: 5.0.0"), std::string::npos);

  s = run(sched_->remove(b));
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_FALSE(queued(b));
  EXPECT_EQ(local_.dsns().size(), 1u);  // delete sends nothing
  EXPECT_TRUE(sched_->list().empty());
  EXPECT_EQ(run(sched_->remove(b)).kind(), Status::Kind::kPermanent);
  EXPECT_EQ(run(sched_->bounce("0000000000000000")).kind(), Status::Kind::kPermanent);
}

// ETRN (RFC 1985): only the recipients in the domain are tried early, in
// every message that has some; "@domain" takes subdomains too.
TEST_F(SchedulerTest, FlushDomainTriesThatDomainNow) {
  for (const char* to : {"x@one.net", "y@two.net", "z@mx.one.net"})
    remote_.fail(to, RcptResult::Kind::kTransient, Reply(451, "4.3.0", "later"));
  std::string a = queue(kLocalSender, {"x@one.net", "y@two.net"});
  queue(kLocalSender, {"z@mx.one.net"});
  queue(kLocalSender, {"y@two.net"});
  pass_at(kT0);
  EXPECT_EQ(remote_.attempts("x@one.net"), 1u);
  EXPECT_EQ(remote_.attempts("y@two.net"), 2u);

  EXPECT_EQ(sched_->flush_domain("ONE.net", false), std::optional<size_t>(1));
  pass_at(kT0 + 1);
  EXPECT_EQ(remote_.attempts("x@one.net"), 2u);
  EXPECT_EQ(remote_.attempts("y@two.net"), 2u);  // same message, other domain: not yet
  EXPECT_EQ(remote_.attempts("z@mx.one.net"), 1u);
  EXPECT_EQ(load(a).state[0].attempts, 2u);
  EXPECT_EQ(load(a).state[1].attempts, 1u);

  EXPECT_EQ(sched_->flush_domain("one.net", true), std::optional<size_t>(2));
  pass_at(kT0 + 2);
  EXPECT_EQ(remote_.attempts("x@one.net"), 3u);
  EXPECT_EQ(remote_.attempts("z@mx.one.net"), 2u);
  EXPECT_EQ(remote_.attempts("y@two.net"), 2u);
  EXPECT_EQ(sched_->flush_domain("nowhere.net", true), std::optional<size_t>(0));
  pass_at(kT0 + 3);
  EXPECT_EQ(remote_.attempts("x@one.net"), 3u);  // a flush does not linger

  sched_->stop();
  EXPECT_EQ(sched_->flush_domain("one.net", false), std::nullopt);
}

TEST_F(SchedulerTest, InspectShowsTheState) {
  remote_.fail("x@remote.net", RcptResult::Kind::kTransient, Reply(451, "4.3.0", "later"));
  std::string id = queue(kLocalSender, {"x@remote.net"});
  pass_at(kT0);
  QueuedMessage m;
  ASSERT_TRUE(run(sched_->inspect(id, &m)).ok());
  EXPECT_EQ(m.state[0].attempts, 1u);
  EXPECT_EQ(reply_line(m.state[0].last_reply), "451 4.3.0 later");
  EXPECT_FALSE(run(sched_->inspect("0000000000000000", &m)).ok());
}

TEST_F(SchedulerTest, UnreadableMessageIsListedAndCanBeDeleted) {
  std::string id = new_queue_id();
  std::ofstream(root_ + "/queue/msg/" + id) << "not a queue file";
  restart();
  auto list = sched_->list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].last_error.rfind("cannot load: ", 0), 0u) << list[0].last_error;
  pass_at(kT0 + 30 * kMinute);  // looked at again hourly only
  pass_at(kT0 + 2 * kHour);
  EXPECT_TRUE(local_.calls.empty());
  EXPECT_EQ(run(sched_->bounce(id)).kind(), Status::Kind::kPermanent);
  EXPECT_TRUE(run(sched_->remove(id)).ok());
  EXPECT_TRUE(store_->list().empty());
  EXPECT_TRUE(sched_->list().empty());
}

TEST_F(SchedulerTest, ConcurrencyLimits) {
  remote_.yields = 5;  // deliveries overlap
  options_.max_per_destination = 2;
  options_.max_concurrency = 3;
  restart();
  for (int i = 0; i < 6; ++i) queue(kRemoteSender, {"x@one.net"});
  pass_at(kT0);
  EXPECT_EQ(remote_.max_in_flight, 2);  // one destination: 2 at once
  EXPECT_EQ(remote_.attempts("x@one.net"), 6u);
  EXPECT_TRUE(store_->list().empty());

  remote_.max_in_flight = 0;
  for (int i = 0; i < 4; ++i) {
    queue(kRemoteSender, {"x@one.net"});
    queue(kRemoteSender, {"x@two.net"});
  }
  pass_at(kT0 + 1);
  EXPECT_EQ(remote_.max_in_flight, 3);  // global limit
  EXPECT_TRUE(store_->list().empty());
}

// A backlog waiting for one busy destination neither delays another
// destination nor an administrator's operation (dispatch stops walking the
// queue only when every destination waited for is saturated).
TEST_F(SchedulerTest, BacklogOfOneDestinationDoesNotHoldAnother) {
  remote_.yields = 5;
  options_.max_per_destination = 1;
  options_.max_concurrency = 10;
  restart();
  for (int i = 0; i < 10; ++i) queue(kRemoteSender, {"x@one.net"});
  queue(kRemoteSender, {"x@two.net"});
  pass_at(kT0);
  EXPECT_EQ(remote_.max_in_flight, 2);  // two.net ran beside one.net's backlog
  EXPECT_EQ(remote_.attempts("x@one.net"), 10u);
  EXPECT_EQ(remote_.attempts("x@two.net"), 1u);
  EXPECT_TRUE(store_->list().empty());
}

// Enqueued by envelope (as the server does), messages for a busy
// destination wait in the index: each is loaded once, by the pass that
// delivers it. By id alone, passes start, load, find no slot and wait.
TEST_F(SchedulerTest, EnqueuedEnvelopeWaitsForItsDestinationWithoutAPass) {
  remote_.yields = 5;
  options_.max_per_destination = 1;
  options_.max_concurrency = 10;
  restart();
  for (int i = 0; i < 10; ++i)
    queue(kRemoteSender, {"x@one.net"}, kNotifyNone, DsnRet::kUnspecified, true);
  pass_at(kT0);
  EXPECT_EQ(remote_.attempts("x@one.net"), 10u);
  EXPECT_EQ(remote_.max_in_flight, 1);
  EXPECT_EQ(store_->loads, 10);
  EXPECT_TRUE(store_->list().empty());

  for (int i = 0; i < 10; ++i) queue(kRemoteSender, {"x@one.net"});
  pass_at(kT0 + 1);
  EXPECT_EQ(remote_.attempts("x@one.net"), 20u);
  EXPECT_GT(store_->loads, 20);
}

// Through a smarthost every remote domain lands on one server: they share
// one per-destination limit.
TEST_F(SchedulerTest, SmarthostSharesOneDestinationLimit) {
  remote_.yields = 5;
  options_.max_per_destination = 2;
  options_.max_concurrency = 10;
  options_.remote_limit_key = "smarthost:relay.example";
  restart();
  for (int i = 0; i < 3; ++i) {
    queue(kRemoteSender, {"x@one.net"});
    queue(kRemoteSender, {"x@two.net"});
  }
  pass_at(kT0);
  EXPECT_EQ(remote_.max_in_flight, 2);  // not 4: one destination in all
  EXPECT_EQ(remote_.attempts("x@one.net") + remote_.attempts("x@two.net"), 6u);
  EXPECT_TRUE(store_->list().empty());
}

// The local courier for real: an alias with a remote target is delivered
// locally and the remote part queued anew, from the same sender.
TEST_F(SchedulerTest, AliasExpansionForwardsRemoteTargets) {
  Aliases aliases;
  ASSERT_TRUE(
      aliases.parse("team@example.com: carol@example.com, dave@remote.net\n", "aliases").ok());
  auto env = std::make_shared<LocalDeliveryEnv>();
  env->mail_root = root_ + "/mail";
  env->is_local_domain = IsLocal;
  env->aliases = &aliases;
  env->postmaster_domain = "example.com";
  LocalCourier courier(io_.get_executor(), [env] { return env; });
  local_override_ = &courier;
  restart();
  std::string id = queue(kRemoteSender, {"team@example.com"}, kNotifyFailure);
  pass_at(kT0);
  EXPECT_FALSE(queued(id));
  EXPECT_FALSE(fs::is_empty(root_ + "/mail/example.com/carol/new"));
  ASSERT_EQ(remote_.calls.size(), 1u);
  EXPECT_EQ(remote_.calls[0].rcpts, std::vector<std::string>{"dave@remote.net"});
  EXPECT_EQ(remote_.calls[0].from, kRemoteSender);
  EXPECT_EQ(remote_.calls[0].content, "From: sender\r\nSubject: test\r\n\r\nbody\r\n");
  EXPECT_TRUE(store_->list().empty());
  sched_.reset();  // before `courier` goes
}

// The forwarded copy's sender comes from SchedulerEnv::forward_sender
// (SRS in the server), given the original sender and the time; a DSN about
// the copy goes where SchedulerEnv::dsn_recipient says.
TEST_F(SchedulerTest, ForwardedCopyTakesTheRewrittenSender) {
  Aliases aliases;
  ASSERT_TRUE(aliases.parse("fan@example.com: dave@remote.net\n", "aliases").ok());
  auto env = std::make_shared<LocalDeliveryEnv>();
  env->mail_root = root_ + "/mail";
  env->is_local_domain = IsLocal;
  env->aliases = &aliases;
  env->postmaster_domain = "example.com";
  LocalCourier courier(io_.get_executor(), [env] { return env; });
  local_override_ = &courier;
  std::vector<std::string> asked;
  forward_sender_ = [&asked](const Address& from, int64_t now) {
    asked.push_back(from.str() + " " + std::to_string(now));
    return Address{"SRS0=" + from.local, "example.com"};
  };
  dsn_recipient_ = [](const Address& sender, int64_t) {
    if (sender.local.rfind("SRS0=", 0) != 0) return sender;
    return Address{sender.local.substr(5), "src.net"};
  };
  remote_.fail("dave@remote.net", RcptResult::Kind::kPermanent, Reply(550, "5.1.1", "no dave"));
  restart();
  queue(kRemoteSender, {"fan@example.com"});
  pass_at(kT0 + 5);
  ASSERT_EQ(remote_.calls.size(), 2u);
  EXPECT_EQ(remote_.calls[0].from.str(), "SRS0=sender@example.com");
  EXPECT_EQ(asked, std::vector<std::string>{"sender@src.net " + std::to_string(kT0 + 5)});
  // The copy failed: its DSN goes to the original sender, not to the SRS
  // address (which is in a local domain and has no mailbox).
  ASSERT_EQ(remote_.dsns().size(), 1u);
  EXPECT_EQ(remote_.dsns()[0].rcpts, std::vector<std::string>{"sender@src.net"});
  EXPECT_NE(remote_.dsns()[0].content.find("Final-Recipient: rfc822; dave@remote.net"),
            std::string::npos);
  EXPECT_TRUE(store_->list().empty());
  sched_.reset();
}

// The local courier with mailboxes routed to LMTP ([delivery]): the LMTP
// server's answer decides the recipient; a 5xx bounces with its words, a
// 4xx keeps the recipient queued; the Maildir target of the same alias has
// its copy either way.
struct FakeLmtp {
  std::vector<std::string> calls;  // "address mailbox,mailbox"
  RcptResult answer;
  LmtpHandoff handoff() {
    return [this](std::shared_ptr<const QueuedMessage>, std::string address,
                  std::vector<std::string> mailboxes) -> asio::awaitable<std::vector<RcptResult>> {
      std::string call = address + " ";
      for (const std::string& m : mailboxes) call += m + ",";
      calls.push_back(call);
      co_return std::vector<RcptResult>(mailboxes.size(), answer);
    };
  }
};

std::shared_ptr<LocalDeliveryEnv> lmtp_env(const std::string& root, const Aliases* aliases) {
  auto env = std::make_shared<LocalDeliveryEnv>();
  env->mail_root = root + "/mail";
  env->is_local_domain = IsLocal;
  env->aliases = aliases;
  env->postmaster_domain = "example.com";
  env->lmtp_route = [](const std::string& target) {
    return target == "bob@example.com" ? std::string("unix:/run/dovecot/lmtp") : std::string();
  };
  return env;
}

TEST_F(SchedulerTest, LmtpRefusalBouncesWithTheServersReply) {
  Aliases aliases;
  ASSERT_TRUE(
      aliases.parse("team@example.com: carol@example.com, bob@example.com\n", "aliases").ok());
  auto env = lmtp_env(root_, &aliases);
  FakeLmtp lmtp;
  lmtp.answer.kind = RcptResult::Kind::kPermanent;
  lmtp.answer.reply = Reply(552, "5.2.2", "<bob@example.com> Mailbox is full");
  lmtp.answer.remote_mta = "unix:/run/dovecot/lmtp";
  LocalCourier courier(
      io_.get_executor(), [env] { return env; }, lmtp.handoff());
  local_override_ = &courier;
  restart();
  std::string id = queue(kRemoteSender, {"team@example.com", "bob@example.com"});
  pass_at(kT0);
  // One transaction for bob, though two recipients lead to him.
  EXPECT_EQ(lmtp.calls, std::vector<std::string>{"unix:/run/dovecot/lmtp bob@example.com,"});
  EXPECT_FALSE(fs::is_empty(root_ + "/mail/example.com/carol/new"));
  EXPECT_FALSE(fs::exists(root_ + "/mail/example.com/bob"));
  EXPECT_FALSE(queued(id));
  ASSERT_EQ(remote_.dsns().size(), 1u);
  const std::string dsn = remote_.dsns()[0].content;  // dsns() is a temporary
  EXPECT_NE(dsn.find("Final-Recipient: rfc822; team@example.com"), std::string::npos) << dsn;
  EXPECT_NE(dsn.find("552 5.2.2 <bob@example.com> Mailbox is full"), std::string::npos) << dsn;
  // bob directly shares the fate of the copy he would have had.
  EXPECT_NE(dsn.find("Final-Recipient: rfc822; bob@example.com"), std::string::npos) << dsn;
  sched_.reset();
}

TEST_F(SchedulerTest, LmtpTemporaryFailureStaysQueued) {
  auto env = lmtp_env(root_, nullptr);
  FakeLmtp lmtp;
  lmtp.answer.kind = RcptResult::Kind::kTransient;
  lmtp.answer.reply = Reply(451, "4.4.1", "LMTP unix:/run/dovecot/lmtp: connection refused");
  LocalCourier courier(
      io_.get_executor(), [env] { return env; }, lmtp.handoff());
  local_override_ = &courier;
  restart();
  std::string id = queue(kRemoteSender, {"bob@example.com"});
  pass_at(kT0);
  EXPECT_EQ(lmtp.calls.size(), 1u);
  EXPECT_TRUE(queued(id));
  EXPECT_TRUE(remote_.dsns().empty());
  sched_.reset();
}

}  // namespace
}  // namespace tern
