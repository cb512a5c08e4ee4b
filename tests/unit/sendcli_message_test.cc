#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sendcli/addresses.h"
#include "sendcli/exit_codes.h"
#include "sendcli/prepare.h"
#include "sendcli/raw_message.h"

namespace tern::sendcli {
namespace {

using Strings = std::vector<std::string>;

// ---- addresses.h

TEST(QualifyTest, BareLocalPartsGetTheDomain) {
  EXPECT_EQ(qualify_list("root", "h.example"), "root@h.example");
  EXPECT_EQ(qualify_list(" root ", "h.example"), " root@h.example ");
  EXPECT_EQ(qualify_list("root (Cron Daemon)", "h.example"), "root@h.example (Cron Daemon)");
  EXPECT_EQ(qualify_list("Root <root>", "h.example"), "Root <root@h.example>");
  EXPECT_EQ(qualify_list("a, b@x.org,c", "h"), "a@h, b@x.org,c@h");
  EXPECT_EQ(qualify_list("Team: a, b@x.org;", "h"), "Team: a@h, b@x.org;");
}

TEST(QualifyTest, LeavesEverythingElse) {
  EXPECT_EQ(qualify_list("a@b.c", "h"), "a@b.c");
  EXPECT_EQ(qualify_list("\"Doe, J\" <j@x.org>", "h"), "\"Doe, J\" <j@x.org>");
  EXPECT_EQ(qualify_list("\"odd user\"", "h"), "\"odd user\"");  // quoted: not ours to fix
  EXPECT_EQ(qualify_list("two words", "h"), "two words");
  EXPECT_EQ(qualify_list("undisclosed-recipients:;", "h"), "undisclosed-recipients:;");
  EXPECT_EQ(qualify_list("<>", "h"), "<>");
  EXPECT_EQ(qualify_list("root", ""), "root");
  // A comma inside quotes or a comment does not split.
  EXPECT_EQ(qualify_list("\"a,b\" <x>, (c,d) y", "h"), "\"a,b\" <x@h>, (c,d) y@h");
}

TEST(QualifyTest, ParsesTheQualifiedList) {
  const auto list = parse_qualified_list("root, Jane <jane@x.org>", "h.example");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].address, "root@h.example");
  EXPECT_EQ((*list)[1].name, "Jane");
  EXPECT_FALSE(parse_qualified_list("a@b@c", "h"));
}

TEST(QualifyTest, AddUniqueIgnoresDomainCase) {
  Strings list = {"a@X.org"};
  add_unique(&list, {"a@x.ORG", "A@x.org", "b@y.org", "b@y.org"});
  EXPECT_EQ(list, (Strings{"a@X.org", "A@x.org", "b@y.org"}));
}

// ---- raw_message.h

TEST(RawMessageTest, ParsesFieldsAndBody) {
  const std::string m =
      "From: a@b.c\r\nTo: x@y.z,\r\n  w@v.u\r\nSubject : old style\r\n\r\nbody\r\nTo: not a "
      "header\r\n";
  const HeaderBlock h = parse_headers(m);
  EXPECT_EQ(h.eol, "\r\n");
  ASSERT_EQ(h.fields.size(), 3u);
  EXPECT_EQ(h.fields[1].name, "To");
  EXPECT_EQ(h.fields[1].value, "x@y.z,  w@v.u");
  EXPECT_EQ(h.fields[2].name, "Subject");
  EXPECT_TRUE(h.has_separator);
  EXPECT_EQ(m.substr(h.body_begin), "body\r\nTo: not a header\r\n");
  EXPECT_EQ(field_values(h, "to"), Strings{"x@y.z,  w@v.u"});
  EXPECT_TRUE(has_field(h, "SUBJECT"));
}

TEST(RawMessageTest, BodyWithoutHeaders) {
  const HeaderBlock h = parse_headers("just a line\nand another\n");
  EXPECT_TRUE(h.fields.empty());
  EXPECT_FALSE(h.has_separator);
  EXPECT_EQ(h.body_begin, 0u);
  EXPECT_EQ(h.eol, "\n");
}

TEST(RawMessageTest, CompleteRemovesBccAndReturnPathAndAddsMissing) {
  const std::string m =
      "Return-Path: <old@x>\nFrom: a@b.c\nBcc: secret@x.org,\n  other@x.org\nTo: t@x.org\n\nhi\n";
  Completion c;
  c.from = "ignored@x.org";  // there is a From already
  c.date = "Thu, 1 Jan 2026 00:00:00 +0000";
  c.message_id = "<1@h>";
  EXPECT_EQ(complete_message(m, c),
            "From: a@b.c\nTo: t@x.org\nDate: Thu, 1 Jan 2026 00:00:00 +0000\nMessage-ID: <1@h>\n"
            "\nhi\n");
}

TEST(RawMessageTest, CompleteKeepsLineEndsAndAddsSeparator) {
  Completion c;
  c.from = "Cron\r\n Daemon <root@h>";  // a folded value takes the message's line end
  EXPECT_EQ(complete_message("Subject: x\r\n\r\nb\r\n", c),
            "Subject: x\r\nFrom: Cron\r\n Daemon <root@h>\r\n\r\nb\r\n");
  EXPECT_EQ(complete_message("Subject: x\nb", Completion{"a@h", "", ""}),
            "Subject: x\nFrom: a@h\n\nb");
  EXPECT_EQ(complete_message("Subject: x", Completion{"a@h", "", ""}), "Subject: x\nFrom: a@h\n\n");
  EXPECT_EQ(complete_message("body only\n", Completion{"a@h", "", ""}), "From: a@h\n\nbody only\n");
}

TEST(RawMessageTest, SenderFromHeaders) {
  std::string err;
  EXPECT_EQ(sender_from_headers(parse_headers("From: A <a@x.org>, b@y.org\n\n"), "h", &err),
            "a@x.org");
  EXPECT_EQ(sender_from_headers(parse_headers("From: a@x.org\nSender: s@y.org\n\n"), "h", &err),
            "s@y.org");
  EXPECT_EQ(sender_from_headers(parse_headers("From: root (Cron Daemon)\n\n"), "h.example", &err),
            "root@h.example");
  EXPECT_EQ(sender_from_headers(parse_headers("Subject: x\n\n"), "h", &err), "");
  EXPECT_FALSE(sender_from_headers(parse_headers("From: <a@@b>\n\n"), "h", &err));
  EXPECT_EQ(err, "From: not a mailbox: \"<a@@b>\"");
}

TEST(RawMessageTest, RecipientsFromHeaders) {
  const HeaderBlock h = parse_headers(
      "To: a@x.org, \"B, b\" <b@x.org>\nCc: root\nBcc: hidden@x.org, a@X.ORG\nResent-To: "
      "r@x.org\nTo: Team: c@x.org;\n\n");
  std::string err;
  const auto r = recipients_from_headers(h, "h.example", &err);
  ASSERT_TRUE(r) << err;
  // To fields first (both), then Cc, then Bcc; duplicates once; Resent-To ignored.
  EXPECT_EQ(*r, (Strings{"a@x.org", "b@x.org", "c@x.org", "root@h.example", "hidden@x.org"}));
  EXPECT_FALSE(recipients_from_headers(parse_headers("Cc: a@b@c\n\n"), "h", &err));
  EXPECT_EQ(err, "Cc: not an address list: \"a@b@c\"");
}

TEST(RawMessageTest, StripPostmark) {
  EXPECT_EQ(strip_postmark("From me@x Mon Jan  1 00:00:00 2026\nFrom: a@b\n"), "From: a@b\n");
  EXPECT_EQ(strip_postmark("From: a@b\n"), "From: a@b\n");
}

// ---- prepare.h

Identity TestIdentity() {
  Identity id;
  id.login = "alice";
  id.domain = "h.example";
  id.now = 1767225600;  // 2026-01-01
  id.unique = "abc123";
  return id;
}

SendmailArgs Args(std::vector<std::string> rcpts) {
  SendmailArgs a;
  a.recipients = std::move(rcpts);
  return a;
}

TEST(PrepareTest, SendmailAddsMissingHeaders) {
  const Prepared p = prepare_sendmail(Args({"bob"}), "Subject: hi\n\nbody\n", TestIdentity());
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.envelope.from, "alice@h.example");
  EXPECT_EQ(p.envelope.to, Strings{"bob@h.example"});
  EXPECT_EQ(p.message,
            "Subject: hi\nFrom: alice@h.example\nDate: Thu, 01 Jan 2026 00:00:00 +0000\n"
            "Message-ID: <abc123@h.example>\n\nbody\n");
}

TEST(PrepareTest, SendmailFullNameAndSender) {
  SendmailArgs a = Args({"bob@x.org"});
  a.full_name = "Cron Daemon";
  a.sender = "ops@h.example";
  const Prepared p = prepare_sendmail(a, "Subject: x\n\n", TestIdentity());
  EXPECT_EQ(p.envelope.from, "ops@h.example");
  EXPECT_NE(p.message.find("From: Cron Daemon <ops@h.example>\n"), std::string::npos) << p.message;
}

TEST(PrepareTest, SendmailKeepsExistingHeaders) {
  SendmailArgs a = Args({"bob@x.org"});
  a.full_name = "Ignored";
  const std::string m =
      "From: Me <me@x.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
      "Message-ID: <m@x.org>\n\nb\n";
  const Prepared p = prepare_sendmail(a, m, TestIdentity());
  EXPECT_EQ(p.message, m);
  EXPECT_EQ(p.envelope.from, "me@x.org");  // the header names the sender
}

TEST(PrepareTest, NullSender) {
  SendmailArgs a = Args({"bob@x.org"});
  a.sender = "";
  const Prepared p = prepare_sendmail(a, "From: me@x.org\n\n", TestIdentity());
  EXPECT_EQ(p.envelope.from, "");
}

TEST(PrepareTest, ConfiguredFromBeatsLogin) {
  Identity id = TestIdentity();
  id.from = "Alice A <a@mail.example>";
  const Prepared p = prepare_sendmail(Args({"bob@x.org"}), "Subject: x\n\n", id);
  EXPECT_EQ(p.envelope.from, "a@mail.example");
  EXPECT_NE(p.message.find("From: Alice A <a@mail.example>\n"), std::string::npos);
}

TEST(PrepareTest, ExtractRecipientsAddsToArguments) {
  SendmailArgs a = Args({"extra@x.org"});
  a.extract_recipients = true;
  const Prepared p = prepare_sendmail(
      a, "To: root\nCc: c@x.org\nBcc: b@x.org\nSubject: s\n\nbody\n", TestIdentity());
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.envelope.to, (Strings{"extra@x.org", "root@h.example", "c@x.org", "b@x.org"}));
  EXPECT_EQ(p.message.find("Bcc"), std::string::npos);
  EXPECT_NE(p.message.find("To: root\n"), std::string::npos);  // headers stay as written
}

TEST(PrepareTest, WithoutExtractHeadersAreNotRecipients) {
  const Prepared p =
      prepare_sendmail(Args({"a@x.org"}), "To: b@x.org\nBcc: c@x.org\n\n", TestIdentity());
  EXPECT_EQ(p.envelope.to, Strings{"a@x.org"});
  EXPECT_EQ(p.message.find("Bcc"), std::string::npos);  // but Bcc never leaves
}

TEST(PrepareTest, Errors) {
  Prepared p = prepare_sendmail(Args({}), "To: b@x.org\n\n", TestIdentity());
  EXPECT_EQ(p.exit_code, kExitUsage);
  EXPECT_EQ(p.error, "no recipients given (name them, or use -t)");
  SendmailArgs t = Args({});
  t.extract_recipients = true;
  p = prepare_sendmail(t, "Subject: x\n\n", TestIdentity());
  EXPECT_EQ(p.exit_code, kExitDataErr);
  p = prepare_sendmail(Args({"a@@b"}), "", TestIdentity());
  EXPECT_EQ(p.exit_code, kExitUsage);
  EXPECT_EQ(p.error, "not an address: \"a@@b\"");
  p = prepare_sendmail(Args({"a@b.c"}), "From: a@@b\n\n", TestIdentity());
  EXPECT_EQ(p.exit_code, kExitDataErr);
}

TEST(PrepareTest, ReadyMessageTakesEnvelopeFromHeaders) {
  const Prepared p = prepare_ready(
      "From me Sat Jan  3 01:05:34 1996\nFrom: A <a@x.org>\nSender: s@x.org\nTo: t@y.org\n"
      "Bcc: hidden@y.org\nMessage-ID: <k@x>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nbody\n",
      std::nullopt, TestIdentity());
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.envelope.from, "s@x.org");
  EXPECT_EQ(p.envelope.to, (Strings{"t@y.org", "hidden@y.org"}));
  EXPECT_EQ(p.message,
            "From: A <a@x.org>\nSender: s@x.org\nTo: t@y.org\nMessage-ID: <k@x>\n"
            "Date: Mon, 1 Jan 2024 00:00:00 +0000\n\nbody\n");
  EXPECT_EQ(prepare_ready("Subject: x\n\n", std::nullopt, TestIdentity()).exit_code, kExitDataErr);
  EXPECT_EQ(
      prepare_ready("From: a@x.org\nTo: t@y.org\n\n", "r@x.org", TestIdentity()).envelope.from,
      "r@x.org");
}

TEST(PrepareTest, EndsInput) {
  EXPECT_TRUE(ends_input(".\n", false));
  EXPECT_TRUE(ends_input(".\r\n", false));
  EXPECT_FALSE(ends_input(".\n", true));
  EXPECT_FALSE(ends_input("..\n", false));
  EXPECT_FALSE(ends_input(". \n", false));
}

TEST(PrepareTest, FromFieldValue) {
  EXPECT_EQ(from_field_value("", "a@b.c"), "a@b.c");
  EXPECT_EQ(from_field_value("Jane Doe", "a@b.c"), "Jane Doe <a@b.c>");
  EXPECT_EQ(from_field_value("Doe, J.", "a@b.c"), "\"Doe, J.\" <a@b.c>");
  EXPECT_EQ(from_field_value("Jörg", "a@b.c"), "=?UTF-8?B?SsO2cmc=?= <a@b.c>");
  EXPECT_EQ(from_field_value("Evil\r\nBcc: x@y", "a@b.c"), "\"Evil Bcc: x@y\" <a@b.c>");
}

}  // namespace
}  // namespace tern::sendcli
