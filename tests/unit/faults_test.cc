// Fault injection through the file-system seam (fs/file_env.h,
// fault_env.h): for every file operation a message's life makes (spool
// begin/write/commit, state log, Maildir delivery) and for the users-file
// rewrite, the Nth call fails with ENOSPC, EDQUOT, EIO or EMFILE, for
// every N. Each case checks the promises of store.h and issue 13:
//  - no 250 unless the message is durable; the reply is 452 4.3.1 when
//    storage is full (RFC 3463 X.3.1), 451 4.3.0 for other I/O errors;
//  - no partial message is visible in the queue or a Maildir;
//  - once the fault clears, every acknowledged message is delivered, once.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "auth/users.h"
#include "delivery/local.h"
#include "fault_env.h"
#include "queue/fs_store.h"
#include "queue/queue_id.h"
#include "relay/local_courier.h"
#include "relay/scheduler.h"
#include "session_driver.h"
#include "testlib.h"

namespace tern {
namespace {

namespace fs = std::filesystem;
using testlib::FaultEnv;
using testlib::slurp;

// Test directories on a tmpfs when there is one: fsync is free there, and
// the faults come from the seam, not the disk.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string tmpl = (fs::is_directory("/dev/shm") ? "/dev/shm/" : "/tmp/") + prefix + "-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr int kErrnos[] = {ENOSPC, EDQUOT, EIO, EMFILE};

std::string errno_name(int err) {
  switch (err) {
    case ENOSPC:
      return "ENOSPC";
    case EDQUOT:
      return "EDQUOT";
    case EIO:
      return "EIO";
    case EMFILE:
      return "EMFILE";
  }
  return std::to_string(err);
}

// The reply RFC 3463 asks for when storing failed with `err`.
std::string expected_reply(int err) {
  return err == ENOSPC || err == EDQUOT ? "452 4.3.1" : "451 4.3.0";
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

Envelope envelope_to(const std::string& rcpt) {
  Envelope e;
  e.id = new_queue_id();
  e.mail.from = Address{"sender", "src.net"};
  size_t at = rcpt.find('@');
  e.rcpts.push_back(RcptArgs{Address{rcpt.substr(0, at), rcpt.substr(at + 1)}, kNotifyNone, ""});
  e.received_at = 1700000000;
  return e;
}

// A message body of about `size` octets, CRLF lines.
std::string content_of(size_t size) {
  std::string out = "Subject: fault test\r\n\r\n";
  while (out.size() < size)
    out += "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklm\r\n";
  return out;
}

// What the SMTP session answers at the end of DATA when storing gave `s`:
// a ServerSession through the test driver, its store outcome set to `s`.
std::string smtp_reply(const Status& s) {
  testlib::Driver d;
  d.start();
  d.store_status = s;
  d.ehlo();
  d.send("MAIL FROM:<sender@src.net>\r\n");
  d.send("RCPT TO:<alice@local.test>\r\n");
  d.send("DATA\r\n");
  std::vector<std::string> c = testlib::codes(d.send("Subject: x\r\n\r\nhi\r\n.\r\n"));
  return c.empty() ? "" : c.back();
}

// Spools one message as the server does: begin, writes in 8 KiB pieces,
// optionally a prepended header (Authentication-Results), commit. The
// writer is destroyed (aborting) on failure. Returns the first failure.
Status spool(FsQueueStore& store, const Envelope& e, const std::string& content, bool prepend) {
  std::unique_ptr<SpoolWriter> w;
  Status s = store.begin(e, &w);
  for (size_t off = 0; s.ok() && off < content.size(); off += 8192)
    s = w->write(std::string_view(content).substr(off, 8192));
  if (s.ok() && prepend) s = w->prepend("X-Prepended: yes\r\n");
  if (s.ok()) s = w->commit();
  return s;
}

struct Shape {
  const char* name;
  size_t size;
  bool prepend;
};
// Small (one write at commit) and large with a late prepend (the file is
// rewritten through copy_file_range and rename at commit).
constexpr Shape kShapes[] = {{"small", 1000, false}, {"large+prepend", 200 * 1024, true}};

// Every failure point of spooling, for every errno, once (one-shot) and
// from then on (the disk stays full): nothing is acknowledged that is not
// in msg/ whole; nothing in msg/ is partial; a restart leaves tmp/ empty.
TEST(Faults, SpoolNeverAcknowledgesWhatIsNotDurable) {
  for (const Shape& shape : kShapes) {
    const std::string content = content_of(shape.size);
    const std::string stored = (shape.prepend ? "X-Prepended: yes\r\n" : "") + content;
    for (int err : kErrnos) {
      for (bool sticky : {false, true}) {
        for (size_t n = 1;; ++n) {
          SCOPED_TRACE(std::string(shape.name) + " " + errno_name(err) + " call " +
                       std::to_string(n) + (sticky ? " and after" : ""));
          TempDir tmp("tern-faults");
          const std::string dir = tmp.path() + "/q";
          FaultEnv env;
          Envelope e = envelope_to("a@example.com");
          auto store = std::make_unique<FsQueueStore>(dir, true, &env);
          ASSERT_TRUE(store->open().ok());
          env.fail(n, err, FaultEnv::Op::kAny, sticky);
          Status s = spool(*store, e, content, shape.prepend);
          const bool faulted = env.injected() > 0;
          env.clear();
          if (!faulted) {  // n is past the last call: every point was tried
            EXPECT_TRUE(s.ok());
            EXPECT_GT(n, 2u);
            break;
          }
          const std::string reply = smtp_reply(s);
          if (s.ok()) {
            EXPECT_EQ(reply, "250 2.0.0");
          } else {
            EXPECT_EQ(s.kind(), Status::Kind::kTransient) << s.message();
            EXPECT_EQ(s.sys_errno(), err) << s.message();
            EXPECT_EQ(reply, expected_reply(err)) << s.message();
          }
          // What a reader of the queue sees, now and after a restart.
          for (int round = 0; round < 2; ++round) {
            std::vector<std::string> ids = store->list();
            if (s.ok()) ASSERT_EQ(ids, std::vector<std::string>{e.id});
            // Unacknowledged: gone, except when even its withdrawal failed
            // (sticky): then it must be whole (a duplicate, never a part).
            if (!s.ok() && !sticky) EXPECT_TRUE(ids.empty());
            for (const std::string& id : ids) {
              QueuedMessage m;
              ASSERT_TRUE(store->load(id, &m).ok());
              EXPECT_EQ(slurp(m.body_path, m.body_offset), stored);
            }
            store.reset();
            store = std::make_unique<FsQueueStore>(dir);
            ASSERT_TRUE(store->open().ok());
            EXPECT_TRUE(names_in(dir + "/tmp").empty());
          }
        }
      }
    }
  }
}

// A state-log append that fails is not applied and leaves the log
// readable: a torn or missing record never marks a recipient done.
TEST(Faults, StateLogAppendFailureRecordsNothingFalse) {
  for (int err : kErrnos) {
    for (size_t n = 1;; ++n) {
      SCOPED_TRACE(errno_name(err) + " call " + std::to_string(n));
      TempDir tmp("tern-faults");
      FaultEnv env;
      FsQueueStore store(tmp.path() + "/q", true, &env);
      ASSERT_TRUE(store.open().ok());
      Envelope e = envelope_to("a@example.com");
      ASSERT_TRUE(spool(store, e, content_of(100), false).ok());
      env.fail(n, err);
      Status s = store.mark_done(e.id, 0);
      const bool faulted = env.injected() > 0;
      env.clear();
      QueuedMessage m;
      ASSERT_TRUE(store.load(e.id, &m).ok());
      if (!faulted) {  // n is past the last call: every point was tried
        EXPECT_TRUE(s.ok());
        EXPECT_TRUE(m.all_done());
        break;
      }
      if (!s.ok()) {
        EXPECT_EQ(s.sys_errno(), err);
        // Not acknowledged to the scheduler, which tries again: the retry
        // must land (a torn fragment before it is skipped on replay).
        ASSERT_TRUE(store.mark_done(e.id, 0).ok());
        ASSERT_TRUE(store.load(e.id, &m).ok());
      }
      EXPECT_TRUE(m.all_done());
    }
  }
}

// Maildir delivery: a failure leaves nothing in new/ (tmp/ is never read),
// a success exactly one whole copy; after the fault, a retry delivers.
TEST(Faults, MaildirDeliveryIsWholeOrAbsent) {
  const std::string content = content_of(100 * 1024);
  for (int err : kErrnos) {
    for (size_t n = 1;; ++n) {
      SCOPED_TRACE(errno_name(err) + " call " + std::to_string(n));
      TempDir tmp("tern-faults");
      FsQueueStore store(tmp.path() + "/q");
      ASSERT_TRUE(store.open().ok());
      Envelope e = envelope_to("alice@example.com");
      ASSERT_TRUE(spool(store, e, content, false).ok());
      QueuedMessage m;
      ASSERT_TRUE(store.load(e.id, &m).ok());
      FaultEnv env;
      LocalDeliveryEnv local;
      local.mail_root = tmp.path() + "/mail";
      local.is_local_domain = [](std::string_view d) { return d == "example.com"; };
      local.files = &env;
      const std::string box = local.mail_root + "/example.com/alice";
      const std::string expected =
          "Return-Path: <sender@src.net>\r\nDelivered-To: alice@example.com\r\n" + content;

      env.fail(n, err);
      std::vector<LocalRcptResult> r = deliver_local(m, {0}, local);
      const bool faulted = env.injected() > 0;
      env.clear();
      ASSERT_EQ(r.size(), 1u);
      std::vector<std::string> copies = names_in(box + "/new");
      if (r[0].kind == LocalRcptResult::Kind::kDelivered) {
        EXPECT_EQ(copies.size(), 1u);
      } else {
        EXPECT_EQ(r[0].kind, LocalRcptResult::Kind::kTransient);
        EXPECT_NE(r[0].detail.find(std::strerror(err)), std::string::npos) << r[0].detail;
        EXPECT_TRUE(copies.empty()) << "a copy in new/ although delivery failed";
        r = deliver_local(m, {0}, local);  // the scheduler's retry
        ASSERT_EQ(r[0].kind, LocalRcptResult::Kind::kDelivered) << r[0].detail;
        copies = names_in(box + "/new");
        EXPECT_EQ(copies.size(), 1u);
      }
      for (const std::string& c : copies) EXPECT_EQ(slurp(box + "/new/" + c), expected);
      if (!faulted) break;
    }
  }
}

// The users file (and anything else written with write_file_atomic):
// after a failed rewrite the file holds the old users or the new ones,
// never a mix; the loaded db is unchanged; no temporary file is left.
TEST(Faults, UsersRewriteIsAllOrNothing) {
  // Two users, hashed once (argon2 is slow on purpose); each case starts
  // from a copy and removes one (a rewrite without hashing).
  std::string two_users;
  {
    TempDir tmp("tern-faults");
    UserDb db(tmp.path() + "/users");
    ASSERT_TRUE(db.add("a@example.com", "pw-a").ok());
    ASSERT_TRUE(db.add("b@example.com", "pw-b").ok());
    two_users = slurp(tmp.path() + "/users");
  }
  const std::vector<std::string> before = {"a@example.com", "b@example.com"};
  const std::vector<std::string> after = {"a@example.com"};
  for (int err : kErrnos) {
    for (size_t n = 1;; ++n) {
      SCOPED_TRACE(errno_name(err) + " call " + std::to_string(n));
      TempDir tmp("tern-faults");
      const std::string path = tmp.path() + "/users";
      std::ofstream(path, std::ios::binary) << two_users;
      UserDb db(path);
      ASSERT_TRUE(db.load().ok());
      FaultEnv env;
      db.set_file_env(&env);
      env.fail(n, err);
      Status s = db.remove("b@example.com");
      const bool faulted = env.injected() > 0;
      env.clear();
      if (s.ok()) {
        EXPECT_EQ(db.list(), after);
      } else {
        EXPECT_EQ(s.kind(), Status::Kind::kTransient);
        EXPECT_EQ(s.sys_errno(), err) << s.message();
        EXPECT_EQ(db.list(), before);
      }
      UserDb disk(path);
      ASSERT_TRUE(disk.load().ok());
      if (s.ok()) EXPECT_EQ(disk.list(), after);
      EXPECT_TRUE(disk.list() == before || disk.list() == after);
      EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"users"});
      if (!faulted) {
        EXPECT_TRUE(s.ok());
        break;
      }
    }
  }
}

// A message's whole life after acknowledgement, with the real scheduler,
// local courier and store over one FaultEnv: the delivery pass (load,
// Maildir, state log, removal) fails at call N; then the fault clears and
// passes run until the queue is empty. The message must be in the Maildir
// exactly once.
class LifeTest : public ::testing::Test {
 protected:
  void run(asio::awaitable<void> a) {
    asio::co_spawn(io_, std::move(a), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io_.restart();
    io_.run();
  }

  // Returns the number of file calls the first pass made, and whether one
  // failed.
  std::pair<size_t, bool> life(size_t n, int err, bool sticky) {
    TempDir tmp("tern-faults");
    FaultEnv env;
    FsQueueStore store(tmp.path() + "/q", true, &env);
    EXPECT_TRUE(store.open().ok());
    // Two recipients: a fault can then fail one and leave the other's
    // success to be recorded (the case that must not deliver again).
    Envelope e = envelope_to("alice@example.com");
    e.rcpts.push_back(RcptArgs{Address{"bob", "example.com"}, kNotifyNone, ""});
    const std::string content = content_of(2000);
    EXPECT_TRUE(spool(store, e, content, false).ok());

    auto local_env = std::make_shared<LocalDeliveryEnv>();
    local_env->mail_root = tmp.path() + "/mail";
    local_env->is_local_domain = [](std::string_view d) { return d == "example.com"; };
    local_env->files = &env;
    LocalCourier courier(io_.get_executor(), [local_env] { return local_env; });
    int64_t now = 1700000000;
    SchedulerEnv senv;
    senv.store = &store;
    senv.local = &courier;
    senv.remote = &courier;  // never used: every recipient is local
    senv.is_local_domain = [](std::string_view d) { return d == "example.com"; };
    senv.clock = [&now] { return now; };
    senv.random = [] { return 0.5; };
    senv.blocking = io_.get_executor();
    senv.new_id = new_queue_id;
    SchedulerOptions options;
    options.policy.jitter = 0;
    auto sched = std::make_unique<Scheduler>(io_.get_executor(), senv, options);
    run(sched->load());
    env.fail(n, err, FaultEnv::Op::kAny, sticky);
    sched->enqueue(e.id);
    run(sched->run_due());
    const size_t calls = env.calls();
    const bool faulted = env.injected() > 0;
    env.clear();
    // Passes until the queue is empty (retries are at most a day apart).
    for (int i = 0; i < 50 && !store.list().empty(); ++i) {
      now += 86400;
      run(sched->run_due());
    }
    sched.reset();
    EXPECT_TRUE(store.list().empty());
    for (const std::string user : {"alice", "bob"}) {
      SCOPED_TRACE(user);
      const std::string box = local_env->mail_root + "/example.com/" + user + "/new";
      std::vector<std::string> copies = names_in(box);
      if (sticky && err == EIO) {
        // A disk that fails everything, the unlink withdrawing an unsynced
        // copy included: that copy stays, and the retry adds one. At least
        // once, never a loss (docs/queue_format.md).
        EXPECT_GE(copies.size(), 1u);
        EXPECT_LE(copies.size(), 2u);
      } else {
        EXPECT_EQ(copies.size(), 1u) << "delivered " << copies.size() << " times";
      }
      for (const std::string& c : copies) {
        EXPECT_EQ(slurp(box + "/" + c), "Return-Path: <sender@src.net>\r\nDelivered-To: " + user +
                                            "@example.com\r\n" + content);
      }
    }
    return {calls, faulted};
  }

  asio::io_context io_;
};

TEST_F(LifeTest, EveryAcknowledgedMessageIsDeliveredExactlyOnce) {
  for (int err : kErrnos) {
    for (bool sticky : {false, true}) {
      for (size_t n = 1;; ++n) {
        SCOPED_TRACE(errno_name(err) + " call " + std::to_string(n) + (sticky ? " and after" : ""));
        auto [calls, faulted] = life(n, err, sticky);
        if (!faulted) break;
        ASSERT_LT(n, 200u);
      }
    }
  }
}

// The mapping itself, at the session: storage full is 452 4.3.1, any
// other I/O error 451 4.3.0 (a code without an errno stays 451).
TEST(Faults, SessionRepliesByErrno) {
  EXPECT_EQ(smtp_reply(Status::Transient("x", ENOSPC)), "452 4.3.1");
  EXPECT_EQ(smtp_reply(Status::Transient("x", EDQUOT)), "452 4.3.1");
  EXPECT_EQ(smtp_reply(Status::Transient("x", EIO)), "451 4.3.0");
  EXPECT_EQ(smtp_reply(Status::Transient("x", EMFILE)), "451 4.3.0");
  EXPECT_EQ(smtp_reply(Status::Transient("x")), "451 4.3.0");
  EXPECT_EQ(smtp_reply(Status::Ok()), "250 2.0.0");
}

}  // namespace
}  // namespace tern
