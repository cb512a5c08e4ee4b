// RFC 2047 encoded words: B/Q choice, the 75-octet limit, splitting at UTF-8
// character boundaries, decoding (RFC 2047 8 examples) and round trips.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "mime/encoded_word.h"

namespace tern::mime {
namespace {

std::string join_decoded(const std::vector<std::string>& words) {
  std::string joined;
  for (const std::string& w : words) joined += (joined.empty() ? "" : " ") + w;
  return decode_words(joined);
}

// True if s is well-formed UTF-8 (enough for these tests: lead/continuation
// structure).
bool utf8_whole(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c >= 0x80 && c < 0xC0) return false;
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

TEST(MimeEncodedWordTest, QWhenShorter) {
  // Q: 17 characters; B: 13 octets in 20.
  EXPECT_EQ(encode_words("Café au lait"),
            std::vector<std::string>{"=?UTF-8?Q?Caf=C3=A9_au_lait?="});
  EXPECT_EQ(encode_words("a b"), std::vector<std::string>{"=?UTF-8?Q?a_b?="});
}

TEST(MimeEncodedWordTest, BWhenShorter) {
  // Q: 9 characters; B: 6 octets in 8.
  EXPECT_EQ(encode_words("Café"), std::vector<std::string>{"=?UTF-8?B?Q2Fmw6k=?="});
  // Every octet of "Ελλάδα" is 8-bit: Q needs 3 characters each, B 4 per 3.
  EXPECT_EQ(encode_words("Ελλάδα"), std::vector<std::string>{"=?UTF-8?B?zpXOu867zqzOtM6x?="});
}

TEST(MimeEncodedWordTest, QEscapesEverythingUnsafeInAPhrase) {
  // RFC 2047 5 (3): only letters, digits and !*+-/ stand for themselves.
  // Twenty letters around each character keep Q the shorter encoding.
  const std::string pad(20, 'a');
  for (char c : std::string("!*+-/")) {
    EXPECT_EQ(encode_words(pad + c + "\xC3\xA4"),
              std::vector<std::string>{"=?UTF-8?Q?" + pad + c + "=C3=A4?="});
  }
  EXPECT_EQ(encode_words(pad + " \xC3\xA4"),
            std::vector<std::string>{"=?UTF-8?Q?" + pad + "_=C3=A4?="});
  const char* kHex = "0123456789ABCDEF";
  for (char c : std::string("\"(),.:;<>@[\\]_=?#$%&'^`{|}~\t")) {
    const std::string escape = {'=', kHex[static_cast<unsigned char>(c) >> 4], kHex[c & 15]};
    EXPECT_EQ(encode_words(pad + c + "\xC3\xA4"),
              std::vector<std::string>{"=?UTF-8?Q?" + pad + escape + "=C3=A4?="});
  }
}

TEST(MimeEncodedWordTest, WordsStayWithin75AndSplitAtCharacters) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "€ü日😀";  // 3, 2, 3 and 4 octets
  const std::vector<std::string> words = encode_words(text);
  ASSERT_GT(words.size(), 5u);
  for (const std::string& w : words) {
    EXPECT_LE(w.size(), kMaxEncodedWord) << w;
    const std::optional<std::string> one = decode_word(w);
    ASSERT_TRUE(one) << w;
    EXPECT_TRUE(utf8_whole(*one)) << w;  // no character cut in two
  }
  EXPECT_EQ(join_decoded(words), text);
}

TEST(MimeEncodedWordTest, PrefersToSplitAfterASpace) {
  const std::string text = "Ελληνικά ονόματα είναι μεγάλα και πολύ μεγάλα και πολύ πολύ μεγάλα";
  const std::vector<std::string> words = encode_words(text);
  ASSERT_GT(words.size(), 2u);
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    const std::string one = decode_word(words[i]).value_or("");
    EXPECT_EQ(one.back(), ' ') << one;
    EXPECT_LE(words[i].size(), kMaxEncodedWord);
  }
  EXPECT_EQ(join_decoded(words), text);
  // Without spaces, words are filled up.
  const std::vector<std::string> full = encode_words(std::string(100, 'x') + "ü");
  EXPECT_EQ(full[0].size(), kMaxEncodedWord);
}

TEST(MimeEncodedWordTest, FirstWordFitsTheRoomGiven) {
  const std::string text(100, 'x');  // Q: 1 octet each
  const std::vector<std::string> words = encode_words(text + "é", 30);
  EXPECT_EQ(words[0].size(), 30u);
  EXPECT_EQ(words[1].size(), kMaxEncodedWord);
  EXPECT_EQ(join_decoded(words), text + "é");
}

TEST(MimeEncodedWordTest, TooLittleRoomFallsBackToAFullWord) {
  const std::vector<std::string> words = encode_words("😀😀", 15);
  ASSERT_EQ(words.size(), 1u);
  EXPECT_EQ(decode_word(words[0]), "😀😀");
}

TEST(MimeEncodedWordTest, InvalidUtf8StillRoundTrips) {
  const std::string text = "\xC3(\xFF\xE2\x82 ok \x80";
  EXPECT_EQ(join_decoded(encode_words(text)), text);
}

TEST(MimeEncodedWordTest, RandomRoundTrips) {
  std::mt19937 rng(2047);
  const std::vector<std::string> pieces = {"a", " ", "Z", "ü",  "€",   "😀",
                                           "=", "?", "_", "\t", "日本"};
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const size_t n = 1 + rng() % 120;
    for (size_t i = 0; i < n; ++i) text += pieces[rng() % pieces.size()];
    const size_t first = 10 + rng() % 70;
    const std::vector<std::string> words = encode_words(text, first);
    for (const std::string& w : words) EXPECT_LE(w.size(), kMaxEncodedWord);
    EXPECT_EQ(join_decoded(words), text);
  }
}

// RFC 2047 8, with UTF-8 for ISO-8859-1.
TEST(MimeEncodedWordTest, DecodesRfc2047Examples) {
  EXPECT_EQ(decode_words("(=?UTF-8?Q?a?=)"), "(=?UTF-8?Q?a?=)");  // not a word: kept
  EXPECT_EQ(decode_words("=?UTF-8?Q?a?= b"), "a b");
  EXPECT_EQ(decode_words("=?UTF-8?Q?a?= =?UTF-8?Q?b?="), "ab");
  EXPECT_EQ(decode_words("=?UTF-8?Q?a?=  =?UTF-8?Q?b?="), "ab");
  EXPECT_EQ(decode_words("=?UTF-8?Q?a?=\t =?UTF-8?Q?b?="), "ab");
  EXPECT_EQ(decode_words("=?UTF-8?Q?a_b?="), "a b");
  EXPECT_EQ(decode_words("=?UTF-8?Q?a?= =?UTF-8?Q?_b?="), "a b");
  EXPECT_EQ(decode_words("x =?utf-8*en?b?w6k=?= y"), "x é y");
  EXPECT_EQ(decode_words("=?US-ASCII?Q?Keith_Moore?="), "Keith Moore");
}

TEST(MimeEncodedWordTest, DecodeKeepsWhatItDoesNotUnderstand) {
  EXPECT_EQ(decode_words("=?ISO-8859-1?Q?a?="), "=?ISO-8859-1?Q?a?=");
  EXPECT_EQ(decode_words("=?UTF-8?X?a?="), "=?UTF-8?X?a?=");
  EXPECT_EQ(decode_words("=?UTF-8?Q?a=4?="), "=?UTF-8?Q?a=4?=");
  EXPECT_EQ(decode_words("=?UTF-8?B?!!!!?="), "=?UTF-8?B?!!!!?=");
  EXPECT_EQ(decode_words("plain  text "), "plain  text ");
}

TEST(MimeEncodedWordTest, LooksEncoded) {
  EXPECT_TRUE(looks_encoded("=?x?="));
  EXPECT_TRUE(looks_encoded("a=?utf-8?q?b?=c"));
  EXPECT_FALSE(looks_encoded("=?="));
  EXPECT_FALSE(looks_encoded("a=b?c"));
}

}  // namespace
}  // namespace tern::mime
