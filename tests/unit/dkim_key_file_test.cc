// Key files as `tern dkim keygen` and `tern init` write them (dkim/key_file.h).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "dkim/key_file.h"

namespace tern::dkim {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(DkimKeyFileTest, DefaultSelectorIsTypeAndMonth) {
  EXPECT_EQ(default_selector("rsa", 1767225600), "rsa-202601");  // 2026-01-01T00:00:00Z
  EXPECT_EQ(default_selector("ed25519", 1767225599), "ed25519-202512");
}

TEST(DkimKeyFileTest, WritesPrivatelyAndNeverReplacesByAccident) {
  char tmpl[] = "/tmp/tern-keyfile-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string data = std::string(tmpl) + "/data";
  const std::string path = key_file_path(data, "example.org", "s1");
  EXPECT_EQ(path, data + "/dkim/example.org/s1.key");

  ASSERT_TRUE(write_key_file(data, "example.org", "s1", "one", false).ok());
  EXPECT_EQ(Read(path), "one");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ModeOf(data), 0700u);
  EXPECT_EQ(ModeOf(data + "/dkim"), 0700u);
  EXPECT_EQ(ModeOf(data + "/dkim/example.org"), 0700u);

  const Status again = write_key_file(data, "example.org", "s1", "two", false);
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("exists; use --force"), std::string::npos) << again.message();
  EXPECT_EQ(Read(path), "one");

  ASSERT_TRUE(write_key_file(data, "example.org", "s1", "two", true).ok());
  EXPECT_EQ(Read(path), "two");
  // No temporary file is left behind either way.
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(data + "/dkim/example.org")) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace tern::dkim
