// server/connection.h without a socket: a Connection driven over an
// in-memory stream (test_stream.h) with fakes for the store, the policy,
// the limits, the handoff and the clock (connection_deps.h). Failures are
// injected where a real server meets them: the spool's begin, writes and
// commit (ENOSPC, EIO), the stream's reads and writes (a reset, EOF, a
// timeout) at every point of a dialog, the shutdown during a read, and
// deadlines that pass on a clock the test moves.
//
// The promise checked throughout (store.h, issue 13): no 250 for a message
// unless it was committed, every committed message handed on exactly
// once, every spool begun either committed or aborted.
#include "server/connection.h"

#include <gtest/gtest.h>

#include <asio.hpp>
#include <cerrno>
#include <map>

#include "dmarc/aggregate.h"
#include "fake_dns.h"
#include "test_stream.h"

namespace tern {
namespace {

using namespace std::chrono_literals;
using testlib::TestStream;
using Op = TestStream::Op;

// The spool, in memory: what was committed, and faults on demand.
class FakeStore : public QueueStore {
 public:
  Status begin_error = Status::Ok();  // begin() fails with this
  size_t fail_write = 0;              // write number N (from 1, over all messages) fails...
  Status write_error = Status::Transient("write: No space left on device", ENOSPC);
  Status commit_error = Status::Ok();  // commit() fails with this

  size_t begun = 0, writes = 0, aborted = 0;
  std::map<std::string, std::string> committed;  // id -> content

  Status begin(const Envelope& env, std::unique_ptr<SpoolWriter>* out) override {
    if (!begin_error.ok()) return begin_error;
    ++begun;
    *out = std::make_unique<Writer>(this, env.id);
    return Status::Ok();
  }
  std::vector<std::string> list() override { return {}; }
  Status load(const std::string&, QueuedMessage*) override { return Status::Permanent("none"); }
  Status append(const std::string&, const std::vector<StateRecord>&) override {
    return Status::Ok();
  }
  Status remove(const std::string&) override { return Status::Ok(); }
  Status purge(const std::string&) override { return Status::Ok(); }

 private:
  class Writer : public SpoolWriter {
   public:
    Writer(FakeStore* store, std::string id) : store_(store), id_(std::move(id)) {}
    ~Writer() override {
      if (!done_) abort();
    }
    Status write(std::string_view data) override {
      if (++store_->writes == store_->fail_write) return store_->write_error;
      content_.append(data);
      return Status::Ok();
    }
    Status prepend(std::string_view text) override {
      content_.insert(0, text);
      return Status::Ok();
    }
    Status commit() override {
      if (!store_->commit_error.ok()) return store_->commit_error;
      done_ = true;
      store_->committed[id_] = content_;
      return Status::Ok();
    }
    void abort() override {
      if (done_) return;
      done_ = true;
      ++store_->aborted;
    }

   private:
    FakeStore* store_;
    std::string id_;
    std::string content_;
    bool done_ = false;
  };
};

// Every address of localhost is a local mailbox; nobody's password is good.
class FakePolicy : public RecipientPolicy {
 public:
  RcptCheck check_rcpt(const Address& rcpt, const std::string&, int64_t) override {
    RcptCheck c;
    c.verdict = rcpt.domain == "localhost" ? RcptVerdict::kLocal : RcptVerdict::kRelayDenied;
    return c;
  }
  SenderVerdict check_sender(const Address&, const std::string&) override {
    return SenderVerdict::kOk;
  }
  bool mailbox_exists(const Address&) override { return true; }
  void refresh() override {}
  bool verify_password(const std::string&, const std::string&) const override { return false; }
};

class FakeLimits : public ClientLimits {
 public:
  std::optional<Reply> refuse;  // admit() answers this
  int attached = 0;
  int detached = 0;
  LimitCounters counters;

  std::optional<Reply> admit(Connection*, const std::string&) override { return refuse; }
  void attach(Connection*, const std::string&) override { ++attached; }
  void detach(Connection*, const std::string&) override { ++detached; }
  std::optional<Reply> limit_mail(const std::string&, const std::string&) override {
    return std::nullopt;
  }
  std::optional<Reply> limit_rcpt(const std::string&, const std::string&, bool) override {
    return std::nullopt;
  }
  bool storage_low(uint64_t) override { return false; }
  std::chrono::milliseconds auth_failure_delay(const std::string&) override { return 0ms; }
  LimitCounters& limit_counters() override { return counters; }
};

class FakeHandoff : public MailHandoff {
 public:
  std::vector<std::string> enqueued;  // ids
  void enqueue(const Envelope& env) override { enqueued.push_back(env.id); }
  std::optional<size_t> flush_domain(const std::string&, bool) override { return 0; }
  void record_dmarc(const dmarc::AggregateRow&) override {}
};

// A clock that moves only when the test says.
class ManualClock : public Clock {
 public:
  std::chrono::steady_clock::time_point steady = std::chrono::steady_clock::time_point() + 1000h;
  int64_t unix = 1'800'000'000;
  std::chrono::steady_clock::time_point steady_now() const override { return steady; }
  int64_t unix_now() const override { return unix; }
  void advance(std::chrono::seconds s) {
    steady += s;
    unix += s.count();
  }
};

const std::string kMessage =
    "From: a@example.org\r\nTo: b@localhost\r\nSubject: hi\r\n\r\nHello.\r\n";

class ConnectionTest : public ::testing::Test {
 protected:
  ConnectionTest() {
    config_->hostname = "mx.test";
    config_->limits.command_timeout = 300s;
    config_->limits.data_timeout = 600s;
    config_->limits.session_timeout = 3600s;
  }

  // A test that failed half-way leaves its connection waiting in a read:
  // end it while the stream and the loop both exist.
  void TearDown() override {
    if (conn_ && !done_) {
      conn_->force_close();
      settle();
    }
  }

  // Makes the connection (not yet running).
  void make(ListenerKind kind = ListenerKind::kSmtp) {
    ConnectionDeps d;
    d.config = config_;
    d.tls = tls_;
    d.store = &store_;
    d.recipients = &policy_;
    d.limits = &limits_;
    d.handoff = &handoff_;
    d.dns = &dns_;
    d.clock = &clock_;
    d.blocking = io_.get_executor();
    d.hashing = io_.get_executor();
    auto stream = std::make_unique<TestStream>(io_.get_executor());
    stream_ = stream.get();
    ListenerConfig listener;
    listener.kind = kind;
    listener.address = "127.0.0.1:25";
    conn_ = std::make_unique<Connection>(std::move(d), std::move(stream), listener);
  }

  void start() {
    asio::co_spawn(io_, run_connection(), asio::detached);
    settle();
  }
  // A member, not a capturing lambda: a lambda coroutine's captures die
  // with the closure, before the coroutine ends.
  asio::awaitable<void> run_connection() {
    co_await conn_->run();
    done_ = true;
  }

  // Runs whatever is ready; returns with the connection finished or
  // blocked in a read that waits for the client.
  void settle() {
    io_.restart();
    while (io_.poll() > 0) {
    }
  }

  // The client's side of a whole message, one chunk per command line and
  // one for the content, then QUIT and EOF.
  void send_message() {
    stream_->append("EHLO client.example\r\n");
    stream_->append("MAIL FROM:<a@example.org>\r\n");
    stream_->append("RCPT TO:<b@localhost>\r\n");
    stream_->append("DATA\r\n");
    stream_->append(kMessage + ".\r\n");
  }
  void quit() {
    stream_->append("QUIT\r\n");
    stream_->close_input();
  }

  // Runs one whole dialog (a message, QUIT) to its end.
  void run_dialog() {
    make();
    send_message();
    quit();
    start();
    ASSERT_TRUE(done_) << stream_->output();
  }

  size_t count(const std::string& what) const {
    size_t n = 0;
    for (size_t pos = 0; (pos = stream_->output().find(what, pos)) != std::string::npos; ++pos) ++n;
    return n;
  }

  // Nothing acknowledged that is not durable; nothing durable lost or
  // handed on twice; nothing left half-written.
  void expect_nothing_lost() {
    EXPECT_EQ(count("250 2.0.0 Ok: queued as"), store_.committed.size()) << stream_->output();
    ASSERT_EQ(handoff_.enqueued.size(), store_.committed.size());
    for (const std::string& id : handoff_.enqueued) EXPECT_TRUE(store_.committed.count(id)) << id;
    EXPECT_EQ(store_.begun, store_.committed.size() + store_.aborted);
    EXPECT_EQ(limits_.attached, 1);
    EXPECT_EQ(limits_.detached, 1);
  }

  asio::io_context io_;
  std::shared_ptr<Config> config_ = std::make_shared<Config>();
  std::shared_ptr<asio::ssl::context> tls_;
  FakeStore store_;
  FakePolicy policy_;
  FakeLimits limits_;
  FakeHandoff handoff_;
  testlib::FakeTxtDns dns_;
  ManualClock clock_;
  TestStream* stream_ = nullptr;
  std::unique_ptr<Connection> conn_;
  bool done_ = false;
};

TEST_F(ConnectionTest, AcceptsAMessageAndHandsItOn) {
  run_dialog();
  EXPECT_EQ(stream_->output().substr(0, 4), "220 ");
  EXPECT_EQ(count("250 2.0.0 Ok: queued as"), 1u);
  EXPECT_EQ(count("221 "), 1u);
  ASSERT_EQ(store_.committed.size(), 1u);
  EXPECT_NE(store_.committed.begin()->second.find("Subject: hi\r\n\r\nHello.\r\n"),
            std::string::npos);
  expect_nothing_lost();
  EXPECT_TRUE(stream_->was_shut_down());  // orderly close after QUIT
}

TEST_F(ConnectionTest, RefusedAtAdmissionGets421AndNothingElse) {
  limits_.refuse = Reply(421, "4.7.0", "mx.test Too many connections, try again later");
  make();
  send_message();
  quit();
  start();
  ASSERT_TRUE(done_);
  EXPECT_EQ(stream_->output().substr(0, 10), "421 4.7.0 ");
  EXPECT_EQ(count("\r\n"), 1u) << stream_->output();
  EXPECT_EQ(store_.begun, 0u);
  expect_nothing_lost();
}

// The spool cannot even be opened: the message is refused at its end
// (the client has sent it), 452 4.3.1 when the disk is full (RFC 3463
// X.3.1), 451 4.3.0 for other errors.
TEST_F(ConnectionTest, SpoolOpenFailureFullIs452) {
  store_.begin_error = Status::Transient("open: No space left on device", ENOSPC);
  run_dialog();
  EXPECT_EQ(count("452 4.3.1 "), 1u) << stream_->output();
  EXPECT_TRUE(store_.committed.empty());
  expect_nothing_lost();
}

TEST_F(ConnectionTest, SpoolOpenFailureIs451) {
  store_.begin_error = Status::Transient("open: Input/output error", EIO);
  run_dialog();
  EXPECT_EQ(count("451 4.3.0 "), 1u) << stream_->output();
  EXPECT_TRUE(store_.committed.empty());
  expect_nothing_lost();
}

// Each spool write of the message, failed in turn (a LevelDB-style fault
// matrix): never a 250, the spool aborted.
TEST_F(ConnectionTest, SpoolWriteFailureAtEachPoint) {
  run_dialog();
  const size_t writes = store_.writes;
  ASSERT_GE(writes, 1u);
  for (int err : {ENOSPC, EIO}) {
    for (size_t n = 1; n <= writes; ++n) {
      SCOPED_TRACE("write " + std::to_string(n) + " errno " + std::to_string(err));
      store_ = FakeStore();
      handoff_ = FakeHandoff();
      limits_ = FakeLimits();
      store_.fail_write = n;
      store_.write_error = Status::Transient("write failed", err);
      done_ = false;
      run_dialog();
      EXPECT_EQ(count(err == ENOSPC ? "452 4.3.1 " : "451 4.3.0 "), 1u) << stream_->output();
      EXPECT_TRUE(store_.committed.empty());
      EXPECT_EQ(store_.aborted, 1u);
      expect_nothing_lost();
    }
  }
}

TEST_F(ConnectionTest, CommitFailureFullIs452) {
  store_.commit_error = Status::Transient("fsync: No space left on device", ENOSPC);
  run_dialog();
  EXPECT_EQ(count("452 4.3.1 "), 1u) << stream_->output();
  EXPECT_EQ(count("250 2.0.0"), 0u);
  EXPECT_EQ(store_.aborted, 1u);
  expect_nothing_lost();
}

TEST_F(ConnectionTest, CommitFailureIs451) {
  store_.commit_error = Status::Transient("rename: Input/output error", EIO);
  run_dialog();
  EXPECT_EQ(count("451 4.3.0 "), 1u) << stream_->output();
  EXPECT_TRUE(handoff_.enqueued.empty());
  expect_nothing_lost();
}

// A failed message leaves the session usable: the client's retry on the
// same connection is stored once the fault clears.
TEST_F(ConnectionTest, TheNextMessageIsStoredOnceTheFaultClears) {
  store_.commit_error = Status::Transient("fsync: No space left on device", ENOSPC);
  make();
  send_message();
  start();
  ASSERT_FALSE(done_);
  ASSERT_TRUE(stream_->reading());
  EXPECT_EQ(count("452 4.3.1 "), 1u) << stream_->output();
  store_.commit_error = Status::Ok();
  stream_->append("MAIL FROM:<a@example.org>\r\n");
  stream_->append("RCPT TO:<b@localhost>\r\n");
  stream_->append("DATA\r\n");
  stream_->append(kMessage + ".\r\n");
  quit();
  settle();
  ASSERT_TRUE(done_);
  EXPECT_EQ(store_.committed.size(), 1u);
  expect_nothing_lost();
}

// The read of each chunk of the dialog fails in turn with a reset (the
// failMatrix of Beast's tests): whatever was acknowledged before is
// stored, nothing after.
TEST_F(ConnectionTest, ReadErrorAtEachPoint) {
  run_dialog();
  const size_t reads = stream_->count(Op::kRead);
  ASSERT_GE(reads, 6u);
  for (size_t n = 1; n <= reads; ++n) {
    SCOPED_TRACE("read " + std::to_string(n));
    store_ = FakeStore();
    handoff_ = FakeHandoff();
    limits_ = FakeLimits();
    done_ = false;
    make();
    stream_->fail(Op::kRead, n, asio::error::connection_reset);
    send_message();
    quit();
    start();
    ASSERT_TRUE(done_);
    // Reads 1-5 come before the end of the message: nothing stored.
    EXPECT_EQ(store_.committed.size(), n <= 5 ? 0u : 1u) << stream_->output();
    EXPECT_EQ(stream_->count(Op::kRead), n);  // the session ends at the error
    expect_nothing_lost();
  }
}

// Each write of the server's replies fails in turn (a broken pipe): the
// session ends there; a message is stored only if its content was all
// read, and then handed on even if its 250 could not be sent (it is
// durable: the client may send it again, RFC 5321 6.1 accepts the
// duplicate).
TEST_F(ConnectionTest, WriteErrorAtEachPoint) {
  run_dialog();
  const size_t writes = stream_->count(Op::kWrite);
  ASSERT_GE(writes, 7u);
  for (size_t n = 1; n <= writes; ++n) {
    SCOPED_TRACE("write " + std::to_string(n));
    store_ = FakeStore();
    handoff_ = FakeHandoff();
    limits_ = FakeLimits();
    done_ = false;
    make();
    stream_->fail(Op::kWrite, n, asio::error::broken_pipe);
    send_message();
    quit();
    start();
    ASSERT_TRUE(done_);
    EXPECT_EQ(stream_->count(Op::kWrite), n);  // nothing written after the error
    // Writes: 220, EHLO's 250, MAIL's, RCPT's, 354, the message's 250, 221.
    EXPECT_EQ(store_.committed.size(), n >= 6 ? 1u : 0u);
    EXPECT_EQ(handoff_.enqueued.size(), store_.committed.size());
    EXPECT_EQ(store_.begun, store_.committed.size() + store_.aborted);
  }
}

// The client goes away in the middle of the message: aborted, not stored.
TEST_F(ConnectionTest, EofInTheMiddleOfDataAbortsTheMessage) {
  make();
  stream_->append("EHLO client.example\r\n");
  stream_->append("MAIL FROM:<a@example.org>\r\n");
  stream_->append("RCPT TO:<b@localhost>\r\n");
  stream_->append("DATA\r\n");
  stream_->append("Subject: half\r\n\r\nthe first half\r\n");
  stream_->close_input();
  start();
  ASSERT_TRUE(done_);
  EXPECT_EQ(count("354 "), 1u);
  EXPECT_TRUE(store_.committed.empty());
  EXPECT_EQ(store_.aborted, 1u);
  expect_nothing_lost();
}

// A read that times out inside DATA (the stream's deadline, here
// scripted): 421 4.4.2, the message aborted, the data timeout counted.
TEST_F(ConnectionTest, DataTimeoutAbortsTheMessage) {
  make();
  stream_->fail(Op::kRead, 6, asio::error::timed_out);  // the read after the first data chunk
  stream_->append("EHLO client.example\r\n");
  stream_->append("MAIL FROM:<a@example.org>\r\n");
  stream_->append("RCPT TO:<b@localhost>\r\n");
  stream_->append("DATA\r\n");
  stream_->append("Subject: half\r\n\r\nthe first half\r\n");
  stream_->append("the rest\r\n.\r\n");
  start();
  ASSERT_TRUE(done_);
  EXPECT_EQ(count("421 4.4.2 "), 1u) << stream_->output();
  EXPECT_TRUE(store_.committed.empty());
  EXPECT_EQ(limits_.counters.data_timeouts, 1u);
  EXPECT_EQ(limits_.counters.command_timeouts, 0u);
  expect_nothing_lost();
}

// RFC 5321 4.5.3.2.7 on the injected clock: a command line must be whole
// within the command timeout of our reply; its first bytes do not buy more
// time. The read after them is not even tried.
TEST_F(ConnectionTest, CommandDeadlinePassesBetweenSlowBytes) {
  make();
  stream_->append("EHL");
  stream_->append("O client.example\r\n");
  stream_->on_read = [this](size_t n) {
    if (n == 1) clock_.advance(301s);
  };
  start();
  ASSERT_TRUE(done_);
  EXPECT_EQ(stream_->count(Op::kRead), 1u);
  EXPECT_EQ(count("421 4.4.2 "), 1u) << stream_->output();
  EXPECT_EQ(count("250"), 0u);
  EXPECT_EQ(limits_.counters.command_timeouts, 1u);
  expect_nothing_lost();
}

TEST_F(ConnectionTest, CommandDeadlineNotYetPassed) {
  make();
  stream_->append("EHL");
  stream_->append("O client.example\r\n");
  stream_->on_read = [this](size_t n) {
    if (n == 1) clock_.advance(299s);
  };
  quit();
  start();
  ASSERT_TRUE(done_);
  EXPECT_EQ(count("250-mx.test Hello"), 1u) << stream_->output();
  EXPECT_EQ(limits_.counters.command_timeouts, 0u);
}

// The whole session is bounded, even while data flows.
TEST_F(ConnectionTest, SessionTimeoutInsideData) {
  make();
  stream_->append("EHLO client.example\r\n");
  stream_->append("MAIL FROM:<a@example.org>\r\n");
  stream_->append("RCPT TO:<b@localhost>\r\n");
  stream_->append("DATA\r\n");
  stream_->append("Subject: slow\r\n\r\n");
  stream_->append("more\r\n.\r\n");
  stream_->on_read = [this](size_t n) {
    if (n == 5) clock_.advance(3601s);
  };
  start();
  ASSERT_TRUE(done_);
  EXPECT_EQ(count("421 4.4.2 "), 1u) << stream_->output();
  EXPECT_NE(stream_->output().find("session time limit exceeded"), std::string::npos);
  EXPECT_EQ(limits_.counters.session_timeouts, 1u);
  EXPECT_TRUE(store_.committed.empty());
  expect_nothing_lost();
}

// Shutdown while the session waits for a command: the read is cancelled
// and the client hears 421 4.3.2 at once.
TEST_F(ConnectionTest, DrainDuringAReadSends421) {
  make();
  stream_->append("EHLO client.example\r\n");
  start();
  ASSERT_FALSE(done_);
  ASSERT_TRUE(stream_->reading());
  conn_->drain();
  settle();
  ASSERT_TRUE(done_);
  EXPECT_EQ(count("421 4.3.2 "), 1u) << stream_->output();
  EXPECT_TRUE(stream_->was_shut_down());
  expect_nothing_lost();
}

// Shutdown while a message streams in: the message is finished and
// stored first, then 421 4.3.2.
TEST_F(ConnectionTest, DrainDuringDataFinishesTheMessageFirst) {
  make();
  stream_->append("EHLO client.example\r\n");
  stream_->append("MAIL FROM:<a@example.org>\r\n");
  stream_->append("RCPT TO:<b@localhost>\r\n");
  stream_->append("DATA\r\n");
  stream_->append("Subject: drain\r\n\r\n");
  start();
  ASSERT_FALSE(done_);
  ASSERT_TRUE(stream_->reading());
  conn_->drain();
  settle();
  ASSERT_FALSE(done_);  // not cut off in the middle of the message
  stream_->append("body\r\n.\r\n");
  settle();
  ASSERT_TRUE(done_);
  const std::string& out = stream_->output();
  size_t ok = out.find("250 2.0.0 Ok: queued as");
  ASSERT_NE(ok, std::string::npos) << out;
  EXPECT_NE(out.find("421 4.3.2 ", ok), std::string::npos) << out;
  EXPECT_EQ(store_.committed.size(), 1u);
  expect_nothing_lost();
}

// The grace period is over: force_close() drops a session in the middle
// of a message; nothing is stored.
TEST_F(ConnectionTest, ForceCloseDuringDataStoresNothing) {
  make();
  stream_->append("EHLO client.example\r\n");
  stream_->append("MAIL FROM:<a@example.org>\r\n");
  stream_->append("RCPT TO:<b@localhost>\r\n");
  stream_->append("DATA\r\n");
  stream_->append("Subject: cut\r\n\r\n");
  start();
  ASSERT_TRUE(stream_->reading());
  conn_->force_close();
  settle();
  ASSERT_TRUE(done_);
  EXPECT_TRUE(store_.committed.empty());
  EXPECT_EQ(store_.aborted, 1u);
  EXPECT_TRUE(stream_->was_closed());
  expect_nothing_lost();
}

TEST_F(ConnectionTest, StartTlsHandshakeFailureEndsTheSession) {
  tls_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  make();
  stream_->fail(Op::kHandshake, 1, asio::ssl::error::stream_truncated);
  stream_->append("EHLO client.example\r\n");
  stream_->append("STARTTLS\r\n");
  stream_->append("MAIL FROM:<a@example.org>\r\n");
  start();
  ASSERT_TRUE(done_);
  EXPECT_NE(stream_->output().find("250-STARTTLS"), std::string::npos) << stream_->output();
  EXPECT_EQ(count("220 "), 2u);              // the greeting and "ready to start TLS"
  EXPECT_EQ(stream_->count(Op::kRead), 2u);  // nothing read after the failed handshake
  EXPECT_FALSE(stream_->is_tls());
  expect_nothing_lost();
}

TEST_F(ConnectionTest, StartTlsThenAMessage) {
  tls_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  make();
  stream_->append("EHLO client.example\r\n");
  stream_->append("STARTTLS\r\n");
  send_message();
  quit();
  start();
  ASSERT_TRUE(done_);
  EXPECT_TRUE(stream_->is_tls());
  EXPECT_EQ(store_.committed.size(), 1u) << stream_->output();
  expect_nothing_lost();
}

// Implicit TLS (RFC 8314): a failed handshake ends the connection before
// any reply.
TEST_F(ConnectionTest, ImplicitTlsHandshakeFailureSendsNothing) {
  tls_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  make(ListenerKind::kSubmissions);
  stream_->fail(Op::kHandshake, 1, asio::error::connection_reset);
  stream_->append("EHLO client.example\r\n");
  start();
  ASSERT_TRUE(done_);
  EXPECT_EQ(stream_->output(), "");
  EXPECT_EQ(stream_->count(Op::kRead), 0u);
  EXPECT_EQ(limits_.attached, 1);
  EXPECT_EQ(limits_.detached, 1);
}

}  // namespace
}  // namespace tern
