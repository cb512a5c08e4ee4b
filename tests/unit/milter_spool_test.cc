// MilterSpool (server/milter_spool.h): the message waits in an unlinked
// file, milters read it back and change it, and commit() writes the
// modified copy into the queue (or the quarantine) durably. Nothing is in
// the queue before commit(); an aborted message leaves nothing.
#include "server/milter_spool.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "queue/fs_store.h"
#include "testlib.h"

namespace tern {
namespace {

namespace fs = std::filesystem;
using testlib::slurp;

struct Fixture {
  testlib::TempDir tmp{"tern-milter-spool"};
  FsQueueStore store{tmp.path() + "/queue"};
  FsQueueStore quarantine{tmp.path() + "/quarantine"};
  Envelope env;

  Fixture() {
    EXPECT_TRUE(store.open().ok());
    EXPECT_TRUE(quarantine.open().ok());
    env.id = "M1";
    env.mail.from = Address{"a", "example.org"};
    env.rcpts.push_back(RcptArgs{Address{"b", "example.org"}, 0, ""});
  }
  std::unique_ptr<MilterSpool> spool() {
    std::unique_ptr<MilterSpool> s;
    Status st = MilterSpool::create(
        store,
        [this](QueueStore** q) {
          *q = &quarantine;
          return Status::Ok();
        },
        env, tmp.path() + "/queue/tmp", &s);
    EXPECT_TRUE(st.ok()) << st.message();
    return s;
  }
  // The committed content of `id` in `q`.
  std::string content(FsQueueStore& q, const std::string& id) {
    QueuedMessage m;
    Status st = q.load(id, &m);
    EXPECT_TRUE(st.ok()) << st.message();
    return slurp(m.body_path, m.body_offset);
  }
  size_t files(const std::string& sub) {
    size_t n = 0;
    for (auto it = fs::directory_iterator(tmp.path() + "/" + sub); it != fs::directory_iterator();
         ++it)
      ++n;
    return n;
  }
};

const char kMessage[] = "Subject: hi\r\nX-Drop: 1\r\n\r\nbody line\r\n";

TEST(MilterSpool, UntouchedContentGoesAsItCame) {
  Fixture f;
  auto s = f.spool();
  ASSERT_TRUE(s->write("Subject: hi\r\n\r\nbo").ok());
  ASSERT_TRUE(s->write("dy\r\n").ok());
  ASSERT_TRUE(s->prepend("Authentication-Results: x; none\r\n").ok());
  EXPECT_EQ(f.files("queue/tmp"), 0u);  // the spool file is unlinked
  EXPECT_TRUE(f.store.list().empty());
  ASSERT_TRUE(s->commit().ok());
  EXPECT_EQ(f.content(f.store, "M1"),
            "Authentication-Results: x; none\r\nSubject: hi\r\n\r\nbody\r\n");
}

TEST(MilterSpool, ChangesMakeAModifiedCopy) {
  Fixture f;
  auto s = f.spool();
  ASSERT_TRUE(s->write(kMessage).ok());
  ASSERT_TRUE(s->prepend("Received: by us\r\n").ok());
  std::vector<milter::HeaderField>* fields = nullptr;
  ASSERT_TRUE(s->header(&fields).ok());
  ASSERT_EQ(fields->size(), 3u);
  EXPECT_EQ((*fields)[0].name, "Received");
  std::string body;
  ASSERT_TRUE(s->read_body(0, 100, &body).ok());
  EXPECT_EQ(body, "body line\r\n");
  ASSERT_TRUE(s->read_body(4, 4, &body).ok());
  EXPECT_EQ(body, " lin");
  fields->erase(fields->begin() + 2);
  fields->push_back({"X-Added", " yes"});
  ASSERT_TRUE(s->replace_body().ok());
  ASSERT_TRUE(s->append_body("new\r\n").ok());
  ASSERT_TRUE(s->append_body("body\r\n").ok());
  ASSERT_TRUE(s->read_body(0, 100, &body).ok());  // the next milter sees the new body
  EXPECT_EQ(body, "new\r\nbody\r\n");
  s->envelope().rcpts.push_back(RcptArgs{Address{"c", "example.org"}, 0, ""});
  ASSERT_TRUE(s->commit().ok());
  EXPECT_EQ(f.content(f.store, "M1"),
            "Received: by us\r\nSubject: hi\r\nX-Added: yes\r\n\r\nnew\r\nbody\r\n");
  QueuedMessage m;
  ASSERT_TRUE(f.store.load("M1", &m).ok());
  ASSERT_EQ(m.envelope.rcpts.size(), 2u);
  EXPECT_EQ(m.envelope.rcpts[1].to.str(), "c@example.org");
}

TEST(MilterSpool, QuarantineGoesElsewhere) {
  Fixture f;
  auto s = f.spool();
  ASSERT_TRUE(s->write(kMessage).ok());
  s->quarantine("odd");
  ASSERT_TRUE(s->commit().ok());
  EXPECT_TRUE(f.store.list().empty());
  EXPECT_EQ(f.quarantine.list(), std::vector<std::string>{"M1"});
  EXPECT_EQ(f.content(f.quarantine, "M1"), kMessage);
  // The milter's reason is kept with the message, for `tern queue quarantine`.
  QueuedMessage m;
  ASSERT_TRUE(f.quarantine.load("M1", &m).ok());
  EXPECT_EQ(m.envelope.quarantine_reason, "odd");
}

TEST(MilterSpool, AbortLeavesNothing) {
  Fixture f;
  {
    auto s = f.spool();
    ASSERT_TRUE(s->write(kMessage).ok());
    s->abort();
    EXPECT_FALSE(s->commit().ok());
  }
  { auto s = f.spool(); }  // destroyed without commit
  EXPECT_TRUE(f.store.list().empty());
  EXPECT_EQ(f.files("queue/tmp"), 0u);
}

}  // namespace
}  // namespace tern
