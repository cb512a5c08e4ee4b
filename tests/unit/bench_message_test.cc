// The messages `tern bench` sends (src/bench/message.h): exactly the size
// asked for, CRLF only, nothing dot-stuffing or SIZE= would change.
#include <gtest/gtest.h>

#include <string>

#include "bench/message.h"
#include "core/dot_encoder.h"

namespace tern::bench {
namespace {

constexpr const char* kDate = "Thu, 01 Jan 2026 00:00:00 +0000";

// Every line ends in CRLF; no bare CR or LF; no line starts with ".";
// no line is longer than 998 octets.
void ExpectWellFormed(const std::string& m) {
  ASSERT_GE(m.size(), 2u);
  EXPECT_EQ(m.substr(m.size() - 2), "\r\n");
  size_t start = 0;
  while (start < m.size()) {
    const size_t eol = m.find("\r\n", start);
    ASSERT_NE(eol, std::string::npos);
    const std::string line = m.substr(start, eol - start);
    EXPECT_EQ(line.find_first_of("\r\n"), std::string::npos);
    EXPECT_FALSE(!line.empty() && line[0] == '.');
    EXPECT_LE(line.size(), 998u);
    start = eol + 2;
  }
}

TEST(BenchFillerTest, ExactSizesAndCrlf) {
  for (uint64_t n :
       {0ull, 2ull, 3ull, 77ull, 78ull, 79ull, 80ull, 155ull, 156ull, 157ull, 1000ull, 102400ull}) {
    const std::string f = filler_lines(n);
    EXPECT_EQ(f.size(), n) << n;
    if (n > 0) ExpectWellFormed(f);
  }
  EXPECT_THROW(filler_lines(1), std::invalid_argument);
}

TEST(BenchMessageTest, EverySizeIsExact) {
  const uint64_t least = MessageTemplate::min_size("a@b.test", "c@d.test");
  for (uint64_t size = least; size < least + 200; ++size) {
    MessageTemplate t(size, "a@b.test", "c@d.test", kDate, "abcd1234");
    const std::string m = t.render(42);
    ASSERT_EQ(m.size(), size);
    ExpectWellFormed(m);
  }
  for (uint64_t size : {1024ull, 102400ull, 1048576ull}) {
    MessageTemplate t(size, "sender@bench.local", "bench@bench.test", kDate, "abcd1234");
    EXPECT_EQ(t.render(1).size(), size);
    EXPECT_EQ(t.render(9999999999ull).size(), size);
    EXPECT_EQ(t.head_size() + t.body().size(), size);
  }
}

TEST(BenchMessageTest, TooSmallIsRefused) {
  const uint64_t least = MessageTemplate::min_size("a@b.test", "c@d.test");
  EXPECT_THROW(MessageTemplate(least - 1, "a@b.test", "c@d.test", kDate, "abcd1234"),
               std::invalid_argument);
  EXPECT_THROW(MessageTemplate(1024, "a@b.test", "c@d.test", "today", "abcd1234"),
               std::invalid_argument);
}

// SIZE= (BodyScanner) and the DATA framing (DotEncoder) see exactly `size`
// octets, and the wire carries size + ".\r\n".
TEST(BenchMessageTest, WireSizeIsSizePlusEndMarker) {
  MessageTemplate t(1024, "sender@bench.local", "bench@bench.test", kDate, "abcd1234");
  const std::string m = t.render(7);
  BodyScanner scan;
  scan.feed(m);
  EXPECT_EQ(scan.size(), 1024u);
  EXPECT_FALSE(scan.eight_bit());
  EXPECT_EQ(scan.bare_line_ends(), 0u);
  DotEncoder e = DotEncoder::Data();
  std::string wire;
  e.encode(m, &wire);
  e.finish(&wire);
  EXPECT_EQ(e.body_size(), 1024u);
  EXPECT_EQ(wire.size(), 1024u + 3);
  EXPECT_EQ(wire.substr(wire.size() - 5), "\r\n.\r\n");
}

TEST(BenchMessageTest, HeaderNamesTheMessage) {
  MessageTemplate t(1024, "sender@bench.local", "bench@bench.test", kDate, "abcd1234");
  const std::string h = t.head(42);
  EXPECT_EQ(h.size(), t.head_size());
  EXPECT_NE(h.find("From: <sender@bench.local>\r\n"), std::string::npos);
  EXPECT_NE(h.find("To: <bench@bench.test>\r\n"), std::string::npos);
  EXPECT_NE(h.find("Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"), std::string::npos);
  EXPECT_NE(h.find("Subject: tern bench 0000000042\r\n"), std::string::npos);
  EXPECT_NE(h.find("Message-ID: <0000000042.abcd1234@tern.bench>\r\n"), std::string::npos);
  EXPECT_EQ(h.substr(h.size() - 4), "\r\n\r\n");
  EXPECT_NE(t.head(1), t.head(2));
}

TEST(BenchMessageTest, NowDateHasTheFixedLength) {
  EXPECT_EQ(MessageTemplate::now_date().size(), std::string(kDate).size());
}

}  // namespace
}  // namespace tern::bench
