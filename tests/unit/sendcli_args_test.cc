#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sendcli/sendmail_args.h"

namespace tern::sendcli {
namespace {

using Args = std::vector<std::string>;

SendmailArgs Parse(const Args& args) {
  SendmailArgs out;
  const std::string err = parse_sendmail_args(args, &out);
  EXPECT_EQ(err, "") << ::testing::PrintToString(args);
  return out;
}

std::string ErrorOf(const Args& args) {
  SendmailArgs out;
  return parse_sendmail_args(args, &out);
}

TEST(SendmailArgsTest, Defaults) {
  const SendmailArgs a = Parse({"you@example.org"});
  EXPECT_FALSE(a.extract_recipients);
  EXPECT_FALSE(a.ignore_dots);
  EXPECT_FALSE(a.sender.has_value());
  EXPECT_FALSE(a.full_name.has_value());
  EXPECT_FALSE(a.verbose);
  EXPECT_EQ(a.recipients, Args{"you@example.org"});
}

// The call git send-email makes: sendmail -f SENDER -i RCPT... (see
// send_message in git-send-email.perl).
TEST(SendmailArgsTest, GitSendEmail) {
  const SendmailArgs a = Parse({"-f", "me@x.org", "-i", "a@y.org", "b@z.org"});
  EXPECT_EQ(a.sender, "me@x.org");
  EXPECT_TRUE(a.ignore_dots);
  EXPECT_FALSE(a.extract_recipients);
  EXPECT_EQ(a.recipients, (Args{"a@y.org", "b@z.org"}));
}

// Vixie cron: "-FCronDaemon -odi -oem -oi -t"; Debian's adds -B8BITMIME.
TEST(SendmailArgsTest, Cron) {
  const SendmailArgs a = Parse({"-FCronDaemon", "-i", "-B8BITMIME", "-odi", "-oem", "-oi", "-t"});
  EXPECT_EQ(a.full_name, "CronDaemon");
  EXPECT_TRUE(a.ignore_dots);
  EXPECT_TRUE(a.extract_recipients);
  EXPECT_TRUE(a.recipients.empty());
  EXPECT_EQ(a.ignored, (Args{"-B 8BITMIME", "-odi", "-oem"}));
}

TEST(SendmailArgsTest, OiAloneSetsIgnoreDots) {
  EXPECT_TRUE(Parse({"-oi", "a@b.c"}).ignore_dots);
  EXPECT_TRUE(Parse({"-o", "i", "a@b.c"}).ignore_dots);
  EXPECT_FALSE(Parse({"-oem", "a@b.c"}).ignore_dots);
}

TEST(SendmailArgsTest, CombinedFlags) {
  SendmailArgs a = Parse({"-ti"});
  EXPECT_TRUE(a.extract_recipients);
  EXPECT_TRUE(a.ignore_dots);
  a = Parse({"-itv"});
  EXPECT_TRUE(a.extract_recipients && a.ignore_dots && a.verbose);
  // A valued letter at the end of a group takes the next argument...
  a = Parse({"-tif", "me@x.org", "a@b.c"});
  EXPECT_EQ(a.sender, "me@x.org");
  EXPECT_EQ(a.recipients, Args{"a@b.c"});
  // ... and in the middle, the rest of its own.
  a = Parse({"-tfme@x.org"});
  EXPECT_TRUE(a.extract_recipients);
  EXPECT_EQ(a.sender, "me@x.org");
}

TEST(SendmailArgsTest, SenderForms) {
  EXPECT_EQ(Parse({"-fme@x.org"}).sender, "me@x.org");
  EXPECT_EQ(Parse({"-f", "<me@x.org>"}).sender, "me@x.org");
  EXPECT_EQ(Parse({"-r", "me@x.org"}).sender, "me@x.org");
  EXPECT_EQ(Parse({"-f", "<>"}).sender, "");
  EXPECT_EQ(Parse({"-f", ""}).sender, "");
  EXPECT_EQ(Parse({"-F", "Jane Doe", "-f", "j@x.org"}).full_name, "Jane Doe");
}

TEST(SendmailArgsTest, DoubleDashEndsOptions) {
  const SendmailArgs a = Parse({"-i", "-f", "me@x", "--", "-odd@y.org", "b@z.org"});
  EXPECT_EQ(a.recipients, (Args{"-odd@y.org", "b@z.org"}));
}

TEST(SendmailArgsTest, OptionsAfterRecipients) {
  const SendmailArgs a = Parse({"a@b.c", "-oi", "d@e.f", "-t"});
  EXPECT_TRUE(a.ignore_dots);
  EXPECT_TRUE(a.extract_recipients);
  EXPECT_EQ(a.recipients, (Args{"a@b.c", "d@e.f"}));
}

TEST(SendmailArgsTest, ModeAndIgnoredOptions) {
  SendmailArgs a = Parse({"-bm",
                          "-U",
                          "-m",
                          "-n",
                          "-G",
                          "-h",
                          "17",
                          "-N",
                          "never",
                          "-R",
                          "hdrs",
                          "-V",
                          "id1",
                          "-L",
                          "tag",
                          "-O",
                          "DeliveryMode=b",
                          "-X",
                          "/tmp/x",
                          "a@b.c"});
  EXPECT_EQ(a.recipients, Args{"a@b.c"});
  EXPECT_EQ(a.ignored.size(), 11u);
}

TEST(SendmailArgsTest, LongOptions) {
  SendmailArgs a = Parse({"--config", "/etc/t.toml", "--client-config=/c.toml", "a@b.c"});
  EXPECT_EQ(a.config, "/etc/t.toml");
  EXPECT_EQ(a.client_config, "/c.toml");
  EXPECT_EQ(Parse({"-C", "/x.toml"}).config, "/x.toml");
  EXPECT_TRUE(Parse({"--help"}).help);
}

TEST(SendmailArgsTest, Errors) {
  EXPECT_EQ(ErrorOf({"-k", "a@b.c"}), "unknown option -k");
  EXPECT_EQ(ErrorOf({"-tk"}), "unknown option -k");
  EXPECT_EQ(ErrorOf({"--frobnicate"}), "unknown option --frobnicate");
  EXPECT_EQ(ErrorOf({"-f"}), "option -f needs a value");
  EXPECT_EQ(ErrorOf({"--config"}), "option --config needs a value");
  EXPECT_NE(ErrorOf({"-bs"}).find("-bs is not supported"), std::string::npos);
  EXPECT_NE(ErrorOf({"-bp"}).find("tern queue list"), std::string::npos);
  EXPECT_NE(ErrorOf({"-q"}).find("not supported"), std::string::npos);
  EXPECT_NE(ErrorOf({"-"}), "");
}

}  // namespace
}  // namespace tern::sendcli
