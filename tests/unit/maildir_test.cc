// Maildir paths and delivery (src/delivery/maildir.h).
#include "delivery/maildir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "testlib.h"

namespace tern {
namespace {

namespace fs = std::filesystem;
using testlib::slurp;

class TempDir : public testlib::TempDir {
 public:
  TempDir() : testlib::TempDir("tern-maildir") {}
};

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(MaildirPath, NormalisesDomainLocalAndTag) {
  EXPECT_EQ(maildir_path("/m", "bob@example.com"), "/m/example.com/bob");
  EXPECT_EQ(maildir_path("/m", "Bob.Smith+Lists@Example.COM"), "/m/example.com/bob.smith");
  EXPECT_EQ(maildir_path("/m", "a+b+c@x.org"), "/m/x.org/a");
  // All quoted forms are one mailbox (RFC 5321 4.1.2).
  EXPECT_EQ(maildir_path("/m", "\"Bob\"@x.org"), "/m/x.org/bob");
  EXPECT_EQ(maildir_path("/m", "\"B\\ob+x\"@x.org"), "/m/x.org/bob");
  EXPECT_EQ(maildir_path("/m", "\"a b\"@x.org"), "/m/x.org/a b");
  EXPECT_EQ(maildir_path("/m", "\"a\\ b\"@x.org"), "/m/x.org/a b");
  EXPECT_EQ(maildir_path("/m", "user@[192.0.2.1]"), "/m/[192.0.2.1]/user");
  EXPECT_EQ(maildir_path("/m", "j\xC3\xB6rg@b\xC3\xBC\x63her.example"),
            "/m/b\xC3\xBC\x63her.example/j\xC3\xB6rg");
}

TEST(MaildirPath, RefusesUnsafeNames) {
  for (const std::string& bad : std::vector<std::string>{
           "", "nodomain", "@x.org", "a@", ".@x.org", "..@x.org", "a@.", "a@..", "../../etc@x.org",
           "a/b@x.org", "a@x.org/..", "a@/", "+tag@x.org", "..+tag@x.org", "a\nb@x.org",
           "a@x\r.org", "a\x7f@x.org",
           // Dot-string rules, '@' and the length limit, also when quoted:
           ".hidden@x.org", "..a@x.org", "a.@x.org", "a..b@x.org", "\"../../../tmp/pwn\"@x.org",
           "\"a/b\"@x.org", "\"..\"@x.org", "\".\"@x.org", "\"\"@x.org", "\"a@b\"@x.org",
           "\"user@remote.example\"@x.org", std::string(65, 'a') + "@x.org"}) {
    EXPECT_EQ(maildir_path("/m", bad), "") << bad;
  }
  EXPECT_EQ(maildir_path("/m", std::string("a\0b@x.org", 9)), "");
  EXPECT_EQ(maildir_path("/m", std::string("a@x\0.org", 8)), "");
}

class MaildirTest : public ::testing::Test {
 protected:
  std::string body_file(std::string_view bytes) {
    std::string p = tmp_.path() + "/body";
    write_file(p, bytes);
    return p;
  }
  TempDir tmp_;
};

TEST_F(MaildirTest, CreatesLayoutAndWritesHeaderPlusBodyFromOffset) {
  std::string maildir = tmp_.path() + "/mail/example.com/bob";  // no parent exists yet
  std::string body = body_file("ENVELOPE-HEADER\n\nSubject: hi\r\n\r\nhello\r\n");
  Status s =
      maildir_deliver(maildir, "Return-Path: <a@b>\r\nDelivered-To: bob@example.com\r\n", body, 17);
  ASSERT_TRUE(s.ok()) << s.message();
  for (const char* sub : {"", "/tmp", "/new", "/cur"}) {
    ASSERT_TRUE(fs::is_directory(maildir + sub)) << sub;
    EXPECT_EQ(fs::status(maildir + sub).permissions() & fs::perms::all, fs::perms::owner_all)
        << sub;
  }
  EXPECT_TRUE(names_in(maildir + "/tmp").empty());
  EXPECT_TRUE(names_in(maildir + "/cur").empty());
  std::vector<std::string> files = names_in(maildir + "/new");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(std::regex_match(files[0], std::regex(R"(\d+\.M\d+P\d+Q\d+\.[^/:]+)"))) << files[0];
  EXPECT_EQ(slurp(maildir + "/new/" + files[0]),
            "Return-Path: <a@b>\r\nDelivered-To: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n");
  EXPECT_EQ(fs::status(maildir + "/new/" + files[0]).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(MaildirTest, CopiesLargeBodiesExactly) {
  std::string content;
  for (int i = 0; content.size() < 300000; ++i) content += "line " + std::to_string(i) + "\r\n";
  content += std::string("\0\xff", 2);
  std::string prefix(12345, 'h');
  std::string body = body_file(prefix + content);
  std::string maildir = tmp_.path() + "/md";
  ASSERT_TRUE(maildir_deliver(maildir, "X: y\r\n", body, prefix.size()).ok());
  std::vector<std::string> files = names_in(maildir + "/new");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(slurp(maildir + "/new/" + files[0]), "X: y\r\n" + content);
}

TEST_F(MaildirTest, EachDeliveryIsANewFile) {
  std::string body = body_file("same");
  std::string maildir = tmp_.path() + "/md";
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(maildir_deliver(maildir, "", body, 0).ok());
  EXPECT_EQ(names_in(maildir + "/new").size(), 20u);
  EXPECT_TRUE(names_in(maildir + "/tmp").empty());
}

TEST_F(MaildirTest, MaildirRemovedBetweenDeliveriesIsCreatedAgain) {
  std::string body = body_file("x");
  std::string maildir = tmp_.path() + "/md";
  ASSERT_TRUE(maildir_deliver(maildir, "", body, 0).ok());
  fs::remove_all(maildir);
  Status s = maildir_deliver(maildir, "", body, 0);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(names_in(maildir + "/new").size(), 1u);
}

TEST_F(MaildirTest, MissingBodyFailsAndLeavesNothing) {
  std::string maildir = tmp_.path() + "/md";
  Status s = maildir_deliver(maildir, "H: v\r\n", tmp_.path() + "/nonexistent", 0);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.kind(), Status::Kind::kTransient);
  EXPECT_TRUE(names_in(maildir + "/new").empty());
  EXPECT_TRUE(names_in(maildir + "/tmp").empty());
}

TEST_F(MaildirTest, UnusableMaildirIsATransientError) {
  std::string body = body_file("x");
  write_file(tmp_.path() + "/file", "in the way");
  Status s = maildir_deliver(tmp_.path() + "/file/bob", "", body, 0);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.kind(), Status::Kind::kTransient);
}

}  // namespace
}  // namespace tern
