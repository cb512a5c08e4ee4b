// argon2id is slow by design (~50 ms per hash or verify): tests that only
// need users on file write it by hand with fixed hashes.
#include "auth/users.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fs/atomic_file.h"

namespace tern {
namespace {

// Well-formed argon2id strings (not verified by load()). Same length.
constexpr char kHashA[] =
    "$argon2id$v=19$m=65536,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr char kHashB[] =
    "$argon2id$v=19$m=65536,t=2,p=1$BBBBBBBBBBBBBBBBBBBBBB$"
    "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

class UsersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-users-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/users";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteFile(const std::string& text, mode_t mode = 0644) {
    std::ofstream(path_, std::ios::trunc) << text;
    ::chmod(path_.c_str(), mode);
  }
  std::string ReadFile() {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  struct stat Stat() {
    struct stat st {};
    EXPECT_EQ(::stat(path_.c_str(), &st), 0);
    return st;
  }
  // Names in the directory other than "users" (left-over temporary files).
  std::vector<std::string> Leftovers() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      if (e.path().filename() != "users") out.push_back(e.path().filename());
    }
    return out;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(UsersTest, MissingFileIsEmpty) {
  UserDb db(path_);
  ASSERT_TRUE(db.load().ok());
  EXPECT_TRUE(db.list().empty());
  EXPECT_FALSE(db.exists("a@b"));
  EXPECT_FALSE(std::filesystem::exists(path_));  // loading creates nothing
}

TEST_F(UsersTest, AddThenVerify) {
  UserDb db(path_);
  ASSERT_TRUE(db.load().ok());
  Status s = db.add("Alice@Example.ORG", "correct horse");
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(db.exists("alice@example.org"));
  EXPECT_TRUE(db.exists("ALICE@example.org"));
  EXPECT_EQ(db.list(), std::vector<std::string>{"alice@example.org"});

  EXPECT_TRUE(db.verify("alice@EXAMPLE.org", "correct horse"));
  EXPECT_FALSE(db.verify("alice@example.org", "correct horsE"));
  EXPECT_FALSE(db.verify("bob@example.org", "correct horse"));  // unknown: dummy hash

  // A second instance reads what the first wrote.
  UserDb again(path_);
  ASSERT_TRUE(again.load().ok());
  EXPECT_TRUE(again.exists("alice@example.org"));
  const std::string text = ReadFile();
  EXPECT_NE(text.find("\nalice@example.org $argon2id$v=19$m=65536,t=2,p=1$"), std::string::npos)
      << text;
}

TEST_F(UsersTest, VerifyCacheRemembersSuccessesOnly) {
  int64_t now = 1000;
  UserDb db(path_);
  ASSERT_TRUE(db.load().ok());
  ASSERT_TRUE(db.add("alice@example.org", "correct horse").ok());
  ASSERT_TRUE(db.add("bob@example.org", "battery staple").ok());
  EXPECT_TRUE(db.verify("alice@example.org", "correct horse"));
  EXPECT_TRUE(db.verify("alice@example.org", "correct horse"));
  EXPECT_EQ(db.slow_verifications(), 2u);  // off by default: argon2 each time

  db.set_verify_cache(3600, [&now] { return now; });
  EXPECT_TRUE(db.verify("alice@example.org", "correct horse"));
  EXPECT_EQ(db.slow_verifications(), 3u);
  EXPECT_TRUE(db.verify("ALICE@example.org", "correct horse"));  // remembered
  EXPECT_EQ(db.slow_verifications(), 3u);
  EXPECT_FALSE(db.verify("alice@example.org", "correct horsE"));  // a wrong one is checked
  EXPECT_FALSE(db.verify("alice@example.org", "correct horsE"));  // ... every time
  EXPECT_FALSE(db.verify("bob@example.org", "correct horse"));    // another user's password
  EXPECT_FALSE(db.verify("carol@example.org", "correct horse"));  // unknown
  EXPECT_EQ(db.slow_verifications(), 7u);
  EXPECT_TRUE(db.verify("alice@example.org", "correct horse"));  // still remembered
  EXPECT_EQ(db.slow_verifications(), 7u);

  now += 3600;  // expired
  EXPECT_TRUE(db.verify("alice@example.org", "correct horse"));
  EXPECT_EQ(db.slow_verifications(), 8u);

  // A new password: the old one fails at once, the new one works.
  ASSERT_TRUE(db.set_password("alice@example.org", "new horse").ok());
  EXPECT_FALSE(db.verify("alice@example.org", "correct horse"));
  EXPECT_TRUE(db.verify("alice@example.org", "new horse"));
  EXPECT_TRUE(db.verify("alice@example.org", "new horse"));
  EXPECT_EQ(db.slow_verifications(), 10u);
  // A removed user is refused although remembered.
  ASSERT_TRUE(db.remove("alice@example.org").ok());
  EXPECT_FALSE(db.verify("alice@example.org", "new horse"));
  // The same change made by another process (`tern user passwd`) and
  // picked up by reload_if_changed.
  EXPECT_TRUE(db.verify("bob@example.org", "battery staple"));
  {
    UserDb other(path_);
    ASSERT_TRUE(other.load().ok());
    ASSERT_TRUE(other.set_password("bob@example.org", "other staple").ok());
  }
  ASSERT_TRUE(db.load().ok());
  EXPECT_FALSE(db.verify("bob@example.org", "battery staple"));
  EXPECT_TRUE(db.verify("bob@example.org", "other staple"));
}

TEST_F(UsersTest, FileIsReplacedAtomicallyWithMode0600) {
  WriteFile(std::string("a@example.org ") + kHashA + "\nb@example.org " + kHashB + "\n", 0644);
  const ino_t before = Stat().st_ino;
  UserDb db(path_);
  ASSERT_TRUE(db.load().ok());
  ASSERT_TRUE(db.remove("b@example.org").ok());
  const struct stat st = Stat();
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_NE(st.st_ino, before);  // a new file renamed over the old one
  EXPECT_TRUE(Leftovers().empty());
  const std::string text = ReadFile();
  EXPECT_NE(text.find(std::string("a@example.org ") + kHashA + "\n"), std::string::npos);
  EXPECT_EQ(text.find("b@example.org"), std::string::npos);
}

TEST_F(UsersTest, AddRefusesDuplicatesAndBadInput) {
  WriteFile(std::string("a@example.org ") + kHashA + "\n");
  UserDb db(path_);
  ASSERT_TRUE(db.load().ok());
  const std::string before = ReadFile();

  Status dup = db.add("A@EXAMPLE.ORG", "pw");
  EXPECT_EQ(dup.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(dup.message(), "user a@example.org already exists");

  for (const char* bad : {"", "no-at", "a@b@c", "@example.org", "a@", "a b@example.org",
                          "a\t@example.org", "a@exam\x01ple.org", "a@example.org\n"}) {
    Status s = db.add(bad, "pw");
    EXPECT_EQ(s.kind(), Status::Kind::kPermanent) << bad;
    EXPECT_NE(s.message().find("invalid address"), std::string::npos) << s.message();
  }
  Status empty = db.add("new@example.org", "");
  EXPECT_EQ(empty.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(empty.message(), "the password is empty");
  EXPECT_FALSE(db.exists("new@example.org"));
  EXPECT_EQ(ReadFile(), before);  // nothing was written
}

TEST_F(UsersTest, SetPasswordReplacesTheHash) {
  UserDb db(path_);
  ASSERT_TRUE(db.load().ok());
  ASSERT_TRUE(db.add("u@example.org", "old").ok());
  ASSERT_TRUE(db.set_password("U@example.org", "new").ok());
  EXPECT_TRUE(db.verify("u@example.org", "new"));
  EXPECT_FALSE(db.verify("u@example.org", "old"));

  Status absent = db.set_password("nobody@example.org", "x");
  EXPECT_EQ(absent.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(absent.message(), "no such user: nobody@example.org");
}

TEST_F(UsersTest, RemoveAndList) {
  WriteFile(std::string("c@example.org ") + kHashA + "\nA@example.org " + kHashB +
            "\nb@example.org " + kHashA + "\n");
  UserDb db(path_);
  ASSERT_TRUE(db.load().ok());
  EXPECT_EQ(db.list(),
            (std::vector<std::string>{"a@example.org", "b@example.org", "c@example.org"}));
  ASSERT_TRUE(db.remove("B@Example.org").ok());
  EXPECT_EQ(db.list(), (std::vector<std::string>{"a@example.org", "c@example.org"}));
  Status absent = db.remove("b@example.org");
  EXPECT_EQ(absent.kind(), Status::Kind::kPermanent);
  EXPECT_EQ(absent.message(), "no such user: b@example.org");

  UserDb again(path_);
  ASSERT_TRUE(again.load().ok());
  EXPECT_EQ(again.list(), (std::vector<std::string>{"a@example.org", "c@example.org"}));
}

TEST_F(UsersTest, LoadToleratesCommentsBlankLinesAndCrlf) {
  WriteFile(std::string("# users\n\n   \n  # indented comment\r\n") + "x@example.org\t" + kHashA +
            "\r\n  y@example.org   " + kHashB + "  \n");
  UserDb db(path_);
  Status s = db.load();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(db.list(), (std::vector<std::string>{"x@example.org", "y@example.org"}));
}

TEST_F(UsersTest, MalformedLinesAreErrorsNamingTheLine) {
  const std::string good = std::string("ok@example.org ") + kHashA + "\n";
  struct Case {
    std::string line;
    std::string want;  // after "PATH:3: "
  } cases[] = {
      {"lonely@example.org", "expected \"address hash\", found 1 field(s)"},
      {std::string("a@example.org ") + kHashB + " extra",
       "expected \"address hash\", found 3 field(s)"},
      {"a@example.org $2y$10$notargon",
       "the hash for 'a@example.org' is not an argon2id hash ($argon2id$...)"},
      {std::string("no-at-sign ") + kHashB,
       "invalid address 'no-at-sign': must be local-part@domain"},
      {std::string("OK@example.org ") + kHashB, "'ok@example.org' is listed twice"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.line);
    WriteFile("# comment\n" + good + k.line + "\n");
    UserDb db(path_);
    Status s = db.load();
    EXPECT_EQ(s.kind(), Status::Kind::kPermanent);
    EXPECT_EQ(s.message(), path_ + ":3: " + k.want);
  }
}

TEST_F(UsersTest, FailedLoadKeepsThePreviousUsers) {
  WriteFile(std::string("a@example.org ") + kHashA + "\n");
  UserDb db(path_);
  ASSERT_TRUE(db.load().ok());
  WriteFile("garbage\n");
  EXPECT_FALSE(db.load().ok());
  EXPECT_TRUE(db.exists("a@example.org"));
  // Not re-read (and not re-reported) until it changes again.
  EXPECT_TRUE(db.reload_if_changed().ok());
  EXPECT_TRUE(db.exists("a@example.org"));
}

TEST_F(UsersTest, ReloadIfChanged) {
  WriteFile(std::string("a@example.org ") + kHashA + "\n");
  UserDb server(path_);
  ASSERT_TRUE(server.load().ok());
  const struct stat original = Stat();

  // Unchanged (same inode, size and mtime): not re-read. Prove it by
  // rewriting the content in place and restoring the mtime.
  {
    std::fstream f(path_, std::ios::in | std::ios::out);
    f << "b";  // "b@example.org ...", same size
  }
  const struct timespec times[2] = {original.st_atim, original.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path_.c_str(), times, 0), 0);
  ASSERT_TRUE(server.reload_if_changed().ok());
  EXPECT_TRUE(server.exists("a@example.org"));
  EXPECT_FALSE(server.exists("b@example.org"));

  // Replaced by another writer with the same size (a password change) within
  // the same timestamp tick: only the inode differs, and it is re-read.
  ASSERT_TRUE(write_file_atomic(path_, std::string("c@example.org ") + kHashB + "\n", 0600).ok());
  ASSERT_EQ(::utimensat(AT_FDCWD, path_.c_str(), times, 0), 0);
  ASSERT_TRUE(server.reload_if_changed().ok());
  EXPECT_EQ(server.list(), std::vector<std::string>{"c@example.org"});

  // Deleted: empty.
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  ASSERT_TRUE(server.reload_if_changed().ok());
  EXPECT_TRUE(server.list().empty());
}

TEST_F(UsersTest, WriteFailureLeavesStateUnchanged) {
  WriteFile(std::string("a@example.org ") + kHashA + "\n");
  UserDb other(path_);
  ASSERT_TRUE(other.load().ok());
  std::filesystem::remove_all(dir_);  // the directory vanishes under it
  Status s = other.remove("a@example.org");
  EXPECT_EQ(s.kind(), Status::Kind::kTransient);
  EXPECT_NE(s.message().find(path_), std::string::npos) << s.message();
  EXPECT_TRUE(other.exists("a@example.org"));
  std::filesystem::create_directory(dir_);
}

TEST(NormalizeUserAddressTest, LowerCasesAsciiOnly) {
  std::string out;
  ASSERT_TRUE(normalize_user_address("Ünïcode.User@Example.ORG", &out).ok());
  EXPECT_EQ(out, "Ünïcode.user@example.org");
  EXPECT_FALSE(normalize_user_address(std::string(321, 'a') + "@x", &out).ok());
  EXPECT_FALSE(normalize_user_address("a@b\x7f", &out).ok());
}

}  // namespace
}  // namespace tern
