// Body transfer encodings (RFC 2045 6): quoted-printable against known
// vectors and rules, base64 line length, the 7bit / QP / base64 choice.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "mime/transfer_encoding.h"

namespace tern::mime {
namespace {

size_t longest_line(const std::string& s) {
  size_t longest = 0, start = 0;
  for (;;) {
    const size_t end = s.find("\r\n", start);
    longest = std::max(longest, (end == std::string::npos ? s.size() : end) - start);
    if (end == std::string::npos) return longest;
    start = end + 2;
  }
}

TEST(MimeQpTest, EscapesEqualsAnd8Bit) {
  EXPECT_EQ(qp_encode("a=b"), "a=3Db");
  EXPECT_EQ(qp_encode("Café"), "Caf=C3=A9");
  EXPECT_EQ(qp_encode(std::string("\0\x7f", 2)), "=00=7F");
}

TEST(MimeQpTest, KeepsCrlfAndEncodesLoneBreaks) {
  EXPECT_EQ(qp_encode("a\r\nb\r\n"), "a\r\nb\r\n");
  EXPECT_EQ(qp_encode("a\rb\nc"), "a=0Db=0Ac");
}

// RFC 2045 6.7 (3): whitespace may not end an encoded line.
TEST(MimeQpTest, EncodesTrailingWhitespace) {
  EXPECT_EQ(qp_encode("a \r\nb\t\r\n c "), "a=20\r\nb=09\r\n c=20");
  EXPECT_EQ(qp_encode("a b"), "a b");
}

// The example of RFC 2045 6.7 (5) has the soft break right after a space.
TEST(MimeQpTest, SoftBreaksAt76) {
  const std::string line(200, 'x');
  const std::string qp = qp_encode(line);
  EXPECT_EQ(qp.substr(0, 77), std::string(75, 'x') + "=\r");
  EXPECT_EQ(longest_line(qp), 76u);
  EXPECT_EQ(qp_decode(qp), line);
  // A line of exactly 76 needs no soft break; 77 does.
  EXPECT_EQ(qp_encode(std::string(76, 'y')), std::string(76, 'y'));
  EXPECT_EQ(qp_encode(std::string(77, 'y')), std::string(75, 'y') + "=\r\nyy");
}

TEST(MimeQpTest, NeverSplitsAnEscape) {
  const std::string text = std::string(74, 'x') + "é";  // "=C3" cannot fit at column 75
  EXPECT_EQ(qp_encode(text), std::string(74, 'x') + "=\r\n=C3=A9");
}

// The well-known vector (Antoine de Saint-Exupéry, Citadelle) in UTF-8,
// exactly as Python's quopri.encodestring() gives it (lines of 75 + "=").
TEST(MimeQpTest, CitadelleVector) {
  const std::string text =
      "J'interdis aux marchands de vanter trop leurs marchandises. Car ils se font "
      "vite pédagogues et t'enseignent comme but ce qui n'est par essence qu'un moyen, "
      "et te trompant ainsi sur la route à suivre les voilà bientôt qui te dégradent, "
      "car si leur musique est vulgaire ils te fabriquent pour te la vendre une âme "
      "vulgaire.";
  const std::string expected =
      "J'interdis aux marchands de vanter trop leurs marchandises. Car ils se font=\r\n"
      " vite p=C3=A9dagogues et t'enseignent comme but ce qui n'est par essence qu=\r\n"
      "'un moyen, et te trompant ainsi sur la route =C3=A0 suivre les voil=C3=A0 b=\r\n"
      "ient=C3=B4t qui te d=C3=A9gradent, car si leur musique est vulgaire ils te =\r\n"
      "fabriquent pour te la vendre une =C3=A2me vulgaire.";
  EXPECT_EQ(qp_encode(text), expected);
  EXPECT_EQ(qp_decode(expected), text);
}

TEST(MimeQpTest, DecodeIsStrict) {
  EXPECT_EQ(qp_decode("a=3db"), "a=b");        // lower-case hex is tolerated
  EXPECT_EQ(qp_decode("a  \r\nb"), "a\r\nb");  // transport padding goes
  EXPECT_EQ(qp_decode("soft=\r\nbreak"), "softbreak");
  EXPECT_FALSE(qp_decode("a=4"));
  EXPECT_FALSE(qp_decode("a=G1"));
}

TEST(MimeQpTest, RandomRoundTrips) {
  std::mt19937 rng(2045);
  for (int round = 0; round < 200; ++round) {
    std::string data;
    const size_t n = rng() % 600;
    for (size_t i = 0; i < n; ++i) {
      const unsigned r = rng() % 10;
      data += r < 6    ? static_cast<char>('a' + rng() % 26)
              : r == 6 ? ' '
              : r == 7 ? '\t'
              : r == 8 ? '\n'
                       : static_cast<char>(rng() % 256);
    }
    // Text mode: CRLF is the only line break it keeps as is.
    std::string crlf;
    for (char c : data) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    const std::string qp = qp_encode(crlf);
    EXPECT_LE(longest_line(qp), 76u);
    for (unsigned char c : qp)
      ASSERT_TRUE(c == '\r' || c == '\n' || c == '\t' || (c >= 32 && c < 127));
    EXPECT_EQ(qp_decode(qp), crlf);
  }
}

TEST(MimeBase64Test, LinesOf76) {
  EXPECT_EQ(base64_lines(""), "");
  EXPECT_EQ(base64_lines("foobar"), "Zm9vYmFy");
  const std::string data(57 * 2 + 1, '\xAB');  // 57 octets make one 76-character line
  const std::string b64 = base64_lines(data);
  EXPECT_EQ(b64.find("\r\n"), 76u);
  EXPECT_EQ(b64.find("\r\n", 78), 154u);
  EXPECT_EQ(b64.size(), 76u + 2 + 76 + 2 + 4);
}

TEST(MimeChooseTest, SevenBitForShortAsciiLines) {
  EXPECT_EQ(choose_text_encoding("Hello\r\nworld\r\n"), TransferEncoding::k7bit);
  EXPECT_EQ(choose_text_encoding(""), TransferEncoding::k7bit);
  EXPECT_EQ(choose_text_encoding(std::string(998, 'a') + "\r\nb"), TransferEncoding::k7bit);
}

TEST(MimeChooseTest, QuotedPrintableForLongLinesOrSome8Bit) {
  EXPECT_EQ(choose_text_encoding(std::string(999, 'a')), TransferEncoding::kQuotedPrintable);
  EXPECT_EQ(choose_text_encoding("Grüße aus Köln\r\n"), TransferEncoding::kQuotedPrintable);
  EXPECT_EQ(choose_text_encoding(std::string("nul\0inside", 10)),
            TransferEncoding::kQuotedPrintable);
  EXPECT_EQ(choose_text_encoding("bare\nLF"), TransferEncoding::kQuotedPrintable);
}

TEST(MimeChooseTest, Base64ForMostly8Bit) {
  EXPECT_EQ(choose_text_encoding("Привет, мир! Это длинный текст по-русски.\r\n"),
            TransferEncoding::kBase64);
}

TEST(MimeChooseTest, Names) {
  EXPECT_EQ(encoding_name(TransferEncoding::k7bit), "7bit");
  EXPECT_EQ(encoding_name(TransferEncoding::kQuotedPrintable), "quoted-printable");
  EXPECT_EQ(encoding_name(TransferEncoding::kBase64), "base64");
}

}  // namespace
}  // namespace tern::mime
