// Local delivery end to end: FsQueueStore -> aliases -> Maildirs
// (src/delivery/local.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "delivery/local.h"
#include "queue/fs_store.h"

namespace tern {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kContent = "Subject: hi\r\n\r\nhello\r\n";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class LocalDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-local-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    store_ = std::make_unique<FsQueueStore>(root_ + "/queue");
    ASSERT_TRUE(store_->open().ok());
    ASSERT_TRUE(aliases_
                    .parse("team@example.com: alice@example.com, Bob@Example.com\n"
                           "mixed@example.com: carol@example.com, dave@remote.net\n",
                           "aliases")
                    .ok());
    env_.mail_root = root_ + "/mail";
    env_.is_local_domain = [](std::string_view d) {
      std::string lower(d);
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      return lower == "example.com" || lower == "example.org";
    };
    env_.aliases = &aliases_;
    env_.postmaster_domain = "example.com";
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }

  // Queues a message from sender@src.net (or `from`) to `rcpts`.
  std::string queue(const std::vector<Address>& rcpts, Address from = {"sender", "src.net"}) {
    Envelope e;
    e.id = new_queue_id();
    e.mail.from = from;
    for (const Address& a : rcpts) e.rcpts.push_back(RcptArgs{a, kNotifyNone, ""});
    e.received_at = 1700000000;
    std::unique_ptr<SpoolWriter> w;
    EXPECT_TRUE(store_->begin(e, &w).ok());
    EXPECT_TRUE(w->write(kContent).ok());
    EXPECT_TRUE(w->commit().ok());
    return e.id;
  }

  // The messages in new/ of a local mailbox, in no particular order.
  std::vector<std::string> mailbox(const std::string& domain, const std::string& user) {
    std::vector<std::string> out;
    std::string dir = root_ + "/mail/" + domain + "/" + user + "/new";
    if (!fs::exists(dir)) return out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(slurp(e.path().string()));
    return out;
  }

  std::vector<bool> done(const std::string& id) {
    QueuedMessage m;
    EXPECT_TRUE(store_->load(id, &m).ok());
    return m.done;
  }

  std::string root_;
  std::unique_ptr<FsQueueStore> store_;
  Aliases aliases_;
  LocalDeliveryEnv env_;
};

TEST_F(LocalDeliveryTest, SeveralRecipientsAnAliasAndARemoteOne) {
  std::string id = queue({{"alice", "example.com"},
                          {"team", "example.com"},
                          {"Carol", "Example.ORG"},
                          {"x", "remote.net"}});
  LocalDeliveryResult r = deliver_local(*store_, id, env_);
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.delivered, 3u);  // alice once, though direct and through team
  EXPECT_EQ(r.pending_remote, 1u);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_FALSE(r.removed);
  EXPECT_EQ(done(id), (std::vector<bool>{true, true, true, false}));

  EXPECT_EQ(mailbox("example.com", "alice"),
            std::vector<std::string>{"Return-Path: <sender@src.net>\r\n"
                                     "Delivered-To: alice@example.com\r\n" +
                                     std::string(kContent)});
  EXPECT_EQ(mailbox("example.com", "bob"),
            std::vector<std::string>{"Return-Path: <sender@src.net>\r\n"
                                     "Delivered-To: Bob@Example.com\r\n" +
                                     std::string(kContent)});
  EXPECT_EQ(mailbox("example.org", "carol"),
            std::vector<std::string>{"Return-Path: <sender@src.net>\r\n"
                                     "Delivered-To: Carol@Example.ORG\r\n" +
                                     std::string(kContent)});
  EXPECT_FALSE(fs::exists(root_ + "/mail/remote.net"));
}

TEST_F(LocalDeliveryTest, RemovedOnlyWhenEveryRecipientIsDone) {
  std::string id = queue({{"alice", "example.com"}, {"bob", "example.org"}});
  LocalDeliveryResult r = deliver_local(*store_, id, env_);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.delivered, 2u);
  EXPECT_TRUE(r.removed);
  EXPECT_TRUE(store_->list().empty());
  EXPECT_TRUE(fs::is_empty(root_ + "/queue/msg"));
}

TEST_F(LocalDeliveryTest, RemoteAliasTargetLeavesTheRecipientPending) {
  std::string id = queue({{"mixed", "example.com"}, {"alice", "example.com"}});
  LocalDeliveryResult r = deliver_local(*store_, id, env_);
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.pending_remote, 1u);
  EXPECT_EQ(r.delivered, 1u);
  EXPECT_FALSE(r.removed);
  EXPECT_EQ(done(id), (std::vector<bool>{false, true}));
  EXPECT_EQ(store_->list(), std::vector<std::string>{id});
  // carol waits with the recipient: a copy now would be repeated every run.
  EXPECT_TRUE(mailbox("example.com", "carol").empty());
  r = deliver_local(*store_, id, env_);
  EXPECT_EQ(r.delivered, 0u);
  EXPECT_EQ(mailbox("example.com", "alice").size(), 1u);
}

TEST_F(LocalDeliveryTest, RerunAfterPartialDeliveryDoesNotRedeliver) {
  // bob's maildir cannot be created while a file is in its way.
  fs::create_directories(root_ + "/mail/example.com");
  std::ofstream(root_ + "/mail/example.com/bob") << "in the way";
  std::string id =
      queue({{"alice", "example.com"}, {"bob", "example.com"}, {"zed", "example.org"}});

  LocalDeliveryResult r = deliver_local(*store_, id, env_);
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.kind(), Status::Kind::kTransient);
  EXPECT_EQ(r.delivered, 2u);
  EXPECT_FALSE(r.removed);
  EXPECT_EQ(done(id), (std::vector<bool>{true, false, true}));

  fs::remove(root_ + "/mail/example.com/bob");
  // A restart in between changes nothing.
  store_.reset();
  store_ = std::make_unique<FsQueueStore>(root_ + "/queue");
  ASSERT_TRUE(store_->open().ok());
  r = deliver_local(*store_, id, env_);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.delivered, 1u);
  EXPECT_TRUE(r.removed);
  EXPECT_EQ(mailbox("example.com", "alice").size(), 1u);
  EXPECT_EQ(mailbox("example.com", "bob").size(), 1u);
  EXPECT_EQ(mailbox("example.org", "zed").size(), 1u);
}

TEST_F(LocalDeliveryTest, PostmasterWithoutDomainAndNullSender) {
  std::string id = queue({{"PostMaster", ""}}, Address{});
  LocalDeliveryResult r = deliver_local(*store_, id, env_);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_TRUE(r.removed);
  EXPECT_EQ(mailbox("example.com", "postmaster"),
            std::vector<std::string>{"Return-Path: <>\r\nDelivered-To: postmaster@example.com\r\n" +
                                     std::string(kContent)});
}

TEST_F(LocalDeliveryTest, UnusableMailboxIsAPermanentFailureLeftForBouncing) {
  std::string id = queue({{"..", "example.com"}, {"alice", "example.com"}});
  env_.postmaster_domain.clear();
  LocalDeliveryResult r = deliver_local(*store_, id, env_);
  EXPECT_EQ(r.status.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(r.delivered, 1u);
  EXPECT_FALSE(r.removed);
  EXPECT_EQ(done(id), (std::vector<bool>{false, true}));
  EXPECT_FALSE(fs::exists(root_ + "/mail/new"));  // "example.com/.." is mail/ itself
}

TEST_F(LocalDeliveryTest, WithoutAliasesEveryLocalAddressIsAMailbox) {
  env_.aliases = nullptr;
  std::string id = queue({{"team", "example.com"}});
  LocalDeliveryResult r = deliver_local(*store_, id, env_);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(mailbox("example.com", "team").size(), 1u);
  EXPECT_TRUE(mailbox("example.com", "alice").empty());
}

TEST_F(LocalDeliveryTest, CatchAllTakesUnknownRecipientsButNotMailboxes) {
  ASSERT_TRUE(aliases_.parse("*@example.com: alice@example.com\n", "aliases").ok());
  env_.is_mailbox = [](const std::string& a) { return alias_key(a) == "bob@example.com"; };
  std::string id = queue({{"bob", "example.com"}, {"nobody", "example.com"}});
  LocalDeliveryResult r = deliver_local(*store_, id, env_);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(mailbox("example.com", "bob").size(), 1u);
  EXPECT_EQ(mailbox("example.com", "alice").size(), 1u);
  EXPECT_TRUE(mailbox("example.com", "nobody").empty());
}

TEST_F(LocalDeliveryTest, UnknownMessageIsAnError) {
  LocalDeliveryResult r = deliver_local(*store_, new_queue_id(), env_);
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.delivered, 0u);
}

}  // namespace
}  // namespace tern
