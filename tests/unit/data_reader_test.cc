// DataReader: end of data, dot-stuffing, bare CR/LF policy, limits, and
// chunking. The smuggling variants come from
// /work/shared/refs/suites/smuggling.md (S1..S14, A7/A10, A13).
#include "core/data_reader.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace tern {
namespace {

using Status = DataReader::Status;
using Error = DataReader::Error;

constexpr uint64_t kBigSize = 1 << 20;
constexpr size_t kLine = 1000;

// Everything observable after decoding one input.
struct Decoded {
  Status status = Status::kNeedMore;
  size_t consumed = 0;  // over the whole input
  std::string body;
  uint64_t size = 0;
  bool too_big = false;
  bool line_too_long = false;
  Error error = Error::kNone;

  friend bool operator==(const Decoded&, const Decoded&) = default;
};

std::ostream& operator<<(std::ostream& os, const Decoded& d) {
  return os << "{status=" << static_cast<int>(d.status) << " consumed=" << d.consumed
            << " body=" << testing::PrintToString(d.body) << " size=" << d.size
            << " too_big=" << d.too_big << " long=" << d.line_too_long
            << " error=" << static_cast<int>(d.error) << "}";
}

// Feeds `in` cut at the given (ascending) offsets, stopping at kDone.
Decoded decode_chunks(std::string_view in, const std::vector<size_t>& cuts, BareNewline policy,
                      uint64_t max_size = kBigSize, size_t max_line = kLine) {
  DataReader r(max_size, max_line, policy);
  Decoded d;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(in.size());
  for (size_t end : ends) {
    const std::string_view chunk = in.substr(start, end - start);
    const DataReader::Result res = r.feed(chunk, &d.body);
    d.status = res.status;
    d.consumed += res.consumed;
    if (res.status == Status::kDone) break;
    EXPECT_EQ(res.consumed, chunk.size()) << "kNeedMore must consume the whole chunk";
    start = end;
  }
  d.size = r.size();
  d.too_big = r.too_big();
  d.line_too_long = r.line_too_long();
  d.error = r.error();
  return d;
}

Decoded decode(std::string_view in, BareNewline policy, uint64_t max_size = kBigSize,
               size_t max_line = kLine) {
  return decode_chunks(in, {}, policy, max_size, max_line);
}

Decoded decode_bytewise(std::string_view in, BareNewline policy) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < in.size(); ++i) cuts.push_back(i);
  return decode_chunks(in, cuts, policy);
}

// Checks that every 1-cut split and the byte-by-byte feed agree with a
// single feed.
void expect_split_invariant(std::string_view in, BareNewline policy) {
  const Decoded whole = decode(in, policy);
  EXPECT_EQ(decode_bytewise(in, policy), whole) << "byte by byte";
  for (size_t cut = 0; cut <= in.size(); ++cut) {
    ASSERT_EQ(decode_chunks(in, {cut}, policy), whole) << "cut at " << cut;
  }
}

constexpr BareNewline kBoth[] = {BareNewline::kReject, BareNewline::kNormalize};

// ---------------------------------------------------------------------------
// Basic end of data and dot-stuffing (RFC 5321 4.1.1.4, 4.5.2).

TEST(DataReaderTest, PlainMessageEndsAtCrLfDotCrLf) {
  for (BareNewline p : kBoth) {
    const Decoded d = decode("Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n", p);
    EXPECT_EQ(d.status, Status::kDone);
    EXPECT_EQ(d.consumed, 24u);  // up to and including the marker's LF
    EXPECT_EQ(d.body, "Subject: x\r\n\r\nhello\r\n");
    EXPECT_EQ(d.size, d.body.size());
    EXPECT_EQ(d.error, Error::kNone);
    EXPECT_FALSE(d.too_big);
    EXPECT_FALSE(d.line_too_long);
  }
}

TEST(DataReaderTest, DotAloneAsVeryFirstLineEndsWithEmptyBody) {
  // DATA's own CRLF precedes the first line, so "." CRLF here is the end.
  for (BareNewline p : kBoth) {
    const Decoded d = decode(".\r\nMAIL FROM:<a@b>\r\n", p);
    EXPECT_EQ(d.status, Status::kDone);
    EXPECT_EQ(d.consumed, 3u);
    EXPECT_EQ(d.body, "");
    EXPECT_EQ(d.size, 0u);
  }
}

TEST(DataReaderTest, EmptyFirstLineThenEnd) {
  const Decoded d = decode("\r\n.\r\n", BareNewline::kReject);
  EXPECT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.consumed, 5u);
  EXPECT_EQ(d.body, "\r\n");
}

TEST(DataReaderTest, NoEndMarkerNeedsMore) {
  const Decoded d = decode("line one\r\nline two\r\n", BareNewline::kReject);
  EXPECT_EQ(d.status, Status::kNeedMore);
  EXPECT_EQ(d.consumed, 20u);
  EXPECT_EQ(d.body, "line one\r\nline two\r\n");
}

TEST(DataReaderTest, EmptyInputNeedsMore) {
  DataReader r(kBigSize, kLine, BareNewline::kReject);
  std::string out;
  const DataReader::Result res = r.feed("", &out);
  EXPECT_EQ(res.status, Status::kNeedMore);
  EXPECT_EQ(res.consumed, 0u);
  EXPECT_EQ(r.feed(".\r\n", &out).status, Status::kDone);  // still at the first line's start
}

TEST(DataReaderTest, DoubledDotAtLineStartLosesOneDot) {
  const Decoded d = decode("..hidden\r\n.\r\n", BareNewline::kReject);
  EXPECT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.body, ".hidden\r\n");
  EXPECT_EQ(d.size, 9u);  // counted after unstuffing
}

TEST(DataReaderTest, DoubledDotLineIsALineWithOneDot) {
  const Decoded d = decode("a\r\n..\r\nb\r\n.\r\n", BareNewline::kReject);
  EXPECT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.body, "a\r\n.\r\nb\r\n");
}

TEST(DataReaderTest, DoubledDotLineFirst) {
  const Decoded d = decode("..\r\n.\r\n", BareNewline::kReject);
  EXPECT_EQ(d.consumed, 7u);
  EXPECT_EQ(d.body, ".\r\n");
}

TEST(DataReaderTest, TripleDotKeepsTwo) {
  EXPECT_EQ(decode("...\r\n.\r\n", BareNewline::kReject).body, "..\r\n");
}

TEST(DataReaderTest, SingleLeadingDotBeforeTextIsRemoved) {
  // RFC 5321 4.5.2: the receiver deletes the first character if it is a dot.
  EXPECT_EQ(decode(".x\r\n.\r\n", BareNewline::kReject).body, "x\r\n");
}

TEST(DataReaderTest, DotsInsideOrAtEndOfLineAreData) {
  const Decoded d = decode("a.b\r\nend.\r\n . \r\n.\r\n", BareNewline::kReject);
  EXPECT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.body, "a.b\r\nend.\r\n . \r\n");
}

TEST(DataReaderTest, DotCrLfInMidLineIsNotTheEnd) {
  const Decoded d = decode("x.\r\n.\r\n", BareNewline::kReject);
  EXPECT_EQ(d.consumed, 7u);
  EXPECT_EQ(d.body, "x.\r\n");
}

TEST(DataReaderTest, DotSpaceLineIsNotTheEnd) {
  const Decoded d = decode(". \r\n.\r\n", BareNewline::kReject);
  EXPECT_EQ(d.consumed, 7u);
  EXPECT_EQ(d.body, " \r\n");
}

TEST(DataReaderTest, NulOctetsAreOrdinaryData) {
  const std::string in("a\0b\r\n\0\r\n.\r\n", 11);
  const Decoded d = decode(in, BareNewline::kReject);
  EXPECT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.error, Error::kNone);
  EXPECT_EQ(d.body, std::string("a\0b\r\n\0\r\n", 8));
}

TEST(DataReaderTest, EightBitOctetsAreOrdinaryData) {
  const Decoded d = decode("caf\xC3\xA9 \xFF\x80\r\n.\r\n", BareNewline::kReject);
  EXPECT_EQ(d.body, "caf\xC3\xA9 \xFF\x80\r\n");
}

TEST(DataReaderTest, FeedAfterDoneConsumesNothing) {
  DataReader r(kBigSize, kLine, BareNewline::kReject);
  std::string out;
  ASSERT_EQ(r.feed("a\r\n.\r\n", &out).status, Status::kDone);
  const DataReader::Result again = r.feed("b\r\n.\r\n", &out);
  EXPECT_EQ(again.status, Status::kDone);
  EXPECT_EQ(again.consumed, 0u);
  EXPECT_EQ(out, "a\r\n");
}

// ---------------------------------------------------------------------------
// State across chunks.

TEST(DataReaderTest, CrAtChunkEndIsHeldUntilTheNextByte) {
  DataReader r(kBigSize, kLine, BareNewline::kReject);
  std::string out;
  EXPECT_EQ(r.feed("abc\r", &out).status, Status::kNeedMore);
  EXPECT_EQ(out, "abc");  // the CR is not written until its LF is seen
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(r.feed("\n", &out).status, Status::kNeedMore);
  EXPECT_EQ(out, "abc\r\n");
  EXPECT_EQ(r.error(), Error::kNone);
}

TEST(DataReaderTest, HeldCrFollowedByTextIsBareUnderReject) {
  DataReader r(kBigSize, kLine, BareNewline::kReject);
  std::string out;
  r.feed("abc\r", &out);
  EXPECT_EQ(r.error(), Error::kNone);
  r.feed("x", &out);
  EXPECT_EQ(r.error(), Error::kBareNewline);
}

TEST(DataReaderTest, HeldCrFollowedByTextIsNormalised) {
  DataReader r(kBigSize, kLine, BareNewline::kNormalize);
  std::string out;
  r.feed("abc\r", &out);
  r.feed("x\r\n", &out);
  EXPECT_EQ(out, "abc\r\nx\r\n");
  EXPECT_EQ(r.error(), Error::kNone);
}

TEST(DataReaderTest, EndMarkerSplitEverywhere) {
  // "\r\n.\r\n" split into single bytes across calls still ends, exactly there.
  DataReader r(kBigSize, kLine, BareNewline::kReject);
  std::string out;
  for (std::string_view b : {"x", "\r", "\n", ".", "\r"}) {
    const DataReader::Result res = r.feed(b, &out);
    EXPECT_EQ(res.status, Status::kNeedMore) << "after " << testing::PrintToString(b);
    EXPECT_EQ(res.consumed, 1u);
  }
  const DataReader::Result res = r.feed("\nNEXT", &out);
  EXPECT_EQ(res.status, Status::kDone);
  EXPECT_EQ(res.consumed, 1u);
  EXPECT_EQ(out, "x\r\n");
}

TEST(DataReaderTest, DotThenCrSplitThenNonLfIsNotTheEnd) {
  DataReader r(kBigSize, kLine, BareNewline::kNormalize);
  std::string out;
  EXPECT_EQ(r.feed("a\r\n.", &out).status, Status::kNeedMore);
  EXPECT_EQ(r.feed("\r", &out).status, Status::kNeedMore);
  EXPECT_EQ(r.feed("b\r\n", &out).status, Status::kNeedMore);
  EXPECT_EQ(out, "a\r\n\r\nb\r\n");
  EXPECT_EQ(r.feed(".\r\n", &out).status, Status::kDone);
}

constexpr std::string_view kSample =
    "From: a@example.org\r\n"
    "Subject: split\r\n"
    "\r\n"
    "..stuffed\r\n"
    "mid.dot . line\r\n"
    "..\r\n"
    "\r\n"
    ".x\r\n"
    "last\r\n"
    ".\r\n"
    "MAIL FROM:<next@example.org>\r\n";

TEST(DataReaderTest, SampleDecodesAsExpected) {
  for (BareNewline p : kBoth) {
    const Decoded d = decode(kSample, p);
    EXPECT_EQ(d.status, Status::kDone);
    EXPECT_EQ(d.consumed, kSample.size() - 30);
    EXPECT_EQ(d.body,
              "From: a@example.org\r\nSubject: split\r\n\r\n.stuffed\r\nmid.dot . line\r\n.\r\n"
              "\r\nx\r\nlast\r\n");
  }
}

TEST(DataReaderTest, SampleEveryChunkSplitMatchesSingleFeed) {
  for (BareNewline p : kBoth) expect_split_invariant(kSample, p);
}

TEST(DataReaderTest, SampleEveryTwoCutSplitMatchesSingleFeed) {
  const std::string_view in = kSample.substr(0, 60);  // keeps the square loop small
  const std::string msg = std::string(in) + "\r\n.\r\n";
  for (BareNewline p : kBoth) {
    const Decoded whole = decode(msg, p);
    for (size_t a = 0; a <= msg.size(); ++a) {
      for (size_t b = a; b <= msg.size(); ++b) {
        ASSERT_EQ(decode_chunks(msg, {a, b}, p), whole) << "cuts " << a << "," << b;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// SMTP smuggling (smuggling.md). The client sends one write: a message
// whose body ends in variant V, a smuggled transaction, the real end,
// then a command. No variant may end the data: with kReject the message
// is flagged (and the session rejects it at the real end); with kNormalize
// the smuggled commands are plain body text.

constexpr std::string_view kHead =
    "From: a@x\r\nTo: rcpt@server\r\nSubject: test V\r\n\r\nbody line";
constexpr std::string_view kSmuggled =
    "MAIL FROM:<smuggled@x>\r\nRCPT TO:<rcpt@server>\r\nDATA\r\n"
    "From: smuggled@x\r\nSubject: SMUGGLED\r\n\r\nsmuggled body\r\n";
constexpr std::string_view kRealEnd = ".\r\n";
constexpr std::string_view kAfter = "QUIT\r\n";

struct Variant {
  const char* id;
  std::string bytes;
  // Body octets the variant becomes under kNormalize.
  std::string normalized;
  // Under kReject: true if the variant has a bare CR or LF; then `kept` is
  // what the body holds after kHead (the part before the first bare one).
  bool bare;
  std::string kept;
};

std::string S(const char* s, size_t n) { return std::string(s, n); }

const std::vector<Variant>& variants() {
  static const std::vector<Variant> v = {
      {"S1", "\n.\n", "\r\n\r\n", true, ""},
      {"S2", "\n.\r\n", "\r\n\r\n", true, ""},
      {"S3", "\r.\r", "\r\n\r\n", true, ""},
      {"S4", "\r.\r\n", "\r\n\r\n", true, ""},
      {"S5", "\r.\n", "\r\n\r\n", true, ""},
      {"S6", "\n.\r", "\r\n\r\n", true, ""},
      {"S7", "\r\n.\n", "\r\n\r\n", true, "\r\n"},
      {"S8", "\r\n.\r", "\r\n\r\n", true, "\r\n"},
      {"S9", S("\r\n\0.\r\n", 6), S("\r\n\0.\r\n", 6), false, ""},
      {"S10", S("\r\n.\0\r\n", 6), S("\r\n\0\r\n", 5), false, ""},
      {"S11", S("\r\0\n.\r\n", 6), S("\r\n\0\r\n\r\n", 7), true, ""},
      {"S12", S("\r\n.\r\0\n", 6), S("\r\n\r\n\0\r\n", 7), true, "\r\n"},
      {"S13", "\r\n.\r\r\n", "\r\n\r\n\r\n", true, "\r\n"},
      {"S14", "\r\r\n.\r\r\n", "\r\n\r\n\r\n\r\n", true, ""},
  };
  return v;
}

std::string transaction(const Variant& v) {
  return std::string(kHead) + v.bytes + std::string(kSmuggled) + std::string(kRealEnd) +
         std::string(kAfter);
}

class SmugglingTest : public testing::TestWithParam<Variant> {};

TEST_P(SmugglingTest, NormalizeKeepsSmuggledTextAsBody) {
  const Variant& v = GetParam();
  const std::string in = transaction(v);
  const Decoded d = decode(in, BareNewline::kNormalize);
  EXPECT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.consumed, in.size() - kAfter.size()) << "must end only at the real terminator";
  EXPECT_EQ(d.body, std::string(kHead) + v.normalized + std::string(kSmuggled));
  EXPECT_EQ(d.error, Error::kNone);
}

TEST_P(SmugglingTest, RejectFlagsBareNewlineAndEndsOnlyAtRealTerminator) {
  const Variant& v = GetParam();
  const std::string in = transaction(v);
  const Decoded d = decode(in, BareNewline::kReject);
  EXPECT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.consumed, in.size() - kAfter.size()) << "must end only at the real terminator";
  if (v.bare) {
    EXPECT_EQ(d.error, Error::kBareNewline);
    EXPECT_EQ(d.body, std::string(kHead) + v.kept) << "nothing is stored after the error";
  } else {
    EXPECT_EQ(d.error, Error::kNone);
    EXPECT_EQ(d.body, std::string(kHead) + v.normalized + std::string(kSmuggled));
  }
}

TEST_P(SmugglingTest, EveryChunkSplitAgrees) {
  const std::string in = transaction(GetParam());
  for (BareNewline p : kBoth) expect_split_invariant(in, p);
}

TEST_P(SmugglingTest, VariantAtTheVeryStartOfDataDoesNotEnd) {
  // The same bytes right after DATA's CRLF, with no body before them.
  const Variant& v = GetParam();
  const std::string in = v.bytes + std::string(kSmuggled) + std::string(kRealEnd);
  for (BareNewline p : kBoth) {
    const Decoded d = decode(in, p);
    EXPECT_EQ(d.status, Status::kDone);
    EXPECT_EQ(d.consumed, in.size());
  }
}

INSTANTIATE_TEST_SUITE_P(AllVariants, SmugglingTest, testing::ValuesIn(variants()),
                         [](const testing::TestParamInfo<Variant>& p) {
                           return std::string(p.param.id);
                         });

TEST(DataReaderTest, A7NulBeforeRealTerminatorEndsThere) {
  // "\0\r\n.\r\n" contains a real <CRLF>.<CRLF>: a valid end; the NUL is data.
  const std::string in = std::string(kHead) + S("\0\r\n.\r\n", 6) + std::string(kSmuggled);
  for (BareNewline p : kBoth) {
    const Decoded d = decode(in, p);
    EXPECT_EQ(d.status, Status::kDone);
    EXPECT_EQ(d.consumed, kHead.size() + 6);
    EXPECT_EQ(d.body, std::string(kHead) + S("\0\r\n", 3));
    EXPECT_EQ(d.error, Error::kNone);
  }
}

TEST(DataReaderTest, A13NulAfterTerminatorIsNotConsumed) {
  // "\r\n.\r\n\0": the NUL starts the next command line, not the body.
  const std::string in = std::string(kHead) + S("\r\n.\r\n\0", 6);
  for (BareNewline p : kBoth) {
    const Decoded d = decode(in, p);
    EXPECT_EQ(d.status, Status::kDone);
    EXPECT_EQ(d.consumed, in.size() - 1);
    EXPECT_EQ(d.body, std::string(kHead) + "\r\n");
  }
}

TEST(DataReaderTest, RejectKeepsCountingSizeAfterError) {
  const Decoded d = decode("ab\ncd\r\n.\r\n", BareNewline::kReject);
  EXPECT_EQ(d.error, Error::kBareNewline);
  EXPECT_EQ(d.body, "ab");
  EXPECT_EQ(d.size, 8u);  // "ab" CRLF "cd" CRLF, as normalised
}

TEST(DataReaderTest, BareLfThenDotCrLfUnstuffsButDoesNotEnd) {
  const Decoded d = decode("a\n.\r\nb\r\n.\r\n", BareNewline::kNormalize);
  EXPECT_EQ(d.consumed, 11u);
  EXPECT_EQ(d.body, "a\r\n\r\nb\r\n");
}

TEST(DataReaderTest, BareLfThenDoubledDotIsUnstuffed) {
  EXPECT_EQ(decode("a\n..b\r\n.\r\n", BareNewline::kNormalize).body, "a\r\n.b\r\n");
}

TEST(DataReaderTest, CrCrLfIsOneBareCrAndOneLineEnd) {
  EXPECT_EQ(decode("a\r\r\n.\r\n", BareNewline::kNormalize).body, "a\r\n\r\n");
  EXPECT_EQ(decode("a\r\r\n.\r\n", BareNewline::kReject).error, Error::kBareNewline);
}

TEST(DataReaderTest, LfCrIsTwoBareNewlines) {
  EXPECT_EQ(decode("a\n\rb\r\n.\r\n", BareNewline::kNormalize).body, "a\r\n\r\nb\r\n");
}

TEST(DataReaderTest, ManyBareLfsWithoutCrDecodeLinearly) {
  // A chunk with no CR and many bare LFs: each memchr must cover new ground.
  std::string in;
  for (int i = 0; i < 200000; ++i) in += "x\n";
  in += "\r\n.\r\n";
  const Decoded d = decode(in, BareNewline::kNormalize);
  EXPECT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.body.size(), 200000u * 3 + 2);
}

// ---------------------------------------------------------------------------
// Differential test against a reference model written another way: the end
// of data is the first "\r\n.\r\n" in "\r\n" + input (DATA's CRLF comes
// first), and the body is the lines before it (split at CRLF, bare CR, bare
// LF), each without a leading dot, each ended by CRLF.

struct Model {
  Decoded normalize;
  Decoded reject;
};

Model reference(std::string_view in, uint64_t max_size, size_t max_line) {
  Model m;
  const size_t pos = ("\r\n" + std::string(in)).find("\r\n.\r\n");
  std::string_view raw = in;
  if (pos != std::string::npos) {
    raw = in.substr(0, pos);
    m.normalize.status = Status::kDone;
    m.normalize.consumed = pos + 3;
  } else {
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);  // held for its LF
    m.normalize.consumed = in.size();
  }
  std::string norm, rej;
  bool bare = false, too_long = false;
  for (size_t i = 0; i < raw.size();) {
    size_t j = raw.find_first_of("\r\n", i);
    if (j == std::string_view::npos) j = raw.size();
    std::string_view content = raw.substr(i, j - i);
    if (!content.empty() && content.front() == '.') content.remove_prefix(1);
    norm += content;
    if (!bare) rej += content;
    if (j == raw.size()) break;  // unterminated last line
    const bool real = raw[j] == '\r' && j + 1 < raw.size() && raw[j + 1] == '\n';
    norm += "\r\n";
    if (!bare && real) rej += "\r\n";
    if (!real) bare = true;
    if (content.size() + 2 > max_line) too_long = true;
    i = j + (real ? 2 : 1);
  }
  m.normalize.size = norm.size();
  m.normalize.too_big = norm.size() > max_size;
  m.normalize.line_too_long = too_long;
  m.reject = m.normalize;
  m.normalize.body = norm.substr(0, max_size);
  m.reject.body = rej.substr(0, max_size);
  m.reject.error = bare ? Error::kBareNewline : Error::kNone;
  return m;
}

TEST(DataReaderTest, MatchesReferenceModelOnRandomInputs) {
  std::mt19937 rng(20231218);  // fixed: failures must reproduce
  const std::string alphabet = std::string("\r\r\r\n\n\n...aab\0", 14);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string in(rng() % 32, ' ');
    for (char& c : in) c = alphabet[rng() % alphabet.size()];
    const uint64_t max_size = rng() % 2 ? kBigSize : rng() % 24;
    const size_t max_line = 2 + rng() % 8;
    std::vector<size_t> cuts;
    for (size_t k = 1; k < in.size(); ++k) {
      if (rng() % 3 == 0) cuts.push_back(k);
    }
    const Model want = reference(in, max_size, max_line);
    const std::string shown = testing::PrintToString(in);
    for (BareNewline p : kBoth) {
      const Decoded& w = p == BareNewline::kReject ? want.reject : want.normalize;
      ASSERT_EQ(decode(in, p, max_size, max_line), w) << shown;
      ASSERT_EQ(decode_chunks(in, cuts, p, max_size, max_line), w) << shown;
    }
  }
}

// ---------------------------------------------------------------------------
// Limits.

TEST(DataReaderTest, SizeExactlyAtLimitIsNotTooBig) {
  // Body "abcd\r\n" is 6 octets.
  const Decoded d = decode("abcd\r\n.\r\n", BareNewline::kReject, /*max_size=*/6);
  EXPECT_EQ(d.status, Status::kDone);
  EXPECT_FALSE(d.too_big);
  EXPECT_EQ(d.size, 6u);
  EXPECT_EQ(d.body, "abcd\r\n");
}

TEST(DataReaderTest, SizeOneOverLimitIsTooBigAndTruncated) {
  const Decoded d = decode("abcde\r\n.\r\n", BareNewline::kReject, /*max_size=*/6);
  EXPECT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.consumed, 10u);
  EXPECT_TRUE(d.too_big);
  EXPECT_EQ(d.size, 7u);
  EXPECT_EQ(d.body, "abcde\r");  // dropped octets are counted, not stored
}

TEST(DataReaderTest, SizeCountsAfterUnstuffing) {
  // "..ab" is 4 octets on the wire but ".ab" in the body: 5 with CRLF.
  const Decoded d = decode("..ab\r\n.\r\n", BareNewline::kReject, /*max_size=*/5);
  EXPECT_FALSE(d.too_big);
  EXPECT_EQ(d.size, 5u);
}

TEST(DataReaderTest, SizeLimitAcrossChunks) {
  DataReader r(/*max_size=*/4, kLine, BareNewline::kReject);
  std::string out;
  r.feed("abc", &out);
  r.feed("def\r\n", &out);
  EXPECT_EQ(r.feed(".\r\n", &out).status, Status::kDone);
  EXPECT_EQ(out, "abcd");
  EXPECT_EQ(r.size(), 8u);
  EXPECT_TRUE(r.too_big());
}

TEST(DataReaderTest, ZeroSizeLimitStoresNothing) {
  const Decoded d = decode("a\r\n.\r\n", BareNewline::kReject, /*max_size=*/0);
  EXPECT_EQ(d.body, "");
  EXPECT_TRUE(d.too_big);
}

std::string line_of(size_t n, char c = 'x') { return std::string(n, c) + "\r\n"; }

TEST(DataReaderTest, LineOfExactly1000OctetsWithCrLfIsAllowed) {
  const Decoded d = decode(line_of(998) + ".\r\n", BareNewline::kReject);
  EXPECT_EQ(d.status, Status::kDone);
  EXPECT_FALSE(d.line_too_long);
}

TEST(DataReaderTest, LineOf1001OctetsIsTooLongButDecodingGoesOn) {
  const std::string in = line_of(999) + "short\r\n.\r\n";
  const Decoded d = decode(in, BareNewline::kReject);
  EXPECT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.consumed, in.size());
  EXPECT_TRUE(d.line_too_long);
  EXPECT_EQ(d.body, line_of(999) + "short\r\n");
}

TEST(DataReaderTest, StuffedDotDoesNotCountTowardsLineLength) {
  // RFC 5321 4.5.3.1.6: 1000 octets "not counting the leading dot".
  const Decoded ok = decode("." + line_of(998, '.') + ".\r\n", BareNewline::kReject);
  EXPECT_FALSE(ok.line_too_long);
  const Decoded bad = decode("." + line_of(999, '.') + ".\r\n", BareNewline::kReject);
  EXPECT_TRUE(bad.line_too_long);
}

TEST(DataReaderTest, LongLineSplitAcrossChunksIsDetected) {
  DataReader r(kBigSize, kLine, BareNewline::kReject);
  std::string out;
  r.feed(std::string(500, 'x'), &out);
  r.feed(std::string(499, 'x'), &out);
  EXPECT_FALSE(r.line_too_long());
  r.feed("\r", &out);
  r.feed("\n.\r\n", &out);
  EXPECT_TRUE(r.line_too_long());
}

TEST(DataReaderTest, LineLimitResetsAfterEachLine) {
  const Decoded d = decode(line_of(998) + line_of(998) + ".\r\n", BareNewline::kReject);
  EXPECT_FALSE(d.line_too_long);
}

TEST(DataReaderTest, NormalisedLineEndCountsTwoTowardsLength) {
  const Decoded ok = decode(std::string(998, 'x') + "\n.\r\n", BareNewline::kNormalize);
  EXPECT_FALSE(ok.line_too_long);
  const Decoded bad = decode(std::string(999, 'x') + "\n.\r\n", BareNewline::kNormalize);
  EXPECT_TRUE(bad.line_too_long);
}

TEST(DataReaderTest, SmallLineLimitIsAParameter) {
  EXPECT_FALSE(decode("abc\r\n.\r\n", BareNewline::kReject, kBigSize, 5).line_too_long);
  EXPECT_TRUE(decode("abcd\r\n.\r\n", BareNewline::kReject, kBigSize, 5).line_too_long);
}

}  // namespace
}  // namespace tern
