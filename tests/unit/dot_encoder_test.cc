// DotEncoder and BodyScanner: bodies to DATA/BDAT wire form, chunk by chunk,
// with every SMTP smuggling variant of ../shared/refs/suites/smuggling.md.
#include "core/dot_encoder.h"

#include <gtest/gtest.h>

#include <random>

#include "core/data_reader.h"
#include "testlib.h"

namespace tern {
namespace {

std::string data_wire(std::string_view body) {
  DotEncoder e = DotEncoder::Data();
  std::string out;
  e.encode(body, &out);
  EXPECT_TRUE(e.finish(&out));
  return out;
}

// Encodes `body` cut at the given offsets (sorted).
std::string data_wire_cut(std::string_view body, const std::vector<size_t>& cuts) {
  DotEncoder e = DotEncoder::Data();
  std::string out;
  size_t pos = 0;
  for (size_t c : cuts) {
    e.encode(body.substr(pos, c - pos), &out);
    pos = c;
  }
  e.encode(body.substr(pos), &out);
  e.finish(&out);
  return out;
}

size_t count(std::string_view hay, std::string_view needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string_view::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// No CR without LF after it, no LF without CR before it.
bool only_crlf(std::string_view w) {
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == '\r' && (i + 1 == w.size() || w[i + 1] != '\n')) return false;
    if (w[i] == '\n' && (i == 0 || w[i - 1] != '\r')) return false;
  }
  return true;
}

// Decodes DATA wire form with the server's strict reader (bare CR/LF refused).
std::string server_decode(std::string_view wire, bool* ok) {
  DataReader r(1u << 30, 1u << 20, BareNewline::kReject);
  std::string out;
  DataReader::Result res = r.feed(wire, &out);
  *ok = res.status == DataReader::Status::kDone && res.consumed == wire.size() &&
        r.error() == DataReader::Error::kNone;
  return out;
}

TEST(DotEncoder, PlainBody) {
  EXPECT_EQ(data_wire("Subject: x\r\n\r\nhello\r\n"), "Subject: x\r\n\r\nhello\r\n.\r\n");
}

TEST(DotEncoder, EmptyBodyIsJustTheEndMarker) {
  // DATA's own CRLF precedes, so the wire still carries <CRLF>.<CRLF>.
  EXPECT_EQ(data_wire(""), ".\r\n");
}

TEST(DotEncoder, AddsTheMissingFinalCrlf) {
  EXPECT_EQ(data_wire("no newline"), "no newline\r\n.\r\n");
  EXPECT_EQ(data_wire("a\r\nb"), "a\r\nb\r\n.\r\n");
}

TEST(DotEncoder, DotStuffing) {
  EXPECT_EQ(data_wire(".\r\n"), "..\r\n.\r\n");
  EXPECT_EQ(data_wire(".hidden\r\n"), "..hidden\r\n.\r\n");
  EXPECT_EQ(data_wire("a\r\n.\r\nb\r\n"), "a\r\n..\r\nb\r\n.\r\n");
  EXPECT_EQ(data_wire("a\r\n..\r\n"), "a\r\n...\r\n.\r\n");
  EXPECT_EQ(data_wire("a.b\r\n x.\r\n"), "a.b\r\n x.\r\n.\r\n");  // only at line start
  EXPECT_EQ(data_wire("."), "..\r\n.\r\n");
}

TEST(DotEncoder, NormalisesBareLineEnds) {
  EXPECT_EQ(data_wire("a\nb\n"), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(data_wire("a\rb\r"), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(data_wire("a\r\r\nb"), "a\r\n\r\nb\r\n.\r\n");  // bare CR, then CRLF
  EXPECT_EQ(data_wire("a\n\rb"), "a\r\n\r\nb\r\n.\r\n");    // LF, then bare CR
  EXPECT_EQ(data_wire("a\n.\n"), "a\r\n..\r\n.\r\n");       // stuffing after normalising
  EXPECT_EQ(data_wire("\r"), "\r\n.\r\n");
}

TEST(DotEncoder, CrAtTheEndOfAChunkWaitsForTheNext) {
  DotEncoder e = DotEncoder::Data();
  std::string out;
  e.encode("line\r", &out);
  EXPECT_EQ(out, "line");
  e.encode("\n.next\r", &out);
  EXPECT_EQ(out, "line\r\n..next");
  e.encode("x", &out);  // that CR was bare
  EXPECT_EQ(out, "line\r\n..next\r\nx");
  e.encode("\r", &out);
  EXPECT_TRUE(e.finish(&out));  // a CR at the very end is a line end too
  EXPECT_EQ(out, "line\r\n..next\r\nx\r\n.\r\n");
  EXPECT_EQ(e.body_size(), 16u);
  EXPECT_EQ(e.wire_size(), out.size());
}

TEST(DotEncoder, NulPassesUnchanged) {
  const std::string body("a\0b\r\n\0.\r\n.\0\r\n", 13);
  const std::string wire = data_wire(body);
  EXPECT_EQ(wire, std::string("a\0b\r\n\0.\r\n..\0\r\n.\r\n", 17));
  EXPECT_EQ(count(wire, std::string_view("\0", 1)), 3u);
}

TEST(DotEncoder, EveryCutGivesTheSameWire) {
  const std::string body = "From: a\r\n\r\n.x\r\r\n\n.\r.\n\r\n.\r\nend\r";
  const std::string want = data_wire(body);
  for (size_t i = 0; i <= body.size(); ++i) {
    for (size_t j = i; j <= body.size(); ++j) {
      ASSERT_EQ(data_wire_cut(body, {i, j}), want) << i << "," << j;
    }
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < body.size(); ++i) every.push_back(i);
  EXPECT_EQ(data_wire_cut(body, every), want);
}

// The variants of smuggling.md ("bytes" column), and the two lab cases that
// contain a real end marker.
const std::vector<std::pair<std::string, std::string>>& variants() {
  static const auto* v = new std::vector<std::pair<std::string, std::string>>{
      {"S1", "\n.\n"},
      {"S2", "\n.\r\n"},
      {"S3", "\r.\r"},
      {"S4", "\r.\r\n"},
      {"S5", "\r.\n"},
      {"S6", "\n.\r"},
      {"S7", "\r\n.\n"},
      {"S8", "\r\n.\r"},
      {"S9", std::string("\r\n\0.\r\n", 6)},
      {"S10", std::string("\r\n.\0\r\n", 6)},
      {"S11", std::string("\r\0\n.\r\n", 6)},
      {"S12", std::string("\r\n.\r\0\n", 6)},
      {"S13", "\r\n.\r\r\n"},
      {"S14", "\r\r\n.\r\r\n"},
      {"A7", std::string("\0\r\n.\r\n", 6)},
      {"A13", std::string("\r\n.\r\n\0", 6)},
  };
  return *v;
}

std::string smuggling_body(const std::string& v) {
  return "From: a@x\r\nTo: rcpt@server\r\nSubject: test\r\n\r\nbody line" + v +
         "MAIL FROM:<smuggled@x>\r\nRCPT TO:<rcpt@server>\r\nDATA\r\n"
         "From: smuggled@x\r\nSubject: SMUGGLED\r\n\r\nsmuggled body\r\n.\r\n";
}

TEST(DotEncoder, SmugglingVariantsNeverEndTheData) {
  for (const auto& [name, v] : variants()) {
    const std::string body = smuggling_body(v);
    // One piece, byte by byte, and cut right inside the variant.
    std::vector<size_t> bytes;
    for (size_t i = 1; i < body.size(); ++i) bytes.push_back(i);
    const size_t at = body.find(v);
    for (const std::string& wire :
         {data_wire(body), data_wire_cut(body, bytes), data_wire_cut(body, {at + 1, at + 2}),
          data_wire_cut(body, {at + 3})}) {
      const std::string full = "DATA\r\n" + wire;
      EXPECT_EQ(count(full, "\r\n.\r\n"), 1u) << name;
      EXPECT_TRUE(wire.ends_with("\r\n.\r\n")) << name;
      EXPECT_TRUE(only_crlf(full)) << name;
      EXPECT_EQ(count(wire, std::string_view("\0", 1)), count(v, std::string_view("\0", 1)))
          << name << ": NULs kept";
      // The server's strict reader takes it as one message, and gets the
      // body back normalised, smuggled commands included as text.
      bool ok = false;
      EXPECT_EQ(server_decode(wire, &ok), testlib::normalised(body)) << name;
      EXPECT_TRUE(ok) << name;
    }
  }
}

TEST(DotEncoder, RandomBodiesSurviveTheServersStrictReader) {
  std::mt19937 rng(20260101);
  const char alphabet[] = {'\r', '\n', '.', 'a', '\0', '\x80', ' '};
  for (int round = 0; round < 3000; ++round) {
    std::string body;
    const size_t len = rng() % 40;
    for (size_t i = 0; i < len; ++i) body += alphabet[rng() % sizeof alphabet];
    std::vector<size_t> cuts;
    for (size_t i = 1; i < len; ++i) {
      if (rng() % 3 == 0) cuts.push_back(i);
    }
    const std::string wire = data_wire_cut(body, cuts);
    ASSERT_EQ(wire, data_wire(body));
    ASSERT_TRUE(only_crlf("DATA\r\n" + wire));
    ASSERT_EQ(count("DATA\r\n" + wire, "\r\n.\r\n"), 1u);
    bool ok = false;
    ASSERT_EQ(server_decode(wire, &ok), testlib::normalised(body)) << round;
    ASSERT_TRUE(ok);
    BodyScanner scan;
    scan.feed(body);
    DotEncoder e = DotEncoder::Data();
    std::string out;
    e.encode(body, &out);
    e.finish(&out);
    ASSERT_EQ(scan.size(), e.body_size());
    ASSERT_EQ(scan.size(), testlib::normalised(body).size());
  }
}

TEST(DotEncoder, BdatNormalisesWithoutStuffingOrEndMarker) {
  const std::string body = ".a\nb\r.\r\n";
  const std::string want = ".a\r\nb\r\n.\r\n";
  DotEncoder e = DotEncoder::Bdat(want.size());
  EXPECT_EQ(e.framing(), DotEncoder::Framing::kBdat);
  std::string out;
  e.encode(body.substr(0, 4), &out);
  e.encode(body.substr(4), &out);
  EXPECT_TRUE(e.finish(&out));
  EXPECT_TRUE(e.ok());
  EXPECT_EQ(out, want);
  EXPECT_EQ(e.body_size(), want.size());
  EXPECT_EQ(e.wire_size(), want.size());
}

TEST(DotEncoder, BdatAddsTheFinalCrlfToo) {
  DotEncoder e = DotEncoder::Bdat(3);
  std::string out;
  e.encode("abc", &out);
  EXPECT_FALSE(e.finish(&out));  // "abc\r\n" is 5 octets, not 3
  EXPECT_EQ(out, "abc");         // never more than announced
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.body_size(), 5u);
}

TEST(DotEncoder, BdatShortBodyIsNotOk) {
  DotEncoder e = DotEncoder::Bdat(100);
  std::string out;
  e.encode("abc\r\n", &out);
  EXPECT_FALSE(e.finish(&out));
  EXPECT_EQ(out, "abc\r\n");
}

TEST(DotEncoder, BdatEmptyBody) {
  DotEncoder e = DotEncoder::Bdat(0);
  std::string out;
  EXPECT_TRUE(e.finish(&out));
  EXPECT_EQ(out, "");
}

TEST(DotEncoder, NotOkUntilFinished) {
  DotEncoder e = DotEncoder::Data();
  std::string out;
  e.encode("x", &out);
  EXPECT_FALSE(e.finished());
  EXPECT_FALSE(e.ok());
}

TEST(BodyScanner, SevenBitText) {
  BodyScanner s;
  s.feed("Subject: hi\r\n\r\nplain\r\n");
  EXPECT_FALSE(s.eight_bit());
  EXPECT_EQ(s.body_type(), BodyType::k7Bit);
  EXPECT_FALSE(s.has_nul());
  EXPECT_EQ(s.bare_line_ends(), 0u);
  EXPECT_EQ(s.longest_line(), 11u);
  EXPECT_FALSE(s.has_long_lines());
  EXPECT_EQ(s.size(), 22u);
}

TEST(BodyScanner, EightBitAndNul) {
  BodyScanner s;
  s.feed("caf\xc3\xa9\r\n");
  EXPECT_TRUE(s.eight_bit());
  EXPECT_EQ(s.body_type(), BodyType::k8BitMime);
  EXPECT_FALSE(s.has_nul());
  s.feed(std::string_view("x\0y", 3));
  EXPECT_TRUE(s.has_nul());
}

TEST(BodyScanner, LineLengthLimit) {
  // RFC 5321 4.5.3.1.6: 1000 octets with CRLF, so 998 of text.
  BodyScanner ok;
  ok.feed(std::string(998, 'a') + "\r\n");
  EXPECT_FALSE(ok.has_long_lines());
  BodyScanner bad;
  bad.feed(std::string(500, 'a'));
  bad.feed(std::string(499, 'a'));  // one line across chunks, no line end yet
  EXPECT_EQ(bad.longest_line(), 999u);
  EXPECT_TRUE(bad.has_long_lines());
}

TEST(BodyScanner, SizeMatchesTheEncoderAsIfTheBodyEndedHere) {
  BodyScanner s;
  s.feed("a\nb\r");
  EXPECT_EQ(s.bare_line_ends(), 2u);  // the LF, and the CR so far
  EXPECT_EQ(s.size(), 6u);            // "a\r\nb\r\n"
  s.feed("\n");
  EXPECT_EQ(s.bare_line_ends(), 1u);
  EXPECT_EQ(s.size(), 6u);
  s.feed("c");
  EXPECT_EQ(s.size(), 9u);
  BodyScanner empty;
  EXPECT_EQ(empty.size(), 0u);
}

}  // namespace
}  // namespace tern
