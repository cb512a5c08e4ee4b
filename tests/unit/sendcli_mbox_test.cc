#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sendcli/mbox.h"

namespace tern::sendcli {
namespace {

using Strings = std::vector<std::string>;

TEST(MboxTest, SplitsAndDropsPostmarksAndSeparators) {
  const MboxContent c = split_mbox(
      "From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody 1\n\n"
      "From b@x Mon Jan  1 00:00:01 2024\nSubject: two\n\nbody 2\n");
  EXPECT_EQ(c.error, "");
  EXPECT_EQ(c.messages, (Strings{"Subject: one\n\nbody 1\n", "Subject: two\n\nbody 2\n"}));
}

TEST(MboxTest, UnquotesMboxrd) {
  const MboxContent c = split_mbox(
      "From a@x Mon Jan  1 00:00:00 2024\nSubject: q\n\n>From here\n>>From there\n"
      "> From not quoted\n>Fromage\nFrom\n");
  ASSERT_EQ(c.messages.size(), 1u);
  EXPECT_EQ(c.messages[0],
            "Subject: q\n\nFrom here\n>From there\n> From not quoted\n>Fromage\nFrom\n");
}

// A "From " line inside a paragraph (an mboxo writer that did not quote it)
// does not start a message: postmarks follow an empty line.
TEST(MboxTest, FromInsideParagraphIsBody) {
  const MboxContent c =
      split_mbox("From a@x Mon Jan  1 00:00:00 2024\nSubject: p\n\nline\nFrom the start\n");
  ASSERT_EQ(c.messages.size(), 1u);
  EXPECT_EQ(c.messages[0], "Subject: p\n\nline\nFrom the start\n");
}

TEST(MboxTest, CrlfAndLeadingBlankLines) {
  const MboxContent c = split_mbox(
      "\r\nFrom a@x Mon Jan  1 00:00:00 2024\r\nSubject: 1\r\n\r\nb\r\n\r\n"
      "From b@x Mon Jan  1 00:00:00 2024\r\nSubject: 2\r\n\r\n>From x\r\n");
  EXPECT_EQ(c.messages, (Strings{"Subject: 1\r\n\r\nb\r\n", "Subject: 2\r\n\r\nFrom x\r\n"}));
}

TEST(MboxTest, EmptyAndInvalid) {
  EXPECT_TRUE(split_mbox("").messages.empty());
  EXPECT_EQ(split_mbox("").error, "");
  const MboxContent bad = split_mbox("Subject: not an mbox\n\nbody\n");
  EXPECT_TRUE(bad.messages.empty());
  EXPECT_NE(bad.error, "");
}

// git format-patch --stdout: each patch ends with a signature and an empty line.
TEST(MboxTest, FormatPatchStdout) {
  const std::string patch =
      "From 1234567890abcdef Mon Sep 17 00:00:00 2001\nFrom: A <a@x.org>\nSubject: [PATCH 1/2] "
      "x\n\n---\n f | 1 +\n-- \n2.39.5\n\n"
      "From fedcba0987654321 Mon Sep 17 00:00:00 2001\nFrom: A <a@x.org>\nSubject: [PATCH 2/2] "
      "y\n\n---\n-- \n2.39.5\n\n";
  const MboxContent c = split_mbox(patch);
  ASSERT_EQ(c.messages.size(), 2u);
  EXPECT_TRUE(c.messages[1].starts_with("From: A <a@x.org>\nSubject: [PATCH 2/2] y\n"));
  EXPECT_TRUE(c.messages[0].ends_with("-- \n2.39.5\n"));
}

}  // namespace
}  // namespace tern::sendcli
