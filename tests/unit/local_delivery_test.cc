// Local delivery: a queued message -> aliases -> Maildirs
// (src/delivery/local.h). The queue bookkeeping around it is the
// scheduler's (scheduler_test.cc).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "delivery/local.h"
#include "queue/fs_store.h"
#include "testlib.h"

namespace tern {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kContent = "Subject: hi\r\n\r\nhello\r\n";

using testlib::slurp;

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

  // Loads `id` and delivers to the recipients `rcpts` (default: all).
  std::vector<LocalRcptResult> deliver(const std::string& id, std::vector<size_t> rcpts = {}) {
    QueuedMessage m;
    EXPECT_TRUE(store_->load(id, &m).ok());
    if (rcpts.empty())
      for (size_t i = 0; i < m.envelope.rcpts.size(); ++i) rcpts.push_back(i);
    return deliver_local(m, rcpts, env_);
  }

  std::string root_;
  std::unique_ptr<FsQueueStore> store_;
  Aliases aliases_;
  LocalDeliveryEnv env_;
};

using Kind = LocalRcptResult::Kind;

std::vector<Kind> kinds(const std::vector<LocalRcptResult>& results) {
  std::vector<Kind> out;
  for (const auto& r : results) out.push_back(r.kind);
  return out;
}

TEST_F(LocalDeliveryTest, SeveralRecipientsAndAnAlias) {
  std::string id =
      queue({{"alice", "example.com"}, {"team", "example.com"}, {"Carol", "Example.ORG"}});
  auto r = deliver(id);
  EXPECT_EQ(kinds(r), (std::vector<Kind>{Kind::kDelivered, Kind::kDelivered, Kind::kDelivered}));
  EXPECT_EQ(r[0].copies, 1u);
  EXPECT_EQ(r[1].copies, 1u);  // alice once, though direct and through team
  EXPECT_EQ(r[2].copies, 1u);

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
  // Nothing is recorded here: that is the scheduler's job.
  QueuedMessage m;
  ASSERT_TRUE(store_->load(id, &m).ok());
  EXPECT_FALSE(m.done(0));
}

TEST_F(LocalDeliveryTest, OnlyTheGivenRecipients) {
  std::string id = queue({{"alice", "example.com"}, {"bob", "example.org"}});
  auto r = deliver(id, {1});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, Kind::kDelivered);
  EXPECT_TRUE(mailbox("example.com", "alice").empty());
  EXPECT_EQ(mailbox("example.org", "bob").size(), 1u);
}

TEST_F(LocalDeliveryTest, RemoteAliasTargetsComeBackToForward) {
  std::string id = queue({{"mixed", "example.com"}, {"alice", "example.com"}});
  auto r = deliver(id);
  EXPECT_EQ(kinds(r), (std::vector<Kind>{Kind::kExpanded, Kind::kDelivered}));
  EXPECT_EQ(r[0].forward_to, std::vector<std::string>{"dave@remote.net"});
  EXPECT_EQ(r[0].copies, 1u);
  EXPECT_TRUE(r[1].forward_to.empty());
  EXPECT_EQ(mailbox("example.com", "carol").size(), 1u);  // the local target has its copy
  EXPECT_FALSE(fs::exists(root_ + "/mail/remote.net"));
}

TEST_F(LocalDeliveryTest, MaildirFailureIsTransientOthersStillGetTheirs) {
  // bob's maildir cannot be created while a file is in its way.
  fs::create_directories(root_ + "/mail/example.com");
  std::ofstream(root_ + "/mail/example.com/bob") << "in the way";
  std::string id =
      queue({{"alice", "example.com"}, {"bob", "example.com"}, {"zed", "example.org"}});
  auto r = deliver(id);
  EXPECT_EQ(kinds(r), (std::vector<Kind>{Kind::kDelivered, Kind::kTransient, Kind::kDelivered}));
  EXPECT_FALSE(r[1].detail.empty());

  fs::remove(root_ + "/mail/example.com/bob");
  r = deliver(id, {1});
  EXPECT_EQ(kinds(r), std::vector<Kind>{Kind::kDelivered});
  EXPECT_EQ(mailbox("example.com", "alice").size(), 1u);
  EXPECT_EQ(mailbox("example.com", "bob").size(), 1u);
  EXPECT_EQ(mailbox("example.org", "zed").size(), 1u);
}

TEST_F(LocalDeliveryTest, PostmasterWithoutDomainAndNullSender) {
  std::string id = queue({{"PostMaster", ""}}, Address{});
  auto r = deliver(id);
  EXPECT_EQ(kinds(r), std::vector<Kind>{Kind::kDelivered});
  EXPECT_EQ(mailbox("example.com", "postmaster"),
            std::vector<std::string>{"Return-Path: <>\r\nDelivered-To: postmaster@example.com\r\n" +
                                     std::string(kContent)});
}

TEST_F(LocalDeliveryTest, UnusableMailboxIsPermanent) {
  std::string id = queue({{"..", "example.com"}, {"alice", "example.com"}, {"Postmaster", ""}});
  env_.postmaster_domain.clear();
  auto r = deliver(id);
  EXPECT_EQ(kinds(r), (std::vector<Kind>{Kind::kPermanent, Kind::kDelivered, Kind::kPermanent}));
  EXPECT_FALSE(fs::exists(root_ + "/mail/new"));  // "example.com/.." is mail/ itself
}

TEST_F(LocalDeliveryTest, QuotedLocalPartsShareTheUnquotedMailbox) {
  // RFC 5321 4.1.2: all quoted forms are one mailbox. (The parser already
  // drops unneeded quotes; a message queued before it did, or a local
  // part that needs them, still finds the unquoted Maildir.)
  env_.aliases = nullptr;
  std::string id =
      queue({{"\"dave\"", "example.com"}, {"Dave+x", "example.com"}, {R"("a\ b")", "example.com"}});
  auto r = deliver(id);
  EXPECT_EQ(kinds(r), (std::vector<Kind>{Kind::kDelivered, Kind::kDelivered, Kind::kDelivered}));
  EXPECT_EQ(mailbox("example.com", "dave").size(), 1u);  // once for both forms
  EXPECT_EQ(mailbox("example.com", "a b").size(), 1u);
  EXPECT_FALSE(fs::exists(root_ + "/mail/example.com/\"dave\""));
}

TEST_F(LocalDeliveryTest, RecipientOutsideTheLocalDomainsIsRefused) {
  std::string id = queue({{"x", "remote.net"}});
  auto r = deliver(id);
  EXPECT_EQ(kinds(r), std::vector<Kind>{Kind::kPermanent});
  EXPECT_FALSE(fs::exists(root_ + "/mail/remote.net"));
}

TEST_F(LocalDeliveryTest, WithoutAliasesEveryLocalAddressIsAMailbox) {
  env_.aliases = nullptr;
  std::string id = queue({{"team", "example.com"}});
  EXPECT_EQ(kinds(deliver(id)), std::vector<Kind>{Kind::kDelivered});
  EXPECT_EQ(mailbox("example.com", "team").size(), 1u);
  EXPECT_TRUE(mailbox("example.com", "alice").empty());
}

TEST_F(LocalDeliveryTest, CatchAllTakesUnknownRecipientsButNotMailboxes) {
  ASSERT_TRUE(aliases_.parse("*@example.com: alice@example.com\n", "aliases").ok());
  env_.is_mailbox = [](const std::string& a) { return alias_key(a) == "bob@example.com"; };
  std::string id = queue({{"bob", "example.com"}, {"nobody", "example.com"}});
  EXPECT_EQ(kinds(deliver(id)), (std::vector<Kind>{Kind::kDelivered, Kind::kDelivered}));
  EXPECT_EQ(mailbox("example.com", "bob").size(), 1u);
  EXPECT_EQ(mailbox("example.com", "alice").size(), 1u);
  EXPECT_TRUE(mailbox("example.com", "nobody").empty());
}

TEST_F(LocalDeliveryTest, LmtpTargetsAreLeftToTheCallerNotWritten) {
  // bob goes to LMTP, alice stays on Maildir; team reaches both.
  env_.lmtp_route = [](const std::string& target) {
    return target == "Bob@Example.com" ? std::string("unix:/run/dovecot/lmtp") : std::string();
  };
  std::string id =
      queue({{"team", "example.com"}, {"Bob", "Example.com"}, {"mixed", "example.com"}});
  auto r = deliver(id);
  EXPECT_EQ(kinds(r), (std::vector<Kind>{Kind::kDelivered, Kind::kDelivered, Kind::kExpanded}));
  ASSERT_EQ(r[0].lmtp.size(), 1u);
  EXPECT_EQ(r[0].lmtp[0].address, "unix:/run/dovecot/lmtp");
  EXPECT_EQ(r[0].lmtp[0].mailbox, "Bob@Example.com");
  EXPECT_EQ(r[0].copies, 1u);  // alice's Maildir
  // Bob directly: the same target, so he shares its result (sent once).
  ASSERT_EQ(r[1].lmtp.size(), 1u);
  EXPECT_EQ(r[1].lmtp[0].mailbox, "Bob@Example.com");
  EXPECT_TRUE(r[2].lmtp.empty());
  EXPECT_EQ(mailbox("example.com", "alice").size(), 1u);
  EXPECT_TRUE(mailbox("example.com", "bob").empty());
}

}  // namespace
}  // namespace tern
