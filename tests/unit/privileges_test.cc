// The decisions of server/privileges.h and server/file_access.h, without
// being root: who to run as, who may touch a file, and what the messages say.
#include "server/privileges.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <thread>

#include "server/file_access.h"

namespace tern {
namespace {

const Account kRoot{"root", 0, 0};
const Account kAlice{"alice", 1000, 1000};

// A password database of root, alice, tern and toor (a second uid 0).
std::optional<Account> Lookup(std::string_view name) {
  static const std::map<std::string, Account, std::less<>> db = {
      {"root", kRoot},
      {"alice", kAlice},
      {"tern", {"tern", 998, 997}},
      {"toor", {"toor", 0, 0}},
  };
  auto it = db.find(name);
  if (it == db.end()) return std::nullopt;
  return it->second;
}

std::optional<RunAsPlan> Plan(std::string_view run_as, const Account& self, std::string* error,
                              bool embedded = false) {
  return plan_run_as(run_as, embedded, self, Lookup, error);
}

TEST(PlanRunAsTest, RootWithoutRunAsSwitchesToTern) {
  std::string error;
  auto plan = Plan("", kRoot, &error);
  ASSERT_TRUE(plan) << error;
  EXPECT_TRUE(plan->change);
  EXPECT_EQ(plan->account.name, "tern");
  EXPECT_EQ(plan->account.uid, 998u);
  EXPECT_EQ(plan->account.gid, 997u);
}

TEST(PlanRunAsTest, RootSwitchesToTheNamedUser) {
  std::string error;
  auto plan = Plan("alice", kRoot, &error);
  ASSERT_TRUE(plan) << error;
  EXPECT_TRUE(plan->change);
  EXPECT_EQ(plan->account.uid, 1000u);
}

TEST(PlanRunAsTest, RootStaysRootOnlyWhenTheConfigSaysSo) {
  std::string error;
  auto plan = Plan("root", kRoot, &error);
  ASSERT_TRUE(plan) << error;
  EXPECT_FALSE(plan->change);
  EXPECT_EQ(plan->account.uid, 0u);
  EXPECT_NE(plan->warning.find("run_as = \"root\""), std::string::npos);
}

TEST(PlanRunAsTest, AnotherNameForUidZeroIsNotAnOptIn) {
  std::string error;
  EXPECT_FALSE(Plan("toor", kRoot, &error));
  EXPECT_NE(error.find("uid 0"), std::string::npos) << error;
}

TEST(PlanRunAsTest, EmbeddedDefaultStaysAsStartedWithAWarning) {
  std::string error;
  auto plan = Plan("", kRoot, &error, /*embedded=*/true);
  ASSERT_TRUE(plan) << error;
  EXPECT_FALSE(plan->change);
  EXPECT_NE(plan->warning.find("embedded default"), std::string::npos);
  // A run_as in the embedded case still wins (it cannot have one, but the
  // rule does not depend on that).
  plan = Plan("tern", kRoot, &error, true);
  ASSERT_TRUE(plan);
  EXPECT_TRUE(plan->change);
}

TEST(PlanRunAsTest, MissingUserNamesTheFix) {
  std::string error;
  EXPECT_FALSE(Plan("mailer", kRoot, &error));
  EXPECT_NE(error.find("'mailer' does not exist"), std::string::npos) << error;
  EXPECT_NE(error.find("useradd --system"), std::string::npos) << error;
  EXPECT_NE(error.find("set run_as"), std::string::npos) << error;
}

TEST(PlanRunAsTest, OrdinaryUserRunsAsItself) {
  std::string error;
  for (const char* run_as : {"", "alice"}) {
    auto plan = Plan(run_as, kAlice, &error);
    ASSERT_TRUE(plan) << run_as << ": " << error;
    EXPECT_FALSE(plan->change);
    EXPECT_EQ(plan->account.name, "alice");
    EXPECT_TRUE(plan->warning.empty());
  }
}

TEST(PlanRunAsTest, OrdinaryUserCannotSwitch) {
  for (const char* run_as : {"tern", "root", "nosuchuser"}) {
    std::string error;
    EXPECT_FALSE(Plan(run_as, kAlice, &error)) << run_as;
    EXPECT_NE(error.find("only root can switch"), std::string::npos) << error;
    EXPECT_NE(error.find("alice"), std::string::npos) << error;
  }
}

FileFacts Facts(uid_t uid, gid_t gid, mode_t mode) {
  return FileFacts{uid, gid, mode, uid == 0 ? "root" : "tern", gid == 0 ? "root" : "tern"};
}

const Principal kTern{"tern", 998, 997, {997, 110}};  // 110: e.g. ssl-cert

TEST(PermitsTest, OwnerGroupAndOthersClasses) {
  // Owner class only, even when group/others would allow more.
  EXPECT_TRUE(permits(Facts(998, 0, 0600), kTern, kRead | kWrite));
  EXPECT_FALSE(permits(Facts(998, 997, 0077), kTern, kRead));
  // Group class: primary or supplementary group.
  EXPECT_TRUE(permits(Facts(0, 997, 0640), kTern, kRead));
  EXPECT_FALSE(permits(Facts(0, 997, 0640), kTern, kWrite));
  EXPECT_TRUE(permits(Facts(0, 110, 0640), kTern, kRead));
  // Others.
  EXPECT_FALSE(permits(Facts(0, 0, 0600), kTern, kRead));
  EXPECT_TRUE(permits(Facts(0, 0, 0755), kTern, kRead | kSearch));
  EXPECT_FALSE(permits(Facts(0, 0, 0755), kTern, kRead | kWrite | kSearch));
  // Root may do anything.
  EXPECT_TRUE(permits(Facts(998, 997, 0000), Principal{"root", 0, 0, {}}, kRead | kWrite));
}

TEST(ExplainTest, NamesFileUserOwnerModeAndFix) {
  Config config;
  config.data_dir = "/var/lib/tern";
  const std::string msg = explain_denied("data dir", "/var/lib/tern", Facts(0, 0, 040755), kTern,
                                         kRead | kWrite | kSearch, data_dir_fix(config, "tern"));
  EXPECT_EQ(msg,
            "data dir /var/lib/tern: user tern cannot write in it (owner root:root, mode 0755); "
            "fix: chown -R tern: /var/lib/tern");
}

TEST(KeyModeTest, GroupOrWorldWritableKeysAreRefused) {
  EXPECT_EQ(key_mode_problem("TLS private key", "/k.pem", 0100600), "");
  EXPECT_EQ(key_mode_problem("TLS private key", "/k.pem", 0100640), "");
  EXPECT_EQ(key_mode_problem("TLS private key", "/k.pem", 0100644), "");  // readable: allowed
  EXPECT_EQ(key_mode_problem("SRS key", "/d/srs.key", 0100660),
            "SRS key /d/srs.key is group-writable (mode 0660): tern refuses a key that others "
            "could replace; fix: chmod go-w /d/srs.key");
  EXPECT_NE(key_mode_problem("k", "/k", 0100602).find("world-writable (mode 0602)"),
            std::string::npos);
  EXPECT_NE(key_mode_problem("k", "/k", 0100666).find("group- and world-writable"),
            std::string::npos);
}

// Every thread of this (multi-threaded) test process has our ids; a
// different uid is reported with the thread's id.
TEST(VerifyThreadsTest, ReadsEveryThreadOfTheProcess) {
  std::promise<void> done;  // keeps a second thread alive while we look
  std::thread other([f = done.get_future()] { f.wait(); });
  const Account me{"me", ::geteuid(), ::getegid()};
  EXPECT_TRUE(verify_threads(me).ok()) << verify_threads(me).message();
  const Account someone{"someone", ::geteuid() + 1, ::getegid()};
  const Status s = verify_threads(someone);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("still has uid"), std::string::npos) << s.message();
  done.set_value();
  other.join();
}

// check_files on real files. Mode bits of keys matter to root too, so
// these hold whoever runs the tests.
class CheckFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-check-files-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.data_dir = dir_ + "/data";
    ASSERT_EQ(::mkdir(config_.data_dir.c_str(), 0700), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& path, mode_t mode) {
    std::ofstream(path) << "secret\n";
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

  std::string dir_;
  Config config_;
};

TEST_F(CheckFilesTest, AllowsPrivateKeysAndReadableFiles) {
  Write(config_.data_dir + "/srs.key", 0600);
  Write(config_.data_dir + "/aliases", 0644);
  ASSERT_EQ(::mkdir((config_.data_dir + "/dkim").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((config_.data_dir + "/dkim/example.org").c_str(), 0700), 0);
  Write(config_.data_dir + "/dkim/example.org/s1.key", 0640);
  config_.tls_certificate = Write(dir_ + "/cert.pem", 0644);
  config_.tls_private_key = Write(dir_ + "/key.pem", 0640);
  const Status s = check_files(config_, Write(dir_ + "/tern.toml", 0644));
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST_F(CheckFilesTest, RefusesGroupOrWorldWritableKeysNamingTheFix) {
  config_.tls_certificate = Write(dir_ + "/cert.pem", 0644);
  config_.tls_private_key = Write(dir_ + "/key.pem", 0660);
  Status s = check_files(config_, "");
  EXPECT_EQ(s.message(), "TLS private key " + dir_ +
                             "/key.pem is group-writable (mode 0660): tern refuses a key that "
                             "others could replace; fix: chmod go-w " +
                             dir_ + "/key.pem");
  ::chmod(config_.tls_private_key.c_str(), 0600);
  EXPECT_TRUE(check_files(config_, "").ok());

  const std::string srs = Write(config_.data_dir + "/srs.key", 0602);
  s = check_files(config_, "");
  EXPECT_NE(s.message().find("SRS key " + srs + " is world-writable"), std::string::npos)
      << s.message();
  ::chmod(srs.c_str(), 0600);

  ASSERT_EQ(::mkdir((config_.data_dir + "/dkim").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((config_.data_dir + "/dkim/example.org").c_str(), 0700), 0);
  const std::string dkim = Write(config_.data_dir + "/dkim/example.org/s1.key", 0620);
  s = check_files(config_, "");
  EXPECT_NE(s.message().find("DKIM private key " + dkim + " is group-writable"), std::string::npos)
      << s.message();
}

TEST_F(CheckFilesTest, GeneratedTlsKeyIsCheckedToo) {
  ASSERT_EQ(::mkdir((config_.data_dir + "/tls").c_str(), 0700), 0);
  Write(config_.data_dir + "/tls/cert.pem", 0644);
  const std::string key = Write(config_.data_dir + "/tls/key.pem", 0666);
  const Status s = check_files(config_, "");
  EXPECT_NE(s.message().find("TLS private key " + key + " is group- and world-writable"),
            std::string::npos)
      << s.message();
}

TEST_F(CheckFilesTest, MissingFilesAreNamed) {
  config_.tls_certificate = dir_ + "/nope.pem";
  config_.tls_private_key = dir_ + "/nope.key";
  EXPECT_EQ(check_files(config_, "").message(),
            "TLS certificate " + dir_ + "/nope.pem does not exist");
  EXPECT_EQ(check_files(config_, dir_ + "/missing.toml").message(),
            "config file " + dir_ + "/missing.toml does not exist");
  // A data dir not made yet is the server's to make.
  config_.tls_certificate.clear();
  config_.data_dir = dir_ + "/not-yet";
  EXPECT_TRUE(check_files(config_, "").ok());
}

}  // namespace
}  // namespace tern
