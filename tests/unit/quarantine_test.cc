// The quarantine (queue/quarantine.h) and the move it releases with
// (FsQueueStore::move_to, finish_moves; docs/queue_format.md "Moving a
// message"): a released message is in the live queue, whole, exactly once;
// a crash or an I/O failure at any call of the move leaves it in one of
// the two stores after the next start, never in both, never in neither.
#include "queue/quarantine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>

#include "fault_env.h"
#include "queue/fs_store.h"
#include "queue/queue_id.h"
#include "testlib.h"

namespace tern {
namespace {

namespace fs = std::filesystem;
using testlib::FaultEnv;
using testlib::slurp;

constexpr std::string_view kContent = "Subject: held\r\n\r\nbody\r\n";

Envelope held_envelope(const std::string& reason = "spam score 12") {
  Envelope e;
  e.id = new_queue_id();
  e.mail.from = Address{"alice", "example.org"};
  e.rcpts.push_back(RcptArgs{Address{"bob", "example.com"}, 0, ""});
  e.rcpts.push_back(RcptArgs{Address{"carol", "example.com"}, 0, ""});
  e.received_at = 1700000000;
  e.quarantine_reason = reason;
  return e;
}

Status put(FsQueueStore& store, const Envelope& e) {
  std::unique_ptr<SpoolWriter> w;
  Status s = store.begin(e, &w);
  if (s.ok()) s = w->write(kContent);
  if (s.ok()) s = w->commit();
  return s;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

struct Dirs {
  testlib::TempDir tmp{"tern-quarantine"};
  std::string live() const { return tmp.path() + "/queue"; }
  std::string held() const { return tmp.path() + "/quarantine"; }
  std::string live_msg(const std::string& id) const { return live() + "/msg/" + id; }
  std::string held_msg(const std::string& id) const { return held() + "/msg/" + id; }
};

TEST(QueueMove, MovesTheFileAndDropsItsStateLog) {
  Dirs d;
  FsQueueStore live(d.live()), held(d.held());
  ASSERT_TRUE(live.open().ok());
  ASSERT_TRUE(held.open().ok());
  Envelope e = held_envelope();
  ASSERT_TRUE(put(held, e).ok());
  ASSERT_TRUE(held.mark_done(e.id, 0).ok());  // a state log, which must not follow
  bool moved = false;
  Status s = held.move_to(e.id, live, &moved);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(moved);
  EXPECT_TRUE(held.list().empty());
  EXPECT_FALSE(exists(d.held() + "/state/" + e.id));
  EXPECT_EQ(live.list(), std::vector<std::string>{e.id});
  QueuedMessage m;
  ASSERT_TRUE(live.load(e.id, &m).ok());
  EXPECT_EQ(slurp(m.body_path, m.body_offset), kContent);
  EXPECT_EQ(m.envelope.quarantine_reason, "spam score 12");
  EXPECT_FALSE(m.state[0].done);  // afresh: every recipient pending
}

TEST(QueueMove, RefusesUnknownIdsAndAnotherMessageOfTheSameId) {
  Dirs d;
  FsQueueStore live(d.live()), held(d.held());
  ASSERT_TRUE(live.open().ok());
  ASSERT_TRUE(held.open().ok());
  bool moved = true;
  EXPECT_EQ(held.move_to(new_queue_id(), live, &moved).kind(), Status::Kind::kPermanent);
  EXPECT_FALSE(moved);
  EXPECT_FALSE(held.move_to("../x", live, &moved).ok());
  // The same id in both, as different files: never replaced.
  Envelope e = held_envelope();
  ASSERT_TRUE(put(held, e).ok());
  ASSERT_TRUE(put(live, e).ok());
  EXPECT_EQ(held.move_to(e.id, live, &moved).kind(), Status::Kind::kPermanent);
  EXPECT_FALSE(moved);
  EXPECT_EQ(held.list(), std::vector<std::string>{e.id});
  std::vector<std::string> conflicts;
  ASSERT_TRUE(held.finish_moves(live, &conflicts).ok());
  EXPECT_EQ(conflicts, std::vector<std::string>{e.id});
  EXPECT_EQ(held.list(), std::vector<std::string>{e.id});  // left alone
}

// A crash after the link: both names, one file. The next start completes
// the move; a second release of the same id completes it as well.
TEST(QueueMove, InterruptedMoveIsCompleted) {
  Dirs d;
  Envelope e = held_envelope();
  {
    FsQueueStore live(d.live()), held(d.held());
    ASSERT_TRUE(live.open().ok());
    ASSERT_TRUE(held.open().ok());
    ASSERT_TRUE(put(held, e).ok());
    ASSERT_EQ(::link(d.held_msg(e.id).c_str(), d.live_msg(e.id).c_str()), 0);
  }
  FsQueueStore live(d.live()), held(d.held());
  ASSERT_TRUE(live.open().ok());
  ASSERT_TRUE(held.open().ok());
  ASSERT_TRUE(held.finish_moves(live).ok());
  EXPECT_TRUE(held.list().empty());
  EXPECT_EQ(live.list(), std::vector<std::string>{e.id});

  Envelope f = held_envelope();
  ASSERT_TRUE(put(held, f).ok());
  ASSERT_EQ(::link(d.held_msg(f.id).c_str(), d.live_msg(f.id).c_str()), 0);
  bool moved = false;
  ASSERT_TRUE(held.move_to(f.id, live, &moved).ok());
  EXPECT_TRUE(moved);
  EXPECT_TRUE(held.list().empty());
  EXPECT_EQ(live.list().size(), 2u);
}

// Where the message is after the next start (finish_moves run): "live",
// "held", or a failure description.
std::string settle(const Dirs& d, const std::string& id) {
  FsQueueStore live(d.live()), held(d.held());
  if (!live.open().ok() || !held.open().ok()) return "open failed";
  if (!held.finish_moves(live).ok()) return "finish_moves failed";
  const bool in_live = exists(d.live_msg(id)), in_held = exists(d.held_msg(id));
  if (in_live && in_held) return "both";
  if (!in_live && !in_held) return "neither";
  FsQueueStore& where = in_live ? live : held;
  QueuedMessage m;
  if (!where.load(id, &m).ok()) return "unreadable";
  if (slurp(m.body_path, m.body_offset) != kContent) return "changed";
  if (!fs::is_empty(d.live() + "/tmp") || !fs::is_empty(d.held() + "/tmp")) return "tmp left";
  return in_live ? "live" : "held";
}

// A crash at call N of the move: call N and every later call fail (the
// process is gone; what it did before stays). Every N, every errno the
// seam injects. Then the next start: exactly one copy, whole; in the live
// queue whenever move_to had said it was there.
TEST(QueueMove, CrashAtEveryCallLeavesExactlyOneCopy) {
  for (int err : {EIO, ENOSPC}) {
    for (size_t n = 1;; ++n) {
      SCOPED_TRACE("errno " + std::to_string(err) + " from call " + std::to_string(n));
      Dirs d;
      FaultEnv env;
      Envelope e = held_envelope();
      bool moved = false;
      Status s;
      size_t injected = 0;
      {
        FsQueueStore live(d.live()), held(d.held(), true, &env);
        ASSERT_TRUE(live.open().ok());
        ASSERT_TRUE(held.open().ok());
        ASSERT_TRUE(put(held, e).ok());
        env.fail(n, err, FaultEnv::Op::kAny, /*sticky=*/true);
        s = held.move_to(e.id, live, &moved);
        injected = env.injected();
        env.clear();
      }
      const std::string where = settle(d, e.id);
      if (injected == 0) {  // past the last call: every point was tried
        EXPECT_TRUE(s.ok()) << s.message();
        EXPECT_EQ(where, "live");
        EXPECT_GT(n, 3u);
        break;
      }
      // A failed close of a directory after its fsync is harmless and
      // ignored: then the move went through.
      if (s.ok()) EXPECT_TRUE(moved);
      EXPECT_TRUE(where == "live" || where == "held") << where;
      if (moved) EXPECT_EQ(where, "live");
    }
  }
}

// A one-time I/O failure: the release says so, and a second try works;
// the message ends in the live queue once.
TEST(QueueMove, FailedMoveCanBeRetried) {
  for (size_t n = 1;; ++n) {
    SCOPED_TRACE("EIO at call " + std::to_string(n));
    Dirs d;
    FaultEnv env;
    FsQueueStore live(d.live()), held(d.held(), true, &env);
    ASSERT_TRUE(live.open().ok());
    ASSERT_TRUE(held.open().ok());
    Envelope e = held_envelope();
    ASSERT_TRUE(put(held, e).ok());
    env.fail(n, EIO);
    bool moved = false;
    Status s = held.move_to(e.id, live, &moved);
    const bool faulted = env.injected() > 0;
    env.clear();
    if (!faulted) break;
    if (s.ok()) EXPECT_TRUE(moved);  // only a harmless close failed
    if (!moved || exists(d.held_msg(e.id))) {
      Status again = held.move_to(e.id, live, &moved);
      EXPECT_TRUE(again.ok()) << again.message();
    }
    EXPECT_TRUE(moved);
    EXPECT_FALSE(exists(d.held_msg(e.id)));
    EXPECT_EQ(live.list(), std::vector<std::string>{e.id});
  }
}

TEST(Quarantine, NoDirectoryMeansEmptyAndNothingCreated) {
  Dirs d;
  FsQueueStore live(d.live());
  ASSERT_TRUE(live.open().ok());
  Quarantine q(d.held(), live);
  ASSERT_TRUE(q.recover().ok());
  std::vector<Quarantine::Entry> entries;
  ASSERT_TRUE(q.list(&entries).ok());
  EXPECT_TRUE(entries.empty());
  EXPECT_FALSE(q.has(new_queue_id()));
  Envelope env;
  bool moved = true;
  EXPECT_EQ(q.release(new_queue_id(), &env, &moved).kind(), Status::Kind::kPermanent);
  EXPECT_FALSE(moved);
  EXPECT_FALSE(q.remove(new_queue_id()).ok());
  EXPECT_FALSE(fs::exists(d.held()));
}

TEST(Quarantine, ListReleaseAndRemove) {
  Dirs d;
  FsQueueStore live(d.live());
  ASSERT_TRUE(live.open().ok());
  Quarantine q(d.held(), live);
  FsQueueStore* store = nullptr;
  ASSERT_TRUE(q.store(&store).ok());
  Envelope a = held_envelope("looks odd"), b = held_envelope("");
  ASSERT_TRUE(put(*store, a).ok());
  ASSERT_TRUE(put(*store, b).ok());

  std::vector<Quarantine::Entry> entries;
  ASSERT_TRUE(q.list(&entries).ok());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].envelope.id, a.id);
  EXPECT_EQ(entries[0].envelope.quarantine_reason, "looks odd");
  EXPECT_EQ(entries[0].envelope.rcpts.size(), 2u);
  EXPECT_EQ(entries[0].size, kContent.size());
  EXPECT_EQ(entries[1].envelope.quarantine_reason, "");
  EXPECT_TRUE(q.has(a.id));

  Envelope released;
  bool moved = false;
  Status s = q.release(a.id, &released, &moved);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(moved);
  EXPECT_EQ(released.id, a.id);
  EXPECT_EQ(released.rcpts.size(), 2u);
  EXPECT_FALSE(q.has(a.id));
  EXPECT_EQ(live.list(), std::vector<std::string>{a.id});
  EXPECT_FALSE(q.release(a.id, &released, &moved).ok());  // not twice

  ASSERT_TRUE(q.remove(b.id).ok());
  EXPECT_FALSE(q.has(b.id));
  ASSERT_TRUE(q.list(&entries).ok());
  EXPECT_TRUE(entries.empty());
  EXPECT_EQ(live.list(), std::vector<std::string>{a.id});  // delete never touches the queue
}

// recover() at start completes a release a crash interrupted.
TEST(Quarantine, RecoverCompletesAnInterruptedRelease) {
  Dirs d;
  Envelope e = held_envelope();
  {
    FsQueueStore held(d.held());
    ASSERT_TRUE(held.open().ok());
    ASSERT_TRUE(put(held, e).ok());
    fs::create_directories(d.live() + "/msg");
    ASSERT_EQ(::link(d.held_msg(e.id).c_str(), d.live_msg(e.id).c_str()), 0);
  }
  FsQueueStore live(d.live());
  ASSERT_TRUE(live.open().ok());
  Quarantine q(d.held(), live);
  ASSERT_TRUE(q.recover().ok());
  EXPECT_FALSE(q.has(e.id));
  EXPECT_EQ(live.list(), std::vector<std::string>{e.id});
}

}  // namespace
}  // namespace tern
