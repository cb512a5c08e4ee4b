// milter/edit: the header, envelope and body changes of SMFIR_* replies
// applied as Sendmail and Postfix apply them.
#include <gtest/gtest.h>

#include "milter/edit.h"

namespace tern::milter {
namespace {

using K = Response::Kind;

Response mod(K kind, std::string name, std::string value = {}, uint32_t index = 0) {
  Response r;
  r.kind = kind;
  r.name = std::move(name);
  r.value = std::move(value);
  r.index = index;
  return r;
}

const char kMessage[] =
    "Received: from a\r\n\tby b\r\n"
    "Subject: hello\r\n"
    "X-Tag: one\r\n"
    "x-tag: two\r\n"
    "\r\n"
    "Body: not a header\r\n";

TEST(MilterEdit, SplitsTheHeader) {
  std::string text = kMessage;
  std::optional<HeaderSection> h = split_header(text, true);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->fields.size(), 4u);
  EXPECT_EQ(h->fields[0].name, "Received");
  EXPECT_EQ(h->fields[0].value, " from a\r\n\tby b");
  EXPECT_EQ(text.substr(h->body_offset), "Body: not a header\r\n");
  EXPECT_EQ(render_header(h->fields) + "\r\n" + text.substr(h->body_offset), text);
  // More needed while the section is open.
  EXPECT_FALSE(split_header("Subject: x\r\nFrom: y", false));
  // A line that is no field starts the body (no empty line).
  h = split_header("Subject: x\r\nnot a field\r\n", true);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->fields.size(), 1u);
  EXPECT_EQ(h->body_offset, 12u);
}

std::vector<HeaderField> fields() { return split_header(kMessage, true)->fields; }

TEST(MilterEdit, AddInsertChangeDelete) {
  std::vector<HeaderField> f = fields();
  apply_header_change(mod(K::kAddHeader, "X-Spam", "yes"), false, &f);
  EXPECT_EQ(f.back().name, "X-Spam");
  EXPECT_EQ(f.back().value, " yes");
  apply_header_change(mod(K::kInsHeader, "X-First", "1", 0), false, &f);
  EXPECT_EQ(f.front().name, "X-First");
  apply_header_change(mod(K::kInsHeader, "X-Far", "1", 99), false, &f);
  EXPECT_EQ(f.back().name, "X-Far");
  // The second X-Tag, whatever its case.
  apply_header_change(mod(K::kChgHeader, "X-TAG", "changed", 2), false, &f);
  EXPECT_EQ(render_header(f).find("x-tag: changed\r\n") != std::string::npos, true);
  apply_header_change(mod(K::kChgHeader, "Subject", "", 1), false, &f);
  EXPECT_EQ(render_header(f).find("Subject"), std::string::npos);
  // Changing a field that is not there adds it; deleting one does nothing.
  size_t n = f.size();
  apply_header_change(mod(K::kChgHeader, "X-New", "v", 1), false, &f);
  EXPECT_EQ(f.size(), n + 1);
  apply_header_change(mod(K::kChgHeader, "X-None", "", 1), false, &f);
  EXPECT_EQ(f.size(), n + 1);
}

TEST(MilterEdit, HeaderValuesStayWellFormed) {
  EXPECT_EQ(header_value("a\nb", false), " a\r\n\tb");
  EXPECT_EQ(header_value("a\n b", false), " a\r\n b");
  EXPECT_EQ(header_value("a\r\n\tb\r\n", false), " a\r\n\tb");
  EXPECT_EQ(header_value(std::string("a\0b\rc", 5), false), " abc");
  EXPECT_EQ(header_value(" lead", true), " lead");
}

TEST(MilterEdit, Envelope) {
  Envelope env;
  env.mail.from = Address{"a", "example.org"};
  env.rcpts.push_back(RcptArgs{Address{"b", "example.org"}, 0, ""});
  std::string error;
  EXPECT_TRUE(apply_envelope_change(mod(K::kAddRcpt, "c@example.org"), &env, &error)) << error;
  EXPECT_TRUE(apply_envelope_change(mod(K::kAddRcpt, "<C@example.org>"), &env, &error));
  ASSERT_EQ(env.rcpts.size(), 2u);  // once
  EXPECT_TRUE(
      apply_envelope_change(mod(K::kAddRcptPar, "<d@example.org>", "NOTIFY=NEVER"), &env, &error))
      << error;
  EXPECT_EQ(env.rcpts.back().notify, kNotifyNever);
  EXPECT_TRUE(apply_envelope_change(mod(K::kDelRcpt, "<B@example.org>"), &env, &error));
  ASSERT_EQ(env.rcpts.size(), 2u);
  EXPECT_EQ(env.rcpts[0].to.str(), "c@example.org");
  EXPECT_TRUE(apply_envelope_change(mod(K::kChgFrom, "<>"), &env, &error));
  EXPECT_TRUE(env.mail.from.is_null());
  EXPECT_TRUE(
      apply_envelope_change(mod(K::kChgFrom, "<z@example.org>", "BODY=8BITMIME"), &env, &error));
  EXPECT_EQ(env.mail.from.str(), "z@example.org");
  EXPECT_EQ(env.mail.body, BodyType::k8BitMime);
  EXPECT_FALSE(apply_envelope_change(mod(K::kAddRcpt, "<not an address>"), &env, &error));
  EXPECT_NE(error, "");
  EXPECT_FALSE(apply_envelope_change(mod(K::kChgFrom, "<a@b>", "BOGUS=1"), &env, &error));
}

TEST(MilterEdit, ReplacementBodyGetsCrlf) {
  BodyNormalizer n;
  std::string out = n.feed("one\ntwo\r");
  out += n.feed("\nthree\rfour");
  out += n.finish();
  EXPECT_EQ(out, "one\r\ntwo\r\nthree\r\nfour\r\n");
  BodyNormalizer empty;
  EXPECT_EQ(empty.finish(), "");
  BodyNormalizer done;
  EXPECT_EQ(done.feed("x\r\n") + done.finish(), "x\r\n");
}

}  // namespace
}  // namespace tern::milter
