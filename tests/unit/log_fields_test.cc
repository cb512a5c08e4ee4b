// Structured logs (base/log_fields.h, base/log_journal.h, log.h's
// format_log_line): the fields read back from a text line are the values the
// call site formatted, whatever a client put in them; the JSON line parses
// (nlohmann) to those fields; the journal detection follows JOURNAL_STREAM.
#include "base/log_fields.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "base/log.h"
#include "base/log_journal.h"

namespace tern {
namespace {

std::string field(const LogFields& f, const std::string& key) {
  for (const auto& [k, v] : f.fields)
    if (k == key) return v;
  return "<absent>";
}

TEST(LogFields, SessionEventAndFields) {
  const LogFields f = parse_log_fields(
      "session=1LgRz0Vq8 refused client=192.0.2.7 id=0Xb3 from=<a@remote.example> "
      "command=\"RCPT TO:<bob@example.org>\" reply=\"550 5.1.1 <bob@example.org>: User unknown\"");
  EXPECT_EQ(f.session, "1LgRz0Vq8");
  EXPECT_EQ(f.event, "refused");
  EXPECT_EQ(field(f, "client"), "192.0.2.7");
  EXPECT_EQ(field(f, "from"), "<a@remote.example>");
  EXPECT_EQ(field(f, "command"), "RCPT TO:<bob@example.org>");
  EXPECT_EQ(field(f, "reply"), "550 5.1.1 <bob@example.org>: User unknown");
  EXPECT_EQ(f.fields.size(), 5u);
}

TEST(LogFields, ValuesRoundTripThroughLogValue) {
  // Whatever the value, log_value's encoding decodes back to it: a client
  // cannot add a field or end the line.
  for (std::string v : {std::string("a b"), std::string("x reason=quit"), std::string("q\"b\\c"),
                        std::string("a\nb\0c\xff", 6), std::string(""), std::string("=")}) {
    const LogFields f =
        parse_log_fields("session=s1 helo client=1.2.3.4 helo=" + log_value(v) + " tls=no");
    EXPECT_EQ(field(f, "helo"), v);
    EXPECT_EQ(field(f, "tls"), "no");
    EXPECT_EQ(f.fields.size(), 3u);
  }
}

TEST(LogFields, FreeTextAndLinesWithoutSession) {
  LogFields f = parse_log_fields("delivery id=0Xa rcpt=<b@x.example> result=bounced");
  EXPECT_EQ(f.session, "");
  EXPECT_EQ(f.event, "delivery");
  EXPECT_EQ(field(f, "result"), "bounced");
  f = parse_log_fields("session=s2 aborted client=192.0.2.1: std::bad_alloc");
  EXPECT_EQ(f.event, "aborted");
  EXPECT_EQ(field(f, "client"), "192.0.2.1");  // the colon is the text's
  f = parse_log_fields("SIGHUP: configuration reloaded");
  EXPECT_EQ(f.event, "SIGHUP");
  EXPECT_TRUE(f.fields.empty());
  f = parse_log_fields("tern 0.1.0 started hostname=mx.example data_dir=/var/lib/tern");
  EXPECT_EQ(f.event, "tern");
  EXPECT_EQ(field(f, "data_dir"), "/var/lib/tern");
  f = parse_log_fields("session=s3 rcpt client=::1 to=<a@b> rewritten to=<c@d> (SRS)");
  EXPECT_EQ(field(f, "to"), "<a@b>");  // the first of a repeated key
}

TEST(JsonEscape, ControlQuotesAndUtf8) {
  EXPECT_EQ(json_escape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(json_escape(std::string("\n\x01\x7f", 3)), "\\u000a\\u0001\\u007f");
  EXPECT_EQ(json_escape("j\xc3\xb6rg"), "j\xc3\xb6rg");             // valid UTF-8 kept
  EXPECT_EQ(json_escape("\xff\xc3"), "\\ufffd\\ufffd");             // invalid: U+FFFD
  EXPECT_EQ(json_escape("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");  // a surrogate
}

TEST(LogFormat, TextLineIsUnchanged) {
  EXPECT_EQ(format_log_line(LogFormat::kText, "2026-11-23T09:00:00.123Z", LogLevel::kWarn,
                            "session=s1 connect client=192.0.2.7"),
            "2026-11-23T09:00:00.123Z WARN session=s1 connect client=192.0.2.7\n");
}

TEST(LogFormat, JsonLineParsesToTheFields) {
  const std::string text = "session=s1 refused client=192.0.2.7 helo=" +
                           log_value(std::string("evil\r\nreason=x \"\xc3\xa9\"", 19)) +
                           " reply=\"550 5.7.1 no\"";
  const std::string line =
      format_log_line(LogFormat::kJson, "2026-11-23T09:00:00.123Z", LogLevel::kError, text);
  ASSERT_EQ(line.back(), '\n');
  ASSERT_EQ(line.find('\n'), line.size() - 1);  // one line
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts"], "2026-11-23T09:00:00.123Z");
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["session"], "s1");
  EXPECT_EQ(j["event"], "refused");
  EXPECT_EQ(j["client"], "192.0.2.7");
  EXPECT_EQ(j["helo"].get<std::string>(), std::string("evil\r\nreason=x \"\xc3\xa9\""));
  EXPECT_EQ(j["reply"], "550 5.7.1 no");
  EXPECT_EQ(j["msg"], text);
  EXPECT_FALSE(j.contains("reason"));
}

TEST(LogJournal, StreamMatchesOnlyItsDeviceAndInode) {
  char path[] = "/tmp/tern-journal-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  const std::string ours = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  EXPECT_TRUE(journal_stream_matches(ours.c_str(), fd));
  const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  EXPECT_FALSE(journal_stream_matches(other.c_str(), fd));
  EXPECT_FALSE(journal_stream_matches(nullptr, fd));
  EXPECT_FALSE(journal_stream_matches("", fd));
  EXPECT_FALSE(journal_stream_matches((ours + "x").c_str(), fd));
  ::close(fd);
  ::unlink(path);
}

TEST(LogJournal, FieldNamesAndPriorities) {
  EXPECT_EQ(journal_field_name("client"), "TERN_CLIENT");
  EXPECT_EQ(journal_field_name("data_dir"), "TERN_DATA_DIR");
  EXPECT_EQ(journal_field_name(std::string(80, 'a')).size(), 64u);
  EXPECT_EQ(syslog_priority(LogLevel::kInfo), 6);
  EXPECT_EQ(syslog_priority(LogLevel::kWarn), 4);
  EXPECT_EQ(syslog_priority(LogLevel::kError), 3);
}

}  // namespace
}  // namespace tern
