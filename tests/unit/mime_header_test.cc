// Header fields: folding (RFC 5322 2.2.3), unstructured text and phrases
// with RFC 2047 where needed, mailbox lists, RFC 2231 parameters.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "mime/encoded_word.h"
#include "mime/header.h"

namespace tern::mime {
namespace {

std::vector<std::string> lines_of(const std::string& field) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = field.find("\r\n", start)) != std::string::npos; start = end + 2)
    lines.push_back(field.substr(start, end - start));
  EXPECT_EQ(start, field.size()) << "field must end with CRLF";
  return lines;
}

// The field value after unfolding (RFC 5322 2.2.3: remove the CRLFs) and
// dropping the one space after the colon.
std::string unfolded_value(const std::string& field) {
  std::string v = field.substr(field.find(':') + 1);
  v.resize(v.size() - 2);
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v.compare(i, 2, "\r\n") == 0) {
      ++i;
      continue;
    }
    out += v[i];
  }
  return out.substr(out.empty() || out[0] != ' ' ? 0 : 1);
}

std::string unstructured(std::string_view name, std::string_view text) {
  FieldWriter w(name);
  add_unstructured(w, text);
  return w.finish();
}

std::string phrase(std::string_view text) {
  FieldWriter w("X");
  add_phrase(w, text);
  return w.finish();
}

TEST(MimeHeaderTest, ShortFieldIsOneLine) {
  EXPECT_EQ(unstructured("Subject", "Hello world"), "Subject: Hello world\r\n");
}

TEST(MimeHeaderTest, FoldsAtWhitespaceWithin78) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "word" + std::to_string(i) + " ";
  const std::string field = unstructured("Subject", text);
  const std::vector<std::string> lines = lines_of(field);
  ASSERT_GT(lines.size(), 3u);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_LE(lines[i].size(), kSoftLineLimit) << lines[i];
    if (i > 0) {
      EXPECT_EQ(lines[i][0], ' ');  // a continuation starts with WSP
    }
  }
  EXPECT_EQ(unfolded_value(field), text.substr(0, text.size() - 1));  // trailing space dropped
}

TEST(MimeHeaderTest, KeepsInnerWhitespaceRuns) {
  EXPECT_EQ(unstructured("Subject", "  a \t  b  "), "Subject: a \t  b\r\n");
}

TEST(MimeHeaderTest, EncodesOnlyTheWordsThatNeedIt) {
  const std::string field = unstructured("Subject", "Grüße aus Köln und Berlin");
  EXPECT_EQ(field.find("aus"), field.find(" aus ") + 1);
  EXPECT_NE(field.find(" und Berlin"), std::string::npos);
  EXPECT_EQ(decode_words(unfolded_value(field)), "Grüße aus Köln und Berlin");
}

TEST(MimeHeaderTest, AdjacentEncodedWordsCarryTheSpaceBetweenThem) {
  const std::string field = unstructured("Subject", "Ελλάδα Κρήτη ok");
  EXPECT_EQ(decode_words(unfolded_value(field)), "Ελλάδα Κρήτη ok");
}

TEST(MimeHeaderTest, TextThatLooksEncodedIsEncoded) {
  const std::string field = unstructured("Subject", "=?UTF-8?Q?x?= literal");
  EXPECT_EQ(field.find("=?UTF-8?Q?x?="), std::string::npos);
  EXPECT_EQ(decode_words(unfolded_value(field)), "=?UTF-8?Q?x?= literal");
}

TEST(MimeHeaderTest, OverlongWordsAreEncodedNotLeftOver998) {
  const std::string word(3000, 'x');
  const std::string field = unstructured("Subject", "a " + word + " b");
  for (const std::string& l : lines_of(field)) EXPECT_LE(l.size(), kSoftLineLimit);
  EXPECT_EQ(decode_words(unfolded_value(field)), "a " + word + " b");
  // A long but not overlong word stays literal, over the soft limit.
  const std::string url = "https://example.com/" + std::string(200, 'p');
  EXPECT_NE(unstructured("X-Url", url).find(url), std::string::npos);
}

TEST(MimeHeaderTest, LongWhitespaceRunsAreEncoded) {
  const std::string text = "a" + std::string(2000, ' ') + "b";
  const std::string field = unstructured("Subject", text);
  for (const std::string& l : lines_of(field)) EXPECT_LE(l.size(), kSoftLineLimit);
  EXPECT_EQ(decode_words(unfolded_value(field)), text);
}

TEST(MimeHeaderTest, ControlCharactersAreEncoded) {
  const std::string field = unstructured("Subject", "bell\a here");
  EXPECT_EQ(field.find('\a'), std::string::npos);
  EXPECT_EQ(decode_words(unfolded_value(field)), "bell\a here");
}

TEST(MimeHeaderTest, RandomUnstructuredRoundTrips) {
  std::mt19937 rng(5322);
  const std::vector<std::string> pieces = {
      "a", "bc", " ", "  ", "\t", "ü", "€", "😀", "=?", "?=", ".", "\"", std::string(90, 'L')};
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const size_t n = rng() % 80;
    for (size_t i = 0; i < n; ++i) text += pieces[rng() % pieces.size()];
    const std::string field = unstructured("Subject", text);
    for (const std::string& l : lines_of(field)) EXPECT_LE(l.size(), kHardLineLimit);
    // Expected: the text without leading/trailing whitespace.
    size_t b = text.find_first_not_of(" \t"), e = text.find_last_not_of(" \t");
    const std::string trimmed = b == std::string::npos ? "" : text.substr(b, e - b + 1);
    EXPECT_EQ(decode_words(unfolded_value(field)), trimmed) << field;
  }
}

TEST(MimeHeaderTest, PhraseOfAtomsIsLiteral) {
  EXPECT_EQ(phrase("  John   Smith "), "X: John Smith\r\n");
}

TEST(MimeHeaderTest, PhraseWithSpecialsIsQuoted) {
  EXPECT_EQ(phrase("Doe, John Q."), "X: \"Doe, John Q.\"\r\n");
  EXPECT_EQ(phrase("say \"hi\" \\o/"), "X: \"say \\\"hi\\\" \\\\o/\"\r\n");
}

TEST(MimeHeaderTest, PhraseWithUtf8UsesEncodedWords) {
  // Adjacent words needing encoding share one encoded word, space included.
  EXPECT_EQ(phrase("Jörg Müller"), "X: =?UTF-8?B?SsO2cmcgTcO8bGxlcg==?=\r\n");
  // A non-atom beside UTF-8 cannot be quoted (no encoded word in quotes):
  // it is encoded too.
  EXPECT_EQ(phrase("Müller, Jörg"), "X: =?UTF-8?B?TcO8bGxlciwgSsO2cmc=?=\r\n");
  // Atoms stay readable.
  EXPECT_EQ(phrase("Team Ü"), "X: Team =?UTF-8?B?w5w=?=\r\n");
  EXPECT_EQ(phrase("Équipe de France"), "X: =?UTF-8?Q?=C3=89quipe?= de France\r\n");
  EXPECT_EQ(mime::decode_words(unfolded_value(phrase("Müller, Jörg"))), "Müller, Jörg");
}

TEST(MimeHeaderTest, LongQuotedPhraseFoldsInsideTheQuotes) {
  std::string name = "Dr.";
  for (int i = 0; i < 20; ++i) name += " Name" + std::to_string(i);
  const std::string field = phrase(name);
  for (const std::string& l : lines_of(field)) EXPECT_LE(l.size(), kSoftLineLimit);
  EXPECT_EQ(unfolded_value(field), "\"" + name + "\"");
}

TEST(MimeHeaderTest, Mailboxes) {
  FieldWriter w("To");
  add_mailboxes(w, {{"", "a@example.com"}, {"Bob Smith", "bob@example.com"}, {"Zoë", "z@x.o"}});
  // Exactly 76 octets: no fold. (Q and B tie for "Zoë"; Q wins.)
  EXPECT_EQ(w.finish(),
            "To: a@example.com, Bob Smith <bob@example.com>, =?UTF-8?Q?Zo=C3=AB?= <z@x.o>\r\n");
  FieldWriter v("To");
  add_mailboxes(v, {{"", "a@example.com"}, {"Bob Smith", "bob@example.com"}, {"Zoë", "z@x.or"}});
  EXPECT_EQ(v.finish(),
            "To: a@example.com, Bob Smith <bob@example.com>, =?UTF-8?Q?Zo=C3=AB?=\r\n"
            " <z@x.or>\r\n");
}

TEST(MimeHeaderTest, ManyMailboxesFold) {
  std::vector<Mailbox> list;
  for (int i = 0; i < 30; ++i) list.push_back({"User " + std::to_string(i), "u@example.com"});
  FieldWriter w("Cc");
  add_mailboxes(w, list);
  const std::string field = w.finish();
  for (const std::string& l : lines_of(field)) EXPECT_LE(l.size(), kSoftLineLimit);
  EXPECT_NE(field.find("User 29 <u@example.com>\r\n"), std::string::npos);
}

std::string param(std::string_view attribute, std::string_view value) {
  FieldWriter w("Content-Disposition");
  w.add("attachment");
  add_param(w, attribute, value);
  return w.finish();
}

TEST(MimeHeaderTest, ParamAsTokenOrQuoted) {
  EXPECT_EQ(param("filename", "a.pdf"), "Content-Disposition: attachment; filename=a.pdf\r\n");
  EXPECT_EQ(param("filename", "my file (1).pdf"),
            "Content-Disposition: attachment; filename=\"my file (1).pdf\"\r\n");
  EXPECT_EQ(param("filename", "q\"b\\s"),
            "Content-Disposition: attachment; filename=\"q\\\"b\\\\s\"\r\n");
}

// RFC 2231 4: charset, empty language, %-encoded octets.
TEST(MimeHeaderTest, ParamRfc2231ForNonAscii) {
  EXPECT_EQ(param("filename", "résumé.pdf"),
            "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n");
  // "*", "'" and "%" are not attribute-chars: they are encoded.
  EXPECT_EQ(param("filename", "ü*'%.txt"),
            "Content-Disposition: attachment; filename*=utf-8''%C3%BC%2A%27%25.txt\r\n");
}

// RFC 2231 3: continuations, numbered from 0, charset only in the first.
TEST(MimeHeaderTest, ParamRfc2231Continuations) {
  std::string name;
  for (int i = 0; i < 30; ++i) name += "日本";
  const std::string field = param("filename", name + ".txt");
  const std::vector<std::string> lines = lines_of(field);
  ASSERT_GT(lines.size(), 3u);
  for (const std::string& l : lines) EXPECT_LE(l.size(), kSoftLineLimit);
  EXPECT_EQ(lines[0], "Content-Disposition: attachment;");
  EXPECT_EQ(lines[1].rfind(" filename*0*=utf-8''%E6%97%A5", 0), 0u);
  EXPECT_EQ(lines[2].rfind(" filename*1*=%", 0), 0u);
  // Segments hold whole characters: each ends after a complete 9-octet "%XX%XX%XX".
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string l = lines[i];
    if (l.back() == ';') l.pop_back();
    const std::string pct = l.substr(l.find_last_of("'=") + 1);
    if (i + 1 < lines.size()) {  // the last one ends with ".txt"
      EXPECT_EQ(pct.size() % 9, 0u) << l;
    }
  }
}

TEST(MimeHeaderTest, LongAsciiParamUsesContinuationsToo) {
  const std::string field = param("filename", std::string(150, 'a') + ".txt");
  for (const std::string& l : lines_of(field)) EXPECT_LE(l.size(), kSoftLineLimit);
  EXPECT_NE(field.find("filename*2*="), std::string::npos);
}

TEST(MimeHeaderTest, FieldNames) {
  EXPECT_TRUE(valid_field_name("X-Mailer"));
  EXPECT_TRUE(valid_field_name(std::string(76, 'X')));
  EXPECT_FALSE(valid_field_name(std::string(77, 'X')));
  EXPECT_FALSE(valid_field_name(""));
  EXPECT_FALSE(valid_field_name("X:Y"));
  EXPECT_FALSE(valid_field_name("X Y"));
  EXPECT_FALSE(valid_field_name("X\r\nBcc"));
  EXPECT_FALSE(valid_field_name("Übel"));
}

}  // namespace
}  // namespace tern::mime
