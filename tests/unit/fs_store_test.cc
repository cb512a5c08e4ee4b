// FsQueueStore, its envelope header format and queue ids
// (src/queue/fs_store.h, envelope_codec.h, queue_id.h; docs/queue_format.md).
#include "queue/fs_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "queue/envelope_codec.h"
#include "testlib.h"

namespace tern {
namespace {

namespace fs = std::filesystem;
using testlib::slurp;

class TempDir : public testlib::TempDir {
 public:
  TempDir() : testlib::TempDir("tern-fs-store") {}
};

void append(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The done flags of every recipient.
std::vector<bool> done_flags(const QueuedMessage& m) {
  std::vector<bool> out;
  for (const RecipientState& st : m.state) out.push_back(st.done);
  return out;
}

RcptArgs rcpt(std::string local, std::string domain, unsigned notify = kNotifyNone,
              std::string orcpt = "") {
  RcptArgs r;
  r.to = Address{std::move(local), std::move(domain)};
  r.notify = notify;
  r.orcpt = std::move(orcpt);
  return r;
}

Envelope simple_envelope(size_t nrcpts = 1) {
  Envelope e;
  e.id = new_queue_id();
  e.mail.from = Address{"alice", "example.org"};
  for (size_t i = 0; i < nrcpts; ++i)
    e.rcpts.push_back(rcpt("r" + std::to_string(i), "example.com"));
  e.received_at = 1700000000;
  return e;
}

// Every field set, with values that would break a naive line format.
Envelope odd_envelope() {
  Envelope e;
  e.id = new_queue_id();
  e.mail.from = Address{"\"john @ <doe>\"", "b\xC3\xBC\x63her.example"};
  e.mail.size = 0;
  e.mail.body = BodyType::kBinaryMime;
  e.mail.smtputf8 = true;
  e.mail.requiretls = true;
  e.mail.ret = DsnRet::kHdrs;
  e.mail.envid = "id with spaces+plus=equals\r\nX-Injected: 1";
  e.mail.auth = "<>";
  e.rcpts.push_back(rcpt("Postmaster", ""));
  e.rcpts.push_back(rcpt("bob", "example.com", kNotifySuccess | kNotifyFailure | kNotifyDelay,
                         "rfc822;bob+x=y@example.com"));
  e.rcpts.push_back(rcpt("carol", "[IPv6:2001:db8::1]", kNotifyNever));
  e.rcpts.push_back(rcpt("<>", "example.net"));
  e.client_ip = "2001:db8::7";
  e.helo = "evil\nrcpt x@y\n\nhelo";
  e.auth_user = "alice smith";
  e.listener = "submissions";
  e.received_at = -1;
  e.quarantine_reason = "spam score 12.5\r\nX-Injected: 1";
  return e;
}

void expect_same(const Envelope& a, const Envelope& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.mail.from, b.mail.from);
  EXPECT_EQ(a.mail.size, b.mail.size);
  EXPECT_EQ(a.mail.body, b.mail.body);
  EXPECT_EQ(a.mail.smtputf8, b.mail.smtputf8);
  EXPECT_EQ(a.mail.requiretls, b.mail.requiretls);
  EXPECT_EQ(a.mail.ret, b.mail.ret);
  EXPECT_EQ(a.mail.envid, b.mail.envid);
  EXPECT_EQ(a.mail.auth, b.mail.auth);
  ASSERT_EQ(a.rcpts.size(), b.rcpts.size());
  for (size_t i = 0; i < a.rcpts.size(); ++i) {
    EXPECT_EQ(a.rcpts[i].to, b.rcpts[i].to) << i;
    EXPECT_EQ(a.rcpts[i].notify, b.rcpts[i].notify) << i;
    EXPECT_EQ(a.rcpts[i].orcpt, b.rcpts[i].orcpt) << i;
  }
  EXPECT_EQ(a.client_ip, b.client_ip);
  EXPECT_EQ(a.helo, b.helo);
  EXPECT_EQ(a.auth_user, b.auth_user);
  EXPECT_EQ(a.listener, b.listener);
  EXPECT_EQ(a.received_at, b.received_at);
  EXPECT_EQ(a.quarantine_reason, b.quarantine_reason);
}

class FsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<FsQueueStore>(dir());
    ASSERT_TRUE(store_->open().ok());
  }
  std::string dir() const { return tmp_.path() + "/queue"; }
  std::string msg_dir() const { return dir() + "/msg"; }
  std::string tmp_dir() const { return dir() + "/tmp"; }
  std::string state_dir() const { return dir() + "/state"; }
  std::string state_of(const std::string& id) const { return state_dir() + "/" + id; }
  QueuedMessage loaded(const std::string& id) {
    QueuedMessage m;
    Status s = store_->load(id, &m);
    EXPECT_TRUE(s.ok()) << s.message();
    return m;
  }
  // Simulates a restart: a new store on the same directory.
  void reopen() {
    store_.reset();
    store_ = std::make_unique<FsQueueStore>(dir());
    ASSERT_TRUE(store_->open().ok());
  }
  Status put(const Envelope& e, std::string_view content) {
    std::unique_ptr<SpoolWriter> w;
    Status s = store_->begin(e, &w);
    if (!s.ok()) return s;
    s = w->write(content);
    if (!s.ok()) return s;
    return w->commit();
  }
  std::string content_of(const QueuedMessage& m) {
    return slurp(m.body_path).substr(m.body_offset);
  }

  TempDir tmp_;
  std::unique_ptr<FsQueueStore> store_;
};

TEST_F(FsStoreTest, RoundtripEveryFieldAndOddContent) {
  Envelope e = odd_envelope();
  // Content that looks like a header end, NULs, dots, and more than the
  // 64 KiB write buffer, written in uneven pieces.
  std::string content = "\n\nnot a header\r\n.\r\n";
  content += std::string("\0\x01\xff", 3);
  for (int i = 0; i < 20000; ++i) content += "line " + std::to_string(i) + "\r\n";
  std::unique_ptr<SpoolWriter> w;
  ASSERT_TRUE(store_->begin(e, &w).ok());
  size_t pos = 0, step = 1;
  while (pos < content.size()) {
    size_t n = std::min(step, content.size() - pos);
    ASSERT_TRUE(w->write(std::string_view(content).substr(pos, n)).ok());
    pos += n;
    step = step * 3 + 1;  // 1, 4, 13, ... up to past 64 KiB
  }
  ASSERT_TRUE(w->commit().ok());

  reopen();
  EXPECT_EQ(store_->list(), std::vector<std::string>{e.id});
  QueuedMessage m;
  Status s = store_->load(e.id, &m);
  ASSERT_TRUE(s.ok()) << s.message();
  expect_same(e, m.envelope);
  EXPECT_EQ(done_flags(m), std::vector<bool>(e.rcpts.size(), false));
  EXPECT_EQ(m.body_path, msg_dir() + "/" + e.id);
  EXPECT_EQ(content_of(m), content);
}

// Header fields known only at the end of the message go in front of the
// content: in the buffer for a small message, by a rewrite for a large one.
TEST_F(FsStoreTest, PrependPutsTextBeforeTheContent) {
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i) + "\r\n";
  for (const std::string& content : {std::string("Subject: small\r\n\r\nhi\r\n"), big}) {
    SCOPED_TRACE(content.size());
    Envelope e = simple_envelope();
    std::unique_ptr<SpoolWriter> w;
    ASSERT_TRUE(store_->begin(e, &w).ok());
    ASSERT_TRUE(w->write(content.substr(0, 10)).ok());
    ASSERT_TRUE(w->write(content.substr(10)).ok());
    ASSERT_TRUE(w->prepend("B: 2\r\n").ok());
    ASSERT_TRUE(w->prepend("A: 1\r\n").ok());
    ASSERT_TRUE(w->commit().ok());
    EXPECT_EQ(names_in(tmp_dir()), std::vector<std::string>{});
    reopen();
    QueuedMessage m = loaded(e.id);
    expect_same(e, m.envelope);
    EXPECT_EQ(content_of(m), "A: 1\r\nB: 2\r\n" + content);
  }
}

TEST_F(FsStoreTest, WithoutSyncMessagesAreStillStored) {
  store_.reset();
  store_ = std::make_unique<FsQueueStore>(dir(), /*sync=*/false);
  ASSERT_TRUE(store_->open().ok());
  Envelope e = simple_envelope();
  ASSERT_TRUE(put(e, "x\r\n").ok());
  ASSERT_TRUE(store_->mark_done(e.id, 0).ok());
  EXPECT_EQ(content_of(loaded(e.id)), "x\r\n");
  EXPECT_TRUE(store_->remove(e.id).ok());
}

TEST_F(FsStoreTest, RoundtripDefaults) {
  Envelope e;
  e.id = new_queue_id();  // null sender, nothing optional set
  e.rcpts.push_back(rcpt("bob", "example.com"));
  ASSERT_TRUE(put(e, "").ok());
  QueuedMessage m;
  ASSERT_TRUE(store_->load(e.id, &m).ok());
  expect_same(e, m.envelope);
  EXPECT_TRUE(m.envelope.mail.from.is_null());
  EXPECT_FALSE(m.envelope.mail.size.has_value());
  EXPECT_EQ(content_of(m), "");
}

TEST_F(FsStoreTest, HeaderIsTheDocumentedText) {
  Envelope e = simple_envelope();
  e.rcpts[0] =
      rcpt("bob", "example.com", kNotifySuccess | kNotifyFailure, "rfc822;bob@example.com");
  e.helo = "mail example";
  e.mail.size = 42;
  ASSERT_TRUE(put(e, "Subject: x\r\n").ok());
  EXPECT_EQ(slurp(msg_dir() + "/" + e.id),
            "tern-queue 1\n"
            "id " +
                e.id +
                "\n"
                "received-at 1700000000\n"
                "helo mail+20example\n"
                "from alice@example.org\n"
                "size 42\n"
                "rcpt bob@example.com notify=success,failure orcpt=rfc822;bob@example.com\n"
                "\n"
                "Subject: x\r\n");
}

TEST_F(FsStoreTest, AbortAndDestructorLeaveNothing) {
  std::unique_ptr<SpoolWriter> w;
  ASSERT_TRUE(store_->begin(simple_envelope(), &w).ok());
  ASSERT_TRUE(w->write("data").ok());
  EXPECT_EQ(names_in(tmp_dir()).size(), 1u);
  w->abort();
  EXPECT_TRUE(names_in(tmp_dir()).empty());
  EXPECT_FALSE(w->commit().ok());
  EXPECT_FALSE(w->write("more").ok());

  ASSERT_TRUE(store_->begin(simple_envelope(), &w).ok());
  ASSERT_TRUE(w->write("data").ok());
  w.reset();  // neither commit nor abort
  EXPECT_TRUE(names_in(tmp_dir()).empty());
  EXPECT_TRUE(names_in(msg_dir()).empty());
  EXPECT_TRUE(store_->list().empty());
}

TEST_F(FsStoreTest, NothingVisibleBeforeCommit) {
  Envelope e = simple_envelope();
  std::unique_ptr<SpoolWriter> w;
  ASSERT_TRUE(store_->begin(e, &w).ok());
  ASSERT_TRUE(w->write("data").ok());
  EXPECT_TRUE(store_->list().empty());
  QueuedMessage m;
  EXPECT_FALSE(store_->load(e.id, &m).ok());
  ASSERT_TRUE(w->commit().ok());
  EXPECT_EQ(store_->list(), std::vector<std::string>{e.id});
  EXPECT_TRUE(names_in(tmp_dir()).empty());
  EXPECT_FALSE(w->commit().ok());  // spent
  w->abort();                      // and abort() after commit must not delete it
  EXPECT_EQ(store_->list(), std::vector<std::string>{e.id});
}

// A process that dies mid-message (no commit, no abort, no destructor)
// leaves a tmp file; the next open() deletes it. What it committed stays.
TEST_F(FsStoreTest, OpenRemovesWhatACrashLeftInTmp) {
  store_.reset();  // release the lock for the child
  Envelope committed = simple_envelope();
  Envelope pending = simple_envelope();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FsQueueStore child(dir());
    if (!child.open().ok()) ::_exit(1);
    std::unique_ptr<SpoolWriter> w1, w2;
    if (!child.begin(committed, &w1).ok() || !w1->write("kept").ok() || !w1->commit().ok())
      ::_exit(2);
    if (!child.begin(pending, &w2).ok() || !w2->write(std::string(100000, 'x')).ok()) ::_exit(3);
    ::_exit(0);  // "crash": no destructors run
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(names_in(tmp_dir()), std::vector<std::string>{pending.id});
  append(tmp_dir() + "/stray", "junk");

  store_ = std::make_unique<FsQueueStore>(dir());
  ASSERT_TRUE(store_->open().ok());
  EXPECT_TRUE(names_in(tmp_dir()).empty());
  EXPECT_EQ(store_->list(), std::vector<std::string>{committed.id});
  QueuedMessage m;
  ASSERT_TRUE(store_->load(committed.id, &m).ok());
  EXPECT_EQ(content_of(m), "kept");
}

TEST_F(FsStoreTest, SecondOpenOfTheSameQueueIsRefused) {
  FsQueueStore other(dir());
  Status s = other.open();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.kind(), Status::Kind::kTransient);
  EXPECT_NE(s.message().find("in use"), std::string::npos) << s.message();
}

TEST_F(FsStoreTest, OpenCreatesMissingParents) {
  FsQueueStore deep(tmp_.path() + "/a/b/queue");
  ASSERT_TRUE(deep.open().ok());
  EXPECT_TRUE(fs::is_directory(tmp_.path() + "/a/b/queue/tmp"));
  EXPECT_TRUE(fs::is_directory(tmp_.path() + "/a/b/queue/msg"));
  EXPECT_TRUE(fs::is_directory(tmp_.path() + "/a/b/queue/state"));
  EXPECT_EQ(fs::status(tmp_.path() + "/a/b/queue/msg").permissions() & fs::perms::all,
            fs::perms::owner_all);
}

TEST_F(FsStoreTest, MarkDonePersistsAcrossRestart) {
  Envelope e = simple_envelope(3);
  ASSERT_TRUE(put(e, "x").ok());
  EXPECT_FALSE(fs::exists(state_of(e.id)));  // created by the first record
  ASSERT_TRUE(store_->mark_done(e.id, 1).ok());
  ASSERT_TRUE(store_->mark_done(e.id, 1).ok());  // idempotent
  reopen();
  EXPECT_EQ(done_flags(loaded(e.id)), (std::vector<bool>{false, true, false}));
  std::string record = encode_state_record(StateRecord::Done(1));
  EXPECT_EQ(slurp(state_of(e.id)), record + record);
  EXPECT_EQ(fs::status(state_of(e.id)).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(FsStoreTest, AppendReplaysTypedRecordsAcrossRestart) {
  Envelope e = simple_envelope(3);
  ASSERT_TRUE(put(e, "x").ok());
  StateRecord t;
  t.type = StateRecord::Type::kTry;
  t.rcpt = 0;
  t.at = 1700000100;
  t.next = 1700000400;
  t.reply = Reply(451, "4.4.1", "connection refused");
  t.remote_mta = "mx.example.com";
  StateRecord f = t;
  f.type = StateRecord::Type::kFail;
  f.rcpt = 2;
  f.reply = Reply(550, "5.1.1", "no such user");
  StateRecord ok;
  ok.type = StateRecord::Type::kOk;
  ok.rcpt = 1;
  ok.at = 1700000200;
  ok.outcome = RcptOutcome::kRelayed;
  ok.next_hop_dsn = true;
  ok.reply = Reply(250, "2.0.0", "queued");
  ASSERT_TRUE(store_->append(e.id, {t, ok, f}).ok());
  reopen();
  QueuedMessage m = loaded(e.id);
  EXPECT_EQ(m.state[0].outcome, RcptOutcome::kPending);
  EXPECT_EQ(m.state[0].attempts, 1u);
  EXPECT_EQ(m.state[0].next_attempt, 1700000400);
  EXPECT_EQ(m.state[0].last_reply.brief(), "451 4.4.1 connection refused");
  EXPECT_EQ(m.state[0].remote_mta, "mx.example.com");
  EXPECT_EQ(m.state[1].outcome, RcptOutcome::kRelayed);
  EXPECT_TRUE(m.state[1].next_hop_dsn);
  EXPECT_EQ(m.state[2].outcome, RcptOutcome::kFailed);
  EXPECT_EQ(done_flags(m), (std::vector<bool>{false, false, false}));
}

TEST_F(FsStoreTest, AppendOfNothingCreatesNothing) {
  Envelope e = simple_envelope();
  ASSERT_TRUE(put(e, "x").ok());
  ASSERT_TRUE(store_->append(e.id, {}).ok());
  EXPECT_FALSE(fs::exists(state_of(e.id)));
}

// A crash inside an append can leave a fragment of a record, or zeros. It
// must not count, and must not merge with the next record.
TEST_F(FsStoreTest, TornRecordIsIgnored) {
  Envelope e = simple_envelope(13);
  ASSERT_TRUE(put(e, "x").ok());
  ASSERT_TRUE(store_->mark_done(e.id, 0).ok());
  std::string record12 = encode_state_record(StateRecord::Done(12));
  // Every prefix of the record, with or without the '\n' a later append adds.
  for (size_t n = 1; n + 1 < record12.size(); ++n) {
    SCOPED_TRACE(n);
    std::vector<RecipientState> states(13);
    replay_state_log(encode_state_record(StateRecord::Done(0)) + record12.substr(0, n) + "\n",
                     &states);
    EXPECT_FALSE(states[12].done);
    EXPECT_TRUE(states[0].done);
  }
  append(state_of(e.id), record12.substr(0, 7));  // torn "done 12 #..."
  reopen();
  std::vector<bool> want(13, false);
  want[0] = true;
  EXPECT_EQ(done_flags(loaded(e.id)), want);

  ASSERT_TRUE(store_->mark_done(e.id, 2).ok());  // starts a new line first
  append(state_of(e.id), std::string("\0\0\0\ndone 4 #00", 15));
  want[2] = true;
  EXPECT_EQ(done_flags(loaded(e.id)), want);
  ASSERT_TRUE(store_->mark_done(e.id, 5).ok());
  want[5] = true;
  EXPECT_EQ(done_flags(loaded(e.id)), want);
}

TEST_F(FsStoreTest, RecordWithoutFinalNewlineStillCounts) {
  Envelope e = simple_envelope(2);
  ASSERT_TRUE(put(e, "x").ok());
  std::string record = encode_state_record(StateRecord::Done(1));
  record.pop_back();  // torn after the record, before '\n': the CRC is whole
  append(state_of(e.id), record);
  EXPECT_EQ(done_flags(loaded(e.id)), (std::vector<bool>{false, true}));
  ASSERT_TRUE(store_->mark_done(e.id, 0).ok());
  EXPECT_EQ(done_flags(loaded(e.id)), (std::vector<bool>{true, true}));
}

TEST_F(FsStoreTest, MarkDoneOfUnknownMessageFails) {
  EXPECT_FALSE(store_->mark_done(new_queue_id(), 0).ok());
  EXPECT_TRUE(names_in(msg_dir()).empty());
  EXPECT_TRUE(names_in(state_dir()).empty());
}

TEST_F(FsStoreTest, RemoveOnlyWhenAllDoneAndDeletesBothFiles) {
  Envelope e = simple_envelope(2);
  ASSERT_TRUE(put(e, "x").ok());
  ASSERT_TRUE(store_->mark_done(e.id, 0).ok());
  Status s = store_->remove(e.id);
  EXPECT_EQ(s.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(store_->list(), std::vector<std::string>{e.id});
  ASSERT_TRUE(store_->mark_done(e.id, 1).ok());
  s = store_->remove(e.id);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(store_->list().empty());
  EXPECT_TRUE(names_in(msg_dir()).empty());
  EXPECT_TRUE(names_in(state_dir()).empty());
  QueuedMessage m;
  EXPECT_FALSE(store_->load(e.id, &m).ok());
  EXPECT_FALSE(store_->remove(e.id).ok());
}

TEST_F(FsStoreTest, PurgeRemovesWhateverTheState) {
  Envelope e = simple_envelope(2);
  ASSERT_TRUE(put(e, "x").ok());
  ASSERT_TRUE(store_->mark_done(e.id, 0).ok());
  ASSERT_TRUE(store_->purge(e.id).ok());
  EXPECT_TRUE(store_->list().empty());
  EXPECT_TRUE(names_in(msg_dir()).empty());
  EXPECT_TRUE(names_in(state_dir()).empty());
  EXPECT_EQ(store_->purge(e.id).kind(), Status::Kind::kPermanent);
}

// A crash inside remove() after the message went leaves state/ID alone.
TEST_F(FsStoreTest, OpenRemovesOrphanStateLogs) {
  Envelope e = simple_envelope();
  ASSERT_TRUE(put(e, "x").ok());
  ASSERT_TRUE(store_->mark_done(e.id, 0).ok());
  std::string orphan = new_queue_id();
  append(state_of(orphan), encode_state_record(StateRecord::Done(0)));
  reopen();
  EXPECT_EQ(names_in(state_dir()), std::vector<std::string>{e.id});
  EXPECT_EQ(names_in(msg_dir()), std::vector<std::string>{e.id});
}

// The first format kept finished recipients in msg/ID.done.
TEST_F(FsStoreTest, OpenConvertsDoneFilesOfTheFirstFormat) {
  Envelope e = simple_envelope(3);
  ASSERT_TRUE(put(e, "x").ok());
  append(msg_dir() + "/" + e.id + ".done", "0 done\n2 do");  // torn second line
  std::string gone = new_queue_id();
  append(msg_dir() + "/" + gone + ".done", "0 done\n");
  reopen();
  EXPECT_EQ(names_in(msg_dir()), std::vector<std::string>{e.id});
  EXPECT_EQ(done_flags(loaded(e.id)), (std::vector<bool>{true, false, false}));
}

TEST_F(FsStoreTest, RefusesIdsOutsideTheAlphabet) {
  for (const std::string& bad :
       std::vector<std::string>{"", "../x", "a/b", "a.b", "a b", "x.done", std::string("a\0b", 3),
                                "\xC3\xA9t\xC3\xA9", std::string(65, 'a')}) {
    Envelope e = simple_envelope();
    e.id = bad;
    std::unique_ptr<SpoolWriter> w;
    EXPECT_FALSE(store_->begin(e, &w).ok()) << bad;
    QueuedMessage m;
    EXPECT_FALSE(store_->load(bad, &m).ok()) << bad;
    EXPECT_FALSE(store_->mark_done(bad, 0).ok()) << bad;
    EXPECT_FALSE(store_->remove(bad).ok()) << bad;
    EXPECT_FALSE(store_->purge(bad).ok()) << bad;
  }
  EXPECT_TRUE(names_in(tmp_dir()).empty());
  EXPECT_TRUE(names_in(msg_dir()).empty());
}

TEST_F(FsStoreTest, BeginRefusesAnIdInUse) {
  Envelope e = simple_envelope();
  ASSERT_TRUE(put(e, "first").ok());
  std::unique_ptr<SpoolWriter> w;
  EXPECT_FALSE(store_->begin(e, &w).ok());  // committed
  Envelope f = simple_envelope();
  ASSERT_TRUE(store_->begin(f, &w).ok());
  std::unique_ptr<SpoolWriter> w2;
  EXPECT_FALSE(store_->begin(f, &w2).ok());  // being received
  QueuedMessage m;
  ASSERT_TRUE(store_->load(e.id, &m).ok());
  EXPECT_EQ(content_of(m), "first");
}

TEST_F(FsStoreTest, BeginRefusesEnvelopesItCannotStore) {
  std::unique_ptr<SpoolWriter> w;
  Envelope none = simple_envelope(0);
  EXPECT_FALSE(store_->begin(none, &w).ok());
  Envelope bits = simple_envelope();
  bits.rcpts[0].notify = 64;
  EXPECT_FALSE(store_->begin(bits, &w).ok());
  EXPECT_TRUE(names_in(tmp_dir()).empty());
}

TEST_F(FsStoreTest, ListIsOldestFirstAndSkipsOtherFiles) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    Envelope e = simple_envelope();
    ids.push_back(e.id);
    ASSERT_TRUE(put(e, "x").ok());
  }
  ASSERT_TRUE(store_->mark_done(ids[2], 0).ok());
  append(msg_dir() + "/README.txt", "not a message");
  append(msg_dir() + "/" + ids[1] + ".orig", "not a message either");
  EXPECT_EQ(store_->list(), ids);
}

TEST_F(FsStoreTest, LoadRejectsCorruptFiles) {
  auto write_msg = [&](const std::string& id, const std::string& text) {
    std::ofstream(msg_dir() + "/" + id, std::ios::binary) << text;
  };
  std::string id = new_queue_id();
  QueuedMessage m;
  write_msg(id, "tern-queue 1\nid " + id + "\nreceived-at 1\nfrom <>\nrcpt a@b\n");  // no end
  EXPECT_FALSE(store_->load(id, &m).ok());
  write_msg(id, "tern-queue 2\nid " + id + "\nreceived-at 1\nfrom <>\nrcpt a@b\n\nx");
  EXPECT_FALSE(store_->load(id, &m).ok());
  std::string other = new_queue_id();
  write_msg(id, "tern-queue 1\nid " + other + "\nreceived-at 1\nfrom <>\nrcpt a@b\n\nx");
  EXPECT_FALSE(store_->load(id, &m).ok());
  write_msg(id, "tern-queue 1\nid " + id + "\nreceived-at 1\nfrom <>\nrcpt a@b\n\nx");
  Status s = store_->load(id, &m);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(m.body_offset, slurp(msg_dir() + "/" + id).size() - 1);
}

TEST(FsStoreCodec, DecodeErrorsNameTheLine) {
  Envelope e;
  auto err = [&](const std::string& text) { return decode_envelope(text, &e).message(); };
  EXPECT_NE(err("tern-queue 1\nid A\nbogus 1\n").find("line 3: unknown key 'bogus'"),
            std::string::npos);
  EXPECT_NE(err("tern-queue 1\nid A\nid B\n").find("line 3: repeated key 'id'"), std::string::npos);
  EXPECT_NE(err("tern-queue 1\nsize 1x\n").find("line 2: bad size"), std::string::npos);
  EXPECT_NE(err("tern-queue 1\nhelo bad+4\n").find("line 2: bad helo"), std::string::npos);
  EXPECT_NE(err("tern-queue 1\nrcpt a@b notify=sometimes\n").find("line 2: bad rcpt"),
            std::string::npos);
  EXPECT_NE(err("tern-queue 1\nrcpt a@b colour=red\n").find("line 2: bad rcpt"), std::string::npos);
  EXPECT_NE(err("tern-queue 1\nrcpt <>\n").find("line 2: bad rcpt"), std::string::npos);
  EXPECT_NE(err("tern-queue 1\nhelo\n").find("line 2"), std::string::npos);
  EXPECT_NE(err("tern-queue 1\nid A\nreceived-at 1\nrcpt a@b\n").find("missing 'from'"),
            std::string::npos);
  EXPECT_NE(err("tern-queue 1\nid A\nreceived-at 1\nfrom <>\n").find("no recipients"),
            std::string::npos);
  EXPECT_NE(err("hello\n").find("line 1"), std::string::npos);
  EXPECT_TRUE(decode_envelope("tern-queue 1\nid A\nreceived-at 1\nfrom <>\nrcpt a@b\n", &e).ok());
}

TEST(FsStoreQueueId, ShapeAndOrder) {
  std::string prev;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_queue_id();
    EXPECT_EQ(id.size(), 16u);
    EXPECT_TRUE(is_valid_queue_id(id)) << id;
    EXPECT_LT(prev, id);  // strictly increasing, so sortable by time
    prev = id;
  }
}

TEST(FsStoreQueueId, UniqueAcrossThreads) {
  constexpr int kThreads = 8, kPerThread = 20000;
  std::vector<std::vector<std::string>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&got, t] {
      for (int i = 0; i < kPerThread; ++i) got[t].push_back(new_queue_id());
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& v : got) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(FsStoreQueueId, Validation) {
  EXPECT_TRUE(is_valid_queue_id("0aZ9"));
  EXPECT_FALSE(is_valid_queue_id(""));
  EXPECT_FALSE(is_valid_queue_id("a-b"));
  EXPECT_FALSE(is_valid_queue_id("a_b"));
  EXPECT_FALSE(is_valid_queue_id("."));
  EXPECT_FALSE(is_valid_queue_id(std::string(65, 'a')));
  EXPECT_TRUE(is_valid_queue_id(std::string(64, 'a')));
}

}  // namespace
}  // namespace tern
