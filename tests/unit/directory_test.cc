// The Directory's relay policy (src/server/directory.h) over a real data
// dir: who may use which sender, which recipients are relayed, and SRS on
// both sides (the forwarded sender, the bounce coming back).
#include "server/directory.h"

#include <gtest/gtest.h>

#include <fstream>

#include "testlib.h"

namespace tern {
namespace {

constexpr int64_t kNow = 1700000000;
constexpr int64_t kDay = 86400;

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.data_dir = dir_.path();
    config_.hostname = "mx.example.test";
    config_.domains = {"example.test", "fwd.example.test"};
    config_.relay.srs_domain = "fwd.example.test";
    UserDb users(dir_.path() + "/users");
    ASSERT_TRUE(users.add("alice@example.test", "pw").ok());
    std::ofstream(dir_.path() + "/aliases") << "team@example.test: alice@example.test, "
                                               "bob@example.test\n"
                                               "all@example.test: team@example.test\n"
                                               "*@example.test: alice@example.test\n"
                                               "fan@example.test: friend@remote.example\n";
    reload();
  }
  void reload() {
    dir = std::make_unique<Directory>(std::make_shared<const Config>(config_));
    Status s = dir->load();
    ASSERT_TRUE(s.ok()) << s.message();
  }
  SenderVerdict sender(const std::string& from, const std::string& user = "alice@example.test") {
    size_t at = from.rfind('@');
    Address a =
        at == std::string::npos ? Address{} : Address{from.substr(0, at), from.substr(at + 1)};
    return dir->check_sender(a, user);
  }

  testlib::TempDir dir_{"tern-directory"};
  Config config_;
  std::unique_ptr<Directory> dir;
};

TEST_F(DirectoryTest, SenderMustBeOwnedByTheUser) {
  EXPECT_EQ(sender("alice@example.test"), SenderVerdict::kOk);
  EXPECT_EQ(sender("Alice+lists@EXAMPLE.test"), SenderVerdict::kOk);  // +tag, case
  EXPECT_EQ(sender("alice@example.test", "ALICE@Example.Test"), SenderVerdict::kOk);
  EXPECT_EQ(sender("team@example.test"), SenderVerdict::kOk);  // an alias reaching her
  EXPECT_EQ(sender("team+x@example.test"), SenderVerdict::kOk);
  EXPECT_EQ(sender("all@example.test"), SenderVerdict::kOk);  // through two aliases
  EXPECT_EQ(sender(""), SenderVerdict::kOk);                  // <>
  EXPECT_EQ(sender("bob@example.test"), SenderVerdict::kNotOwned);
  EXPECT_EQ(sender("fan@example.test"), SenderVerdict::kNotOwned);
  // The catch-all points to alice, but does not make every address hers.
  EXPECT_EQ(sender("anyone@example.test"), SenderVerdict::kNotOwned);
  EXPECT_EQ(sender("alice@elsewhere.example"), SenderVerdict::kNotOwned);
  EXPECT_EQ(sender("team@example.test", "bob@example.test"), SenderVerdict::kOk);
  EXPECT_EQ(sender("alice@example.test", "bob@example.test"), SenderVerdict::kNotOwned);

  config_.relay.sender_check = false;
  reload();
  EXPECT_EQ(sender("bob@example.test"), SenderVerdict::kOk);
  EXPECT_EQ(sender("anyone@elsewhere.example"), SenderVerdict::kOk);
}

TEST_F(DirectoryTest, OwnAddressStaysOwnedWhenItForwardsAway) {
  std::ofstream(dir_.path() + "/aliases")
      << "alice@example.test: alice@elsewhere.example\n"
         "team@example.test: alice@example.test, bob@example.test\n";
  reload();
  EXPECT_EQ(sender("alice@example.test"), SenderVerdict::kOk);
  EXPECT_EQ(sender("alice+x@example.test"), SenderVerdict::kOk);
  // team reaches alice only through her forward: not hers (documented).
  EXPECT_EQ(sender("team@example.test"), SenderVerdict::kNotOwned);
  EXPECT_EQ(sender("alice@elsewhere.example"), SenderVerdict::kNotOwned);
}

TEST_F(DirectoryTest, RelayOnlyForAuthenticatedClients) {
  EXPECT_EQ(dir->check_rcpt({"x", "remote.example"}, "", kNow).verdict, RcptVerdict::kRelayDenied);
  EXPECT_EQ(dir->check_rcpt({"x", "remote.example"}, "alice@example.test", kNow).verdict,
            RcptVerdict::kRelay);
  EXPECT_EQ(dir->check_rcpt({"alice", "Example.TEST"}, "", kNow).verdict, RcptVerdict::kLocal);
  EXPECT_EQ(dir->check_rcpt({"postmaster", "fwd.example.test"}, "", kNow).verdict,
            RcptVerdict::kLocal);
  EXPECT_EQ(dir->check_rcpt({"Postmaster", ""}, "", kNow).verdict, RcptVerdict::kLocal);
  EXPECT_EQ(dir->check_rcpt({"nobody", "fwd.example.test"}, "", kNow).verdict,
            RcptVerdict::kUnknownUser);
  // A look-alike of an SRS address in a domain other than srs_domain is
  // an ordinary recipient: not ours to decode, and not relayed.
  Address srs = dir->forward_sender({"carol", "remote.example"}, kNow);
  EXPECT_EQ(dir->check_rcpt({srs.local, "remote.example"}, "", kNow).verdict,
            RcptVerdict::kRelayDenied);
}

TEST_F(DirectoryTest, QuotedLocalPartsAreComparedUnquoted) {
  // RFC 5321 4.1.2: "\"alice\"" is alice (the parser drops such quotes too;
  // the Directory does not depend on it).
  EXPECT_EQ(dir->check_rcpt({"\"alice\"", "fwd.example.test"}, "", kNow).verdict,
            RcptVerdict::kUnknownUser);
  EXPECT_EQ(dir->check_rcpt({"\"Alice+x\"", "example.test"}, "", kNow).verdict,
            RcptVerdict::kLocal);
  EXPECT_TRUE(dir->is_mailbox("\"alice\"@example.test"));
  EXPECT_TRUE(dir->mailbox_exists({R"("\a\l\i\c\e")", "example.test"}));
  EXPECT_EQ(dir->check_rcpt({"\"Postmaster\"", "fwd.example.test"}, "", kNow).verdict,
            RcptVerdict::kLocal);
}

TEST_F(DirectoryTest, LocalPartThatCanNeverBeAMailboxIsRefused) {
  // Refused at RCPT (550 5.1.3), before any alias or catch-all: accepting
  // it would end in a bounce, to a sender that may be forged.
  for (const std::string& local : std::vector<std::string>{
           "\"../../../tmp/pwn\"", "\"a/b\"", "a/b", "\"..\"", "\".\"", "\".hidden\"", "\"a..b\"",
           "\"a.\"", "\"\"", "\"user@remote.example\"", "+tag", std::string(65, 'a')}) {
    EXPECT_EQ(dir->check_rcpt({local, "example.test"}, "", kNow).verdict, RcptVerdict::kBadMailbox)
        << local;
  }
  config_.accept_any_local_part = true;
  reload();
  EXPECT_EQ(dir->check_rcpt({"\"a/b\"", "fwd.example.test"}, "", kNow).verdict,
            RcptVerdict::kBadMailbox);
  EXPECT_EQ(dir->check_rcpt({"\"a b\"", "fwd.example.test"}, "", kNow).verdict,
            RcptVerdict::kLocal);
  // Elsewhere the local part is the other host's business: relayed or not
  // by the usual rule.
  EXPECT_EQ(dir->check_rcpt({"\"a/b\"", "remote.example"}, "alice@example.test", kNow).verdict,
            RcptVerdict::kRelay);
}

TEST_F(DirectoryTest, ForwardedSenderIsSrsAndItsBounceGoesBack) {
  Address srs = dir->forward_sender({"carol", "Remote.Example"}, kNow);
  EXPECT_EQ(srs.domain, "fwd.example.test");
  EXPECT_EQ(srs.local.rfind("SRS0=", 0), 0u) << srs.local;
  EXPECT_NE(srs.local.find("=Remote.Example=carol"), std::string::npos) << srs.local;

  RcptCheck c = dir->check_rcpt(srs, "", kNow + 2 * kDay);  // from anyone: a bounce
  EXPECT_EQ(c.verdict, RcptVerdict::kRelay);
  ASSERT_TRUE(c.rewrite);
  EXPECT_EQ(c.rewrite->str(), "carol@Remote.Example");
  // The domain of an SRS address is matched without regard to case.
  c = dir->check_rcpt({srs.local, "FWD.example.test"}, "", kNow);
  EXPECT_EQ(c.verdict, RcptVerdict::kRelay);

  Address forged = srs;
  forged.local.replace(forged.local.size() - 5, 5, "mallo");  // "carol" -> "mallo"
  c = dir->check_rcpt(forged, "", kNow);
  EXPECT_EQ(c.verdict, RcptVerdict::kUnknownUser);
  EXPECT_EQ(c.reason, "invalid SRS signature");
  EXPECT_FALSE(c.rewrite);
  c = dir->check_rcpt(srs, "", kNow + 22 * kDay);
  EXPECT_EQ(c.verdict, RcptVerdict::kUnknownUser);
  EXPECT_EQ(c.reason, "SRS address expired");
  c = dir->check_rcpt({"SRS0=nonsense", "fwd.example.test"}, "", kNow);
  EXPECT_EQ(c.reason, "malformed SRS address");

  // A DSN about the forwarded copy goes to the original sender; to anyone
  // else, or to a forged SRS address, as addressed.
  EXPECT_EQ(dir->bounce_recipient(srs, kNow).str(), "carol@Remote.Example");
  EXPECT_EQ(dir->bounce_recipient(forged, kNow), forged);
  EXPECT_EQ(dir->bounce_recipient({"carol", "remote.example"}, kNow).str(), "carol@remote.example");
  EXPECT_EQ(dir->bounce_recipient({srs.local, "remote.example"}, kNow).domain, "remote.example");

  // Our own senders, <> and SRS addresses of ours stay as they are.
  EXPECT_EQ(dir->forward_sender({"alice", "example.test"}, kNow).str(), "alice@example.test");
  EXPECT_TRUE(dir->forward_sender(Address{}, kNow).is_null());
  EXPECT_EQ(dir->forward_sender(srs, kNow), srs);

  // The key is kept in the data dir: a restart signs and checks alike.
  reload();
  EXPECT_EQ(dir->forward_sender({"carol", "Remote.Example"}, kNow), srs);
  EXPECT_TRUE(dir->check_rcpt(srs, "", kNow).rewrite);

  config_.relay.srs = false;
  reload();
  EXPECT_EQ(dir->forward_sender({"carol", "Remote.Example"}, kNow).str(), "carol@Remote.Example");
  // Bounces of mail forwarded before still find their way.
  EXPECT_EQ(dir->check_rcpt(srs, "", kNow).verdict, RcptVerdict::kRelay);
}

TEST_F(DirectoryTest, SrsBackToALocalAddressIsLookedUp) {
  Srs srs(testlib::slurp(dir_.path() + "/srs.key"));
  RcptCheck c =
      dir->check_rcpt(srs.forward({"alice", "example.test"}, "fwd.example.test", kNow), "", kNow);
  EXPECT_EQ(c.verdict, RcptVerdict::kLocal);
  ASSERT_TRUE(c.rewrite);
  EXPECT_EQ(c.rewrite->str(), "alice@example.test");
  config_.domains = {"fwd.example.test", "other.test"};  // no catch-all there
  reload();
  c = dir->check_rcpt(srs.forward({"nobody", "other.test"}, "fwd.example.test", kNow), "", kNow);
  EXPECT_EQ(c.verdict, RcptVerdict::kUnknownUser);
}

}  // namespace
}  // namespace tern
