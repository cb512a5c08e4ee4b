// Message: the MIME structure of every body combination, the envelope,
// Bcc, refused input (header injection), determinism, and the line-length
// and CRLF guarantees under long random input.
#include "tern/message.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/base64.h"
#include "mime/encoded_word.h"
#include "mime/header.h"
#include "mime/text.h"
#include "mime/transfer_encoding.h"

namespace tern {
namespace {

const Message::Token kToken = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
constexpr int64_t kDate = 1700000000;  // Tue, 14 Nov 2023 22:13:20 +0000

// ---------------------------------------------------------------------------
// A small reader for what render() writes, enough to check structure.

struct Part {
  std::vector<std::pair<std::string, std::string>> fields;  // lower-case name, unfolded value
  std::string body;
  std::vector<Part> parts;  // for multipart/*

  const std::string* field(std::string_view name) const {
    for (const auto& [n, v] : fields)
      if (n == name) return &v;
    return nullptr;
  }
  std::string get(std::string_view name) const {
    const std::string* v = field(name);
    return v ? *v : "";
  }
  std::string type() const {
    const std::string t = get("content-type");
    return t.substr(0, t.find(';'));
  }
  // The body with its transfer encoding undone.
  std::string decoded() const {
    const std::string cte = get("content-transfer-encoding");
    if (cte == "base64") {
      std::string flat;
      for (char c : body)
        if (c != '\r' && c != '\n') flat += c;
      return base64_decode(flat).value_or("<bad base64>");
    }
    if (cte == "quoted-printable") return mime::qp_decode(body).value_or("<bad qp>");
    return body;
  }
};

Part parse(std::string_view raw) {
  Part p;
  const size_t end = raw.find("\r\n\r\n");
  EXPECT_NE(end, std::string_view::npos);
  const std::string_view head = raw.substr(0, end + 2);
  p.body = std::string(raw.substr(end + 4));
  for (size_t i = 0; i < head.size();) {
    size_t eol = head.find("\r\n", i);
    std::string line(head.substr(i, eol - i));
    i = eol + 2;
    if (line[0] == ' ' || line[0] == '\t') {
      p.fields.back().second += line;  // unfold: drop the CRLF only
      continue;
    }
    const size_t colon = line.find(':');
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    p.fields.emplace_back(mime::ascii_lower(line.substr(0, colon)), value);
  }
  const std::string ct = p.get("content-type");
  if (ct.rfind("multipart/", 0) == 0) {
    const size_t b = ct.find("boundary=\"");
    EXPECT_NE(b, std::string::npos) << ct;
    const std::string boundary = ct.substr(b + 10, ct.find('"', b + 10) - b - 10);
    const std::string delim = "--" + boundary;
    EXPECT_EQ(p.body.rfind(delim + "\r\n", 0), 0u) << "no preamble expected";
    size_t pos = 0;
    for (;;) {
      const size_t start = pos + delim.size();
      if (p.body.compare(start, 4, "--\r\n") == 0) break;
      const size_t next = p.body.find("\r\n" + delim, start);
      EXPECT_NE(next, std::string::npos);
      if (next == std::string::npos) break;
      p.parts.push_back(parse(std::string_view(p.body).substr(start + 2, next - start - 2)));
      pos = next + 2;
    }
  }
  return p;
}

Message basic() {
  Message m(kDate, kToken);
  EXPECT_TRUE(m.set_from("Alice <alice@example.com>").ok());
  EXPECT_TRUE(m.add_to("bob@example.org").ok());
  return m;
}

std::string render(const Message& m) {
  std::string out;
  const MessageStatus st = m.render(&out);
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

// Checks the guarantees every rendered message has; returns the longest line.
size_t check_lines(const std::string& msg) {
  size_t longest = 0, start = 0;
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\r') {
      EXPECT_TRUE(i + 1 < msg.size() && msg[i + 1] == '\n') << "bare CR at " << i;
    } else if (msg[i] == '\n') {
      EXPECT_TRUE(i > 0 && msg[i - 1] == '\r') << "bare LF at " << i;
      longest = std::max(longest, i - 1 - start);
      start = i + 1;
    }
  }
  EXPECT_EQ(start, msg.size()) << "must end with CRLF";
  EXPECT_LE(longest, 998u);
  return longest;
}

// ---------------------------------------------------------------------------
// Headers.

TEST(MessageTest, TextOnly) {
  Message m = basic();
  ASSERT_TRUE(m.set_subject("Hello").ok());
  m.set_text("Hi Bob,\nsee you.\n");
  const std::string out = render(m);
  EXPECT_EQ(out,
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            "From: Alice <alice@example.com>\r\n"
            "To: bob@example.org\r\n"
            "Subject: Hello\r\n"
            "Message-ID: <deadbeef0102030405060708090a0b0c@example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 7bit\r\n"
            "\r\n"
            "Hi Bob,\r\nsee you.\r\n");
}

TEST(MessageTest, HeaderOrderAndAllAddressFields) {
  Message m = basic();
  ASSERT_TRUE(m.add_cc("Carol <carol@example.org>, dave@example.org").ok());
  ASSERT_TRUE(m.add_reply_to("list@example.com").ok());
  ASSERT_TRUE(m.add_header("X-Mailer", "tern").ok());
  ASSERT_TRUE(m.add_header("In-Reply-To", "<x@y>").ok());
  const Part p = parse(render(m));
  std::vector<std::string> names;
  for (const auto& f : p.fields) names.push_back(f.first);
  EXPECT_EQ(names, (std::vector<std::string>{"date", "from", "reply-to", "to", "cc", "message-id",
                                             "x-mailer", "in-reply-to", "mime-version",
                                             "content-type", "content-transfer-encoding"}));
  EXPECT_EQ(p.get("cc"), "Carol <carol@example.org>, dave@example.org");
}

// RFC 2369 3.2 and RFC 8058 3.1, as Gmail and Yahoo ask of bulk senders.
TEST(MessageTest, ListUnsubscribeAndOneClick) {
  Message m = basic();
  ASSERT_TRUE(m.set_list_unsubscribe({"https://example.com/u?id=42&t=a,b",
                                      "mailto:unsub@example.com?subject=unsubscribe"},
                                     true)
                  .ok());
  const std::string out = render(m);
  EXPECT_NE(out.find("List-Unsubscribe: <https://example.com/u?id=42&t=a,b>,\r\n"
                     " <mailto:unsub@example.com?subject=unsubscribe>\r\n"
                     "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            std::string::npos)
      << out;
  check_lines(out);
  // A short list stays on one line; without one_click there is no Post field.
  ASSERT_TRUE(m.set_list_unsubscribe({"mailto:u@example.com"}).ok());
  const Part p = parse(render(m));
  EXPECT_EQ(p.get("list-unsubscribe"), "<mailto:u@example.com>");
  EXPECT_EQ(p.field("list-unsubscribe-post"), nullptr);
  // An empty list removes both.
  ASSERT_TRUE(m.set_list_unsubscribe({}, true).ok());
  EXPECT_EQ(render(m).find("List-Unsubscribe"), std::string::npos);
}

// RFC 8689: REQUIRETLS is an envelope option (nothing in the bytes);
// TLS-Required: No is a header field, written once, removable.
TEST(MessageTest, RequireTlsAndTlsRequiredNo) {
  Message m = basic();
  const std::string plain = render(m);
  EXPECT_FALSE(m.require_tls());
  EXPECT_FALSE(m.tls_optional());
  m.set_require_tls(true);
  EXPECT_TRUE(m.require_tls());
  EXPECT_EQ(render(m), plain);  // the bytes do not change

  m.set_require_tls(false);
  m.set_tls_optional(true);
  m.set_tls_optional(true);  // idempotent: still one field
  EXPECT_TRUE(m.tls_optional());
  const std::string out = render(m);
  const Part p = parse(out);
  EXPECT_EQ(p.get("tls-required"), "No");
  EXPECT_EQ(out.find("TLS-Required: No\r\n"), out.rfind("TLS-Required"));
  // In the top-level header, before MIME-Version (not in a body part).
  EXPECT_LT(out.find("TLS-Required: No\r\n"), out.find("MIME-Version:"));
  check_lines(out);
  m.set_tls_optional(false);
  EXPECT_EQ(render(m), plain);
}

TEST(MessageTest, BadListUnsubscribeIsRefused) {
  Message m = basic();
  ASSERT_TRUE(m.set_list_unsubscribe({"HTTPS://example.com/u"}, true).ok());  // any case
  const std::string before = render(m);
  for (const char* bad : {"ftp://example.com/u", "https://a b", "https://a>\r\nBcc: e@x",
                          "mailto:", "example.com/u", "https://ex\xc3\xa4mple.com/"}) {
    EXPECT_EQ(m.set_list_unsubscribe({"mailto:u@example.com", bad}).code(),
              MessageError::kBadHeaderValue)
        << bad;
  }
  EXPECT_EQ(m.set_list_unsubscribe({std::string("https://x/") + std::string(900, 'a')}).code(),
            MessageError::kBadHeaderValue);
  // One-click needs an https URI to POST to (RFC 8058 3.1).
  const MessageStatus st =
      m.set_list_unsubscribe({"mailto:u@example.com", "http://example.com/u"}, true);
  EXPECT_EQ(st.code(), MessageError::kBadHeaderValue);
  EXPECT_NE(st.message().find("RFC 8058"), std::string::npos);
  EXPECT_EQ(render(m), before);  // unchanged by refusals
}

TEST(MessageTest, Utf8NamesAndSubjectAreEncodedWords) {
  Message m(kDate, kToken);
  ASSERT_TRUE(m.set_from(Mailbox{"Jörg Müller", "joerg@example.com"}).ok());
  ASSERT_TRUE(m.add_to(Mailbox{"Zoë", "zoe@example.org"}).ok());
  ASSERT_TRUE(m.set_subject("Grüße aus Köln").ok());
  const std::string out = render(m);
  for (unsigned char c : out) ASSERT_LT(c, 0x80);
  const Part p = parse(out);
  EXPECT_EQ(mime::decode_words(p.get("subject")), "Grüße aus Köln");
  EXPECT_EQ(Mailbox::parse(p.get("from")), (Mailbox{"Jörg Müller", "joerg@example.com"}));
  EXPECT_EQ(Mailbox::parse(p.get("to")), (Mailbox{"Zoë", "zoe@example.org"}));
  EXPECT_FALSE(m.needs_smtputf8());
  EXPECT_FALSE(m.is_8bit());
}

TEST(MessageTest, BccNeverAppears) {
  Message m = basic();
  ASSERT_TRUE(m.add_bcc("Secret Person <hidden@example.net>").ok());
  ASSERT_TRUE(m.add_bcc(Mailbox{"", "hidden2@example.net"}).ok());
  const std::string out = render(m);
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_EQ(out.find("Secret"), std::string::npos);
  EXPECT_EQ(mime::ascii_lower(out).find("bcc"), std::string::npos);
  EXPECT_EQ(m.recipients(), (std::vector<std::string>{"bob@example.org", "hidden@example.net",
                                                      "hidden2@example.net"}));
}

TEST(MessageTest, OnlyBccGetsUndisclosedRecipients) {
  Message m(kDate, kToken);
  ASSERT_TRUE(m.set_from("a@example.com").ok());
  ASSERT_TRUE(m.add_bcc("b@example.com").ok());
  const Part p = parse(render(m));
  EXPECT_EQ(p.get("to"), "undisclosed-recipients:;");
  EXPECT_EQ(Mailbox::parse_list(p.get("to")), std::vector<Mailbox>{});
}

TEST(MessageTest, DateAndMessageId) {
  Message m = basic();
  EXPECT_EQ(m.message_id(), "<deadbeef0102030405060708090a0b0c@example.com>");
  m.set_date(0);
  EXPECT_EQ(parse(render(m)).get("date"), "Thu, 01 Jan 1970 00:00:00 +0000");
  ASSERT_TRUE(m.set_message_id("<abc.123@host.example>").ok());
  EXPECT_EQ(m.message_id(), "<abc.123@host.example>");
  ASSERT_TRUE(m.set_message_id("x@[192.0.2.1]").ok());
  EXPECT_EQ(parse(render(m)).get("message-id"), "<x@[192.0.2.1]>");
  for (const char* bad :
       {"", "noat", "<a@b", "a b@c", "a@b@c", "@b", "a@", "a@b\r\nX: y", "ü@b", "<a>@b"}) {
    const MessageStatus st = m.set_message_id(bad);
    EXPECT_EQ(st.code(), MessageError::kBadMessageId) << bad;
  }
  EXPECT_EQ(m.message_id(), "<x@[192.0.2.1]>");
}

TEST(MessageTest, GeneratedIdsDifferAndDefaultDateIsNow) {
  Message a, b;
  EXPECT_NE(a.message_id(), b.message_id());
  EXPECT_EQ(a.message_id().size(), std::string("<@localhost>").size() + 32);
}

TEST(MessageTest, RenderIsDeterministic) {
  const auto build = [] {
    Message m = basic();
    m.set_text("t");
    m.set_html("<p>h</p>");
    EXPECT_TRUE(m.attach("a.bin", "xyz").ok());
    return m;
  };
  const Message m = build();
  EXPECT_EQ(render(m), render(m));
  EXPECT_EQ(render(m), render(build()));
}

// ---------------------------------------------------------------------------
// Refused input.

TEST(MessageTest, HeaderInjectionIsRefused) {
  Message m = basic();
  EXPECT_EQ(m.add_header("X-Test", "a\r\nBcc: evil@example.com").code(),
            MessageError::kBadHeaderValue);
  EXPECT_EQ(m.add_header("X-Test", "a\nb").code(), MessageError::kBadHeaderValue);
  EXPECT_EQ(m.add_header("X-Test", "a\rb").code(), MessageError::kBadHeaderValue);
  EXPECT_EQ(m.add_header("X-Test", std::string("a\0b", 3)).code(), MessageError::kBadHeaderValue);
  EXPECT_EQ(m.add_header("X-Test\r\nBcc", "x").code(), MessageError::kBadHeaderName);
  EXPECT_EQ(m.add_header("X Test", "x").code(), MessageError::kBadHeaderName);
  EXPECT_EQ(m.add_header("", "x").code(), MessageError::kBadHeaderName);
  EXPECT_EQ(m.set_subject("hi\r\nBcc: evil@example.com").code(), MessageError::kBadHeaderValue);
  EXPECT_EQ(m.add_to(Mailbox{"Eve\r\nBcc: evil@example.com", "e@example.com"}).code(),
            MessageError::kBadName);
  const MessageStatus st = m.add_cc(Mailbox{"", "e@example.com\r\nBcc: evil@example.com"});
  EXPECT_EQ(st.code(), MessageError::kBadAddress);
  EXPECT_EQ(st.message(), "not a mailbox: \"e@example.com??Bcc: evil@example.com\"");
  // "a\r\nBcc: evil@example.com" as an encoded word.
  EXPECT_EQ(m.add_to("=?UTF-8?B?YQ0KQmNjOiBldmlsQGV4YW1wbGUuY29t?= <e@example.com>").code(),
            MessageError::kBadName);
  const std::string out = render(m);
  EXPECT_EQ(out.find("evil"), std::string::npos);
  EXPECT_EQ(out.find("X-Test"), std::string::npos);
}

TEST(MessageTest, ReservedHeadersAreRefused) {
  Message m = basic();
  for (const char* name : {"From", "to", "CC", "Bcc", "Reply-To", "Subject", "Date", "Message-ID",
                           "MIME-Version", "Content-Type", "content-transfer-encoding"}) {
    EXPECT_EQ(m.add_header(name, "x").code(), MessageError::kReservedHeader) << name;
  }
  EXPECT_TRUE(m.add_header("Sender", "s@example.com").ok());
  EXPECT_TRUE(m.add_header("List-Unsubscribe", "<mailto:u@example.com>").ok());
}

TEST(MessageTest, BadAddressesAreRefusedAndListsAreAllOrNothing) {
  Message m(kDate, kToken);
  EXPECT_EQ(m.set_from("not an address").code(), MessageError::kBadAddress);
  EXPECT_EQ(m.set_from(Mailbox{"A", "a@@b"}).code(), MessageError::kBadAddress);
  EXPECT_EQ(m.set_envelope_from("x y@z").code(), MessageError::kBadAddress);
  EXPECT_EQ(m.add_to("good@example.com, bad").code(), MessageError::kBadAddress);
  EXPECT_TRUE(m.recipients().empty());
  std::string out;
  const MessageStatus st = m.render(&out);
  EXPECT_EQ(st.code(), MessageError::kNoFrom);
  EXPECT_TRUE(out.empty());
}

TEST(MessageTest, AttachmentAndImageChecks) {
  Message m = basic();
  EXPECT_EQ(m.attach("a", "x", "text").code(), MessageError::kBadMimeType);
  EXPECT_EQ(m.attach("a", "x", "text/plain; charset=x").code(), MessageError::kBadMimeType);
  EXPECT_EQ(m.attach("a", "x", "a b/c").code(), MessageError::kBadMimeType);
  EXPECT_EQ(m.inline_image("", "x", "image/png").code(), MessageError::kBadContentId);
  EXPECT_EQ(m.inline_image("a b", "x", "image/png").code(), MessageError::kBadContentId);
  EXPECT_EQ(m.inline_image("a\"b", "x", "image/png").code(), MessageError::kBadContentId);
  EXPECT_TRUE(m.inline_image("<logo@example.com>", "x", "image/png").ok());
  EXPECT_EQ(m.inline_image("logo@example.com", "x", "image/png").code(),
            MessageError::kDuplicateContentId);
  EXPECT_EQ(m.attach_file("/nonexistent/file.pdf").code(), MessageError::kFileError);
  EXPECT_EQ(m.attach_file("/").code(), MessageError::kFileError);
  EXPECT_EQ(m.inline_image_file("x", "/nonexistent.png").code(), MessageError::kFileError);
}

// ---------------------------------------------------------------------------
// Envelope.

TEST(MessageTest, Envelope) {
  Message m = basic();
  EXPECT_EQ(m.envelope_from(), "alice@example.com");
  ASSERT_TRUE(m.set_envelope_from("bounces@example.com").ok());
  EXPECT_EQ(m.envelope_from(), "bounces@example.com");
  ASSERT_TRUE(m.set_envelope_from("").ok());  // the null reverse-path
  EXPECT_EQ(m.envelope_from(), "");
  ASSERT_TRUE(m.add_to("Bob Again <bob@EXAMPLE.org>, BOB@example.org").ok());
  ASSERT_TRUE(m.add_cc("carol@example.org").ok());
  ASSERT_TRUE(m.add_bcc("bob@example.org, dave@example.org").ok());
  EXPECT_EQ(m.recipients(), (std::vector<std::string>{"bob@example.org", "BOB@example.org",
                                                      "carol@example.org", "dave@example.org"}));
}

TEST(MessageTest, Utf8AddressesNeedSmtputf8) {
  Message m = basic();
  EXPECT_FALSE(m.needs_smtputf8());
  ASSERT_TRUE(m.add_bcc("jörg@example.de").ok());
  EXPECT_TRUE(m.needs_smtputf8());
  EXPECT_FALSE(m.is_8bit());  // Bcc is not written
  ASSERT_TRUE(m.add_cc("Ünal <ünal@bücher.example>").ok());
  EXPECT_TRUE(m.is_8bit());
  const std::string out = render(m);
  EXPECT_NE(out.find("<ünal@bücher.example>"), std::string::npos);  // RFC 6532
  EXPECT_EQ(Mailbox::parse_list(parse(out).get("cc")),
            (std::vector<Mailbox>{{"Ünal", "ünal@bücher.example"}}));

  Message n(kDate, kToken);
  ASSERT_TRUE(n.set_from("пользователь@пример.рф").ok());
  EXPECT_TRUE(n.is_8bit());
  EXPECT_TRUE(n.needs_smtputf8());
  EXPECT_EQ(n.message_id(), "<deadbeef0102030405060708090a0b0c@пример.рф>");
}

// ---------------------------------------------------------------------------
// Structure of each body combination.

TEST(MessageTest, HtmlOnly) {
  Message m = basic();
  m.set_html("<p>Hi</p>");
  const Part p = parse(render(m));
  EXPECT_EQ(p.get("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(p.body, "<p>Hi</p>\r\n");
}

TEST(MessageTest, NoBodyIsAnEmptyTextPart) {
  const Part p = parse(render(basic()));
  EXPECT_EQ(p.type(), "text/plain");
  EXPECT_EQ(p.body, "");
}

TEST(MessageTest, TextAndHtmlAreAlternatives) {
  Message m = basic();
  m.set_text("plain");
  m.set_html("<b>rich</b>");
  const Part p = parse(render(m));
  EXPECT_EQ(p.type(), "multipart/alternative");
  ASSERT_EQ(p.parts.size(), 2u);
  EXPECT_EQ(p.parts[0].type(), "text/plain");  // least faithful first (RFC 2046 5.1.4)
  EXPECT_EQ(p.parts[0].decoded(), "plain");
  EXPECT_EQ(p.parts[1].type(), "text/html");
  EXPECT_EQ(p.parts[1].decoded(), "<b>rich</b>");
}

TEST(MessageTest, AttachmentsMakeMixed) {
  Message m = basic();
  m.set_text("see attached");
  std::string binary;
  for (int i = 0; i < 3000; ++i) binary += static_cast<char>(i * 7 % 256);
  ASSERT_TRUE(m.attach("data.bin", binary).ok());
  ASSERT_TRUE(m.attach("Übersicht 2024.pdf", "%PDF-1.4", "").ok());
  ASSERT_TRUE(m.attach("notes", "a\nb\r\nc", "Text/Plain").ok());
  const Part p = parse(render(m));
  EXPECT_EQ(p.type(), "multipart/mixed");
  ASSERT_EQ(p.parts.size(), 4u);
  EXPECT_EQ(p.parts[0].type(), "text/plain");
  EXPECT_EQ(p.parts[1].type(), "application/octet-stream");
  EXPECT_EQ(p.parts[1].get("content-disposition"), "attachment; filename=data.bin");
  EXPECT_EQ(p.parts[1].get("content-transfer-encoding"), "base64");
  EXPECT_EQ(p.parts[1].decoded(), binary);
  EXPECT_EQ(p.parts[2].get("content-type"),
            "application/pdf; name*=utf-8''%C3%9Cbersicht%202024.pdf");
  EXPECT_EQ(p.parts[2].get("content-disposition"),
            "attachment; filename*=utf-8''%C3%9Cbersicht%202024.pdf");
  EXPECT_EQ(p.parts[3].type(), "text/plain");
  EXPECT_EQ(p.parts[3].decoded(), "a\nb\r\nc");  // attachments keep their bytes
}

TEST(MessageTest, OnlyAnAttachment) {
  Message m = basic();
  ASSERT_TRUE(m.attach("a.zip", "PK").ok());
  const Part p = parse(render(m));
  ASSERT_EQ(p.type(), "multipart/mixed");
  ASSERT_EQ(p.parts.size(), 1u);
  EXPECT_EQ(p.parts[0].type(), "application/zip");
}

TEST(MessageTest, InlineImagesMakeRelated) {
  Message m = basic();
  m.set_text("logo");
  m.set_html("<img src=\"cid:logo@example.com\"><img src=\"cid:pic2\">");
  ASSERT_TRUE(m.inline_image("logo@example.com", "PNGDATA", "", "logo.png").ok());
  ASSERT_TRUE(m.inline_image("pic2", "GIFDATA", "image/gif").ok());
  ASSERT_TRUE(m.attach("report.pdf", "PDF").ok());
  const Part p = parse(render(m));
  ASSERT_EQ(p.type(), "multipart/mixed");
  ASSERT_EQ(p.parts.size(), 2u);
  const Part& alt = p.parts[0];
  ASSERT_EQ(alt.type(), "multipart/alternative");
  ASSERT_EQ(alt.parts.size(), 2u);
  EXPECT_EQ(alt.parts[0].type(), "text/plain");
  const Part& rel = alt.parts[1];
  ASSERT_EQ(rel.type(), "multipart/related");
  EXPECT_NE(rel.get("content-type").find("type=\"text/html\""), std::string::npos);
  ASSERT_EQ(rel.parts.size(), 3u);
  EXPECT_EQ(rel.parts[0].type(), "text/html");
  EXPECT_EQ(rel.parts[1].type(), "image/png");
  EXPECT_EQ(rel.parts[1].get("content-id"), "<logo@example.com>");
  EXPECT_EQ(rel.parts[1].get("content-disposition"), "inline; filename=logo.png");
  EXPECT_EQ(rel.parts[1].decoded(), "PNGDATA");
  EXPECT_EQ(rel.parts[2].type(), "image/gif");
  EXPECT_EQ(rel.parts[2].get("content-id"), "<pic2>");
  EXPECT_EQ(rel.parts[2].get("content-disposition"), "inline");
  EXPECT_EQ(p.parts[1].type(), "application/pdf");
  // Three distinct boundaries.
  const std::string b1 = p.get("content-type"), b2 = alt.get("content-type"),
                    b3 = rel.get("content-type");
  EXPECT_NE(b1.substr(b1.find("boundary")), b2.substr(b2.find("boundary")));
  EXPECT_NE(b2.substr(b2.find("boundary")), b3.substr(b3.find("boundary")));
}

TEST(MessageTest, HtmlWithImagesAndNoText) {
  Message m = basic();
  m.set_html("<img src=\"cid:a\">");
  ASSERT_TRUE(m.inline_image("a", "x", "image/webp").ok());
  const Part p = parse(render(m));
  ASSERT_EQ(p.type(), "multipart/related");
  ASSERT_EQ(p.parts.size(), 2u);
  EXPECT_EQ(p.parts[1].type(), "image/webp");
}

TEST(MessageTest, InlineImagesWithoutHtmlGoToMixed) {
  Message m = basic();
  m.set_text("no html");
  ASSERT_TRUE(m.inline_image("a", "x", "image/png").ok());
  const Part p = parse(render(m));
  ASSERT_EQ(p.type(), "multipart/mixed");
  ASSERT_EQ(p.parts.size(), 2u);
  EXPECT_EQ(p.parts[1].get("content-disposition"), "inline");
  EXPECT_EQ(p.parts[1].get("content-id"), "<a>");
}

TEST(MessageTest, BoundaryNeverOccursInTheContent) {
  Message m = basic();
  // The boundary render() would try first, planted in the text.
  const std::string planted = "--=_tern_05060708090a0b0c_0 --=_tern_05060708090a0b0c_1";
  m.set_text(planted);
  m.set_html(planted);
  ASSERT_TRUE(m.attach("x.txt", planted).ok());
  const Part p = parse(render(m));
  ASSERT_EQ(p.parts.size(), 2u);
  ASSERT_EQ(p.parts[0].parts.size(), 2u);
  EXPECT_EQ(p.parts[0].parts[0].decoded(), planted);
  EXPECT_EQ(p.parts[0].parts[1].decoded(), planted);
  EXPECT_EQ(p.parts[1].decoded(), planted);
}

TEST(MessageTest, TextEncodingsAndLineBreaks) {
  Message m = basic();
  m.set_text("one\ntwo\rthree\r\n");
  Part p = parse(render(m));
  EXPECT_EQ(p.get("content-transfer-encoding"), "7bit");
  EXPECT_EQ(p.body, "one\r\ntwo\r\nthree\r\n");

  m.set_text("Grüße\n" + std::string(2000, 'x'));
  p = parse(render(m));
  EXPECT_EQ(p.get("content-transfer-encoding"), "quoted-printable");
  EXPECT_EQ(p.decoded(), "Grüße\r\n" + std::string(2000, 'x'));  // the final soft break
  EXPECT_EQ(p.body.substr(p.body.size() - 5), "xx=\r\n");

  m.set_text("Привет, как дела? Всё хорошо.");
  p = parse(render(m));
  EXPECT_EQ(p.get("content-transfer-encoding"), "base64");
  EXPECT_EQ(p.decoded(), "Привет, как дела? Всё хорошо.");
}

TEST(MessageTest, AttachFileReadsBytesAndNamesByBaseName) {
  char path[] = "/tmp/tern_message_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string bytes("\x00\x01\xff binary\r\n", 12);
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
  Message m = basic();
  ASSERT_TRUE(m.attach_file(path, "application/x-test").ok());
  ASSERT_TRUE(m.inline_image_file("img", path, "image/png").ok());
  m.set_html("<img src=\"cid:img\">");
  std::remove(path);
  const Part p = parse(render(m));
  ASSERT_EQ(p.parts.size(), 2u);
  const std::string base = std::string(path).substr(5);
  EXPECT_EQ(p.parts[1].get("content-disposition"), "attachment; filename=" + base);
  EXPECT_EQ(p.parts[1].decoded(), bytes);
  EXPECT_EQ(p.parts[0].parts[1].decoded(), bytes);
}

// ---------------------------------------------------------------------------
// Property: whatever goes in, no line is over 998 octets, every line break
// is CRLF, and only addresses can bring 8-bit octets.

std::string random_text(std::mt19937& rng, size_t max_len) {
  static const std::vector<std::string> pieces = {"a",
                                                  "Z",
                                                  "0",
                                                  " ",
                                                  "  ",
                                                  "\t",
                                                  "\n",
                                                  "\r\n",
                                                  "\r",
                                                  "=",
                                                  "?",
                                                  "=?",
                                                  "?=",
                                                  "\"",
                                                  "\\",
                                                  "(",
                                                  ")",
                                                  "<",
                                                  ">",
                                                  ",",
                                                  ";",
                                                  ":",
                                                  "@",
                                                  ".",
                                                  "ü",
                                                  "€",
                                                  "😀",
                                                  "日本",
                                                  "\x01",
                                                  "\x7f",
                                                  std::string(300, 'w'),
                                                  std::string(1200, 'L'),
                                                  std::string(1500, ' ')};
  std::string s;
  const size_t n = rng() % max_len;
  for (size_t i = 0; i < n; ++i) s += pieces[rng() % pieces.size()];
  return s;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  return s;
}

TEST(MessageTest, NoLineOver998WithLongRandomInput) {
  std::mt19937 rng(998);
  for (int round = 0; round < 150; ++round) {
    Message m(kDate, kToken);
    ASSERT_TRUE(m.set_from(Mailbox{one_line(random_text(rng, 30)), "from@example.com"}).ok());
    for (int i = 0; i < 1 + round % 7; ++i) {
      ASSERT_TRUE(m.add_to(Mailbox{one_line(random_text(rng, 20)), "to@example.com"}).ok());
      ASSERT_TRUE(m.add_cc(Mailbox{one_line(random_text(rng, 10)), "cc@example.com"}).ok());
    }
    ASSERT_TRUE(m.set_subject(one_line(random_text(rng, 60))).ok());
    ASSERT_TRUE(m.add_header("X-Random", one_line(random_text(rng, 60))).ok());
    ASSERT_TRUE(m.add_header(std::string(76, 'X'), one_line(random_text(rng, 10))).ok());
    if (round % 3 != 0) m.set_text(random_text(rng, 200));
    if (round % 2 == 0) m.set_html(random_text(rng, 200));
    if (round % 4 == 0) {
      ASSERT_TRUE(m.attach(random_text(rng, 40), random_text(rng, 100)).ok());
      ASSERT_TRUE(m.inline_image("img" + std::to_string(round), random_text(rng, 50), "image/png",
                                 random_text(rng, 30))
                      .ok());
    }
    const std::string out = render(m);
    check_lines(out);
    for (unsigned char c : out) ASSERT_LT(c, 0x80) << "round " << round;
    // Headers within the soft limit unless one word is longer than it.
    const std::string head = out.substr(0, out.find("\r\n\r\n"));
    EXPECT_LE(check_lines(head + "\r\n"), 998u);
    // Every header of the top level still decodes to what went in.
    const Part p = parse(out);
    EXPECT_NE(p.field("subject"), nullptr);
  }
}

TEST(MessageTest, RandomSubjectsAndNamesRoundTrip) {
  std::mt19937 rng(2231);
  for (int round = 0; round < 300; ++round) {
    Message m(kDate, kToken);
    const std::string name = one_line(random_text(rng, 25));
    const std::string subject = one_line(random_text(rng, 40));
    ASSERT_TRUE(m.set_from(Mailbox{name, "from@example.com"}).ok());
    ASSERT_TRUE(m.set_subject(subject).ok());
    const Part p = parse(render(m));
    // Names: whitespace runs collapse; subjects: the ends are trimmed.
    EXPECT_EQ(Mailbox::parse(p.get("from")),
              (Mailbox{mime::collapse_whitespace(name), "from@example.com"}))
        << p.get("from");
    const size_t b = subject.find_first_not_of(" \t"), e = subject.find_last_not_of(" \t");
    EXPECT_EQ(mime::decode_words(p.get("subject")),
              b == std::string::npos ? "" : subject.substr(b, e - b + 1));
  }
}

}  // namespace
}  // namespace tern
