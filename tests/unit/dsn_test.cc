// The RFC 3464 report builder (src/relay/dsn.h), checked by parsing the
// report back: MIME structure (RFC 2046, 6522), delivery-status fields.
#include "relay/dsn.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace tern {
namespace {

constexpr int64_t kT0 = 1718000000;  // Mon, 10 Jun 2024 06:13:20 +0000

// A header block unfolded into (lower-case name -> value) pairs, in order.
using Fields = std::vector<std::pair<std::string, std::string>>;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Fields ParseFields(std::string_view block) {
  Fields out;
  size_t pos = 0;
  while (pos < block.size()) {
    size_t end = block.find("\r\n", pos);
    if (end == std::string_view::npos) end = block.size();
    std::string line(block.substr(pos, end - pos));
    pos = end + 2;
    if (line.empty()) continue;
    if ((line[0] == ' ' || line[0] == '\t') && !out.empty()) {
      out.back().second += " " + line.substr(line.find_first_not_of(" \t"));
      continue;
    }
    size_t colon = line.find(':');
    EXPECT_NE(colon, std::string::npos) << line;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    out.emplace_back(lower(line.substr(0, colon)), value);
  }
  return out;
}

std::string Get(const Fields& f, const std::string& name) {
  for (const auto& [k, v] : f)
    if (k == name) return v;
  return "(absent)";
}

struct Part {
  Fields headers;
  std::string body;
};

Part SplitPart(std::string_view text) {
  size_t end = text.find("\r\n\r\n");
  EXPECT_NE(end, std::string_view::npos);
  return Part{ParseFields(text.substr(0, end + 2)), std::string(text.substr(end + 4))};
}

// The message's own header and its MIME parts.
struct Parsed {
  Fields headers;
  std::string boundary;
  std::vector<Part> parts;
};

Parsed ParseReport(const std::string& msg) {
  Parsed p;
  Part top = SplitPart(msg);
  p.headers = top.headers;
  std::string ct = Get(top.headers, "content-type");
  size_t b = ct.find("boundary=\"");
  EXPECT_NE(b, std::string::npos) << ct;
  p.boundary = ct.substr(b + 10, ct.find('"', b + 10) - (b + 10));
  const std::string delim = "\r\n--" + p.boundary;
  std::string body = "\r\n" + top.body;
  size_t pos = body.find(delim);
  while (pos != std::string::npos) {
    size_t start = pos + delim.size();
    if (body.compare(start, 2, "--") == 0) {
      EXPECT_EQ(body.substr(start), "--\r\n");
      break;
    }
    EXPECT_EQ(body.compare(start, 2, "\r\n"), 0);
    size_t next = body.find(delim, start);
    EXPECT_NE(next, std::string::npos) << "no closing delimiter";
    p.parts.push_back(SplitPart(std::string_view(body).substr(start + 2, next - start - 2)));
    pos = next;
  }
  return p;
}

// message/delivery-status: the per-message group, then one per recipient.
std::vector<Fields> StatusGroups(const std::string& body) {
  std::vector<Fields> groups;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\r\n\r\n", pos);
    if (end == std::string::npos) end = body.size();
    groups.push_back(ParseFields(std::string_view(body).substr(pos, end - pos + 2)));
    pos = end + 4;
  }
  return groups;
}

DsnReport Report() {
  DsnReport r;
  r.reporting_mta = "mx.example.org";
  r.queue_id = "0TyMzQOCdH3kTQZb";
  r.envid = "QQ314159";
  r.arrival = kT0;
  r.sender = "alice@example.org";
  DsnRecipient a;
  a.original_recipient = "rfc822;bob@example.com";
  a.final_recipient = "bob@example.com";
  a.action = DsnAction::kFailed;
  a.status = "5.1.1";
  a.remote_mta = "mx.example.com";
  a.diagnostic = "550 5.1.1 <bob@example.com>: no such user";
  a.last_attempt = kT0 + 60;
  r.rcpts.push_back(a);
  DsnRecipient c;
  c.final_recipient = "carol@example.net";
  c.action = DsnAction::kDelayed;
  c.status = "4.4.1";
  c.reason = "451 4.4.1 no answer";
  c.last_attempt = kT0 + 4 * 3600;
  c.will_retry_until = kT0 + 5 * 86400;
  r.rcpts.push_back(c);
  r.original = "From: alice@example.org\r\nSubject: hello\r\n";
  r.date = kT0 + 4 * 3600 + 5;
  r.message_id = "0TyMzQOCdH3kTQZc@mx.example.org";
  return r;
}

TEST(DsnTest, MultipartReportWithThreeParts) {
  std::string msg = build_dsn(Report());
  Parsed p = ParseReport(msg);
  EXPECT_EQ(Get(p.headers, "from"), "Mail Delivery System <MAILER-DAEMON@mx.example.org>");
  EXPECT_EQ(Get(p.headers, "to"), "<alice@example.org>");
  EXPECT_EQ(Get(p.headers, "subject"), "Undelivered Mail Returned to Sender");
  EXPECT_EQ(Get(p.headers, "date"), "Mon, 10 Jun 2024 10:13:25 +0000");
  EXPECT_EQ(Get(p.headers, "message-id"), "<0TyMzQOCdH3kTQZc@mx.example.org>");
  EXPECT_EQ(Get(p.headers, "auto-submitted"), "auto-replied");
  EXPECT_EQ(Get(p.headers, "mime-version"), "1.0");
  EXPECT_EQ(Get(p.headers, "content-type")
                .rfind("multipart/report; report-type=delivery-status; boundary=", 0),
            0u);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(Get(p.parts[0].headers, "content-type"), "text/plain; charset=us-ascii");
  EXPECT_EQ(Get(p.parts[1].headers, "content-type"), "message/delivery-status");
  EXPECT_EQ(Get(p.parts[2].headers, "content-type"), "text/rfc822-headers");
  EXPECT_EQ(p.parts[2].body, "From: alice@example.org\r\nSubject: hello\r\n");
  EXPECT_NE(p.parts[0].body.find("<bob@example.com>: failed: host mx.example.com said: 550"),
            std::string::npos)
      << p.parts[0].body;
  EXPECT_NE(p.parts[0].body.find("<carol@example.net>: delayed: 451 4.4.1 no answer"),
            std::string::npos);
  // Every line ends in CRLF; no bare CR or LF anywhere.
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\n') EXPECT_TRUE(i > 0 && msg[i - 1] == '\r') << i;
    if (msg[i] == '\r') EXPECT_TRUE(i + 1 < msg.size() && msg[i + 1] == '\n') << i;
  }
}

TEST(DsnTest, DeliveryStatusFields) {
  Parsed p = ParseReport(build_dsn(Report()));
  ASSERT_EQ(p.parts.size(), 3u);
  std::vector<Fields> g = StatusGroups(p.parts[1].body);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(Get(g[0], "reporting-mta"), "dns; mx.example.org");
  EXPECT_EQ(Get(g[0], "original-envelope-id"), "QQ314159");
  EXPECT_EQ(Get(g[0], "arrival-date"), "Mon, 10 Jun 2024 06:13:20 +0000");
  EXPECT_EQ(Get(g[0], "x-tern-queue-id"), "0TyMzQOCdH3kTQZb");

  EXPECT_EQ(Get(g[1], "original-recipient"), "rfc822;bob@example.com");
  EXPECT_EQ(Get(g[1], "final-recipient"), "rfc822; bob@example.com");
  EXPECT_EQ(Get(g[1], "action"), "failed");
  EXPECT_EQ(Get(g[1], "status"), "5.1.1");
  EXPECT_EQ(Get(g[1], "remote-mta"), "dns; mx.example.com");
  EXPECT_EQ(Get(g[1], "diagnostic-code"), "smtp; 550 5.1.1 <bob@example.com>: no such user");
  EXPECT_EQ(Get(g[1], "last-attempt-date"), "Mon, 10 Jun 2024 06:14:20 +0000");
  EXPECT_EQ(Get(g[1], "will-retry-until"), "(absent)");

  EXPECT_EQ(Get(g[2], "original-recipient"), "(absent)");  // no ORCPT given
  EXPECT_EQ(Get(g[2], "action"), "delayed");
  EXPECT_EQ(Get(g[2], "status"), "4.4.1");
  EXPECT_EQ(Get(g[2], "remote-mta"), "(absent)");
  EXPECT_EQ(Get(g[2], "diagnostic-code"), "(absent)");  // our own words, not a remote reply
  EXPECT_EQ(Get(g[2], "will-retry-until"), "Sat, 15 Jun 2024 06:13:20 +0000");
}

TEST(DsnTest, NoEnvidNoOriginalEnvelopeId) {
  DsnReport r = Report();
  r.envid.clear();
  Parsed p = ParseReport(build_dsn(r));
  EXPECT_EQ(Get(StatusGroups(p.parts[1].body)[0], "original-envelope-id"), "(absent)");
}

TEST(DsnTest, FullMessageReturnedAsMessageRfc822) {
  DsnReport r = Report();
  std::string original = "From: alice@example.org\r\nSubject: hello\r\n\r\nbody\r\n";
  r.original = original;
  r.returned = DsnReturn::kFull;
  Parsed p = ParseReport(build_dsn(r));
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(Get(p.parts[2].headers, "content-type"), "message/rfc822");
  EXPECT_EQ(p.parts[2].body, original);
}

TEST(DsnTest, TooLargeForFullSaysSo) {
  DsnReport r = Report();
  r.full_too_large = true;
  Parsed p = ParseReport(build_dsn(r));
  EXPECT_NE(p.parts[0].body.find("too large to return in full"), std::string::npos);
  EXPECT_EQ(Get(p.parts[2].headers, "content-type"), "text/rfc822-headers");
}

TEST(DsnTest, SubjectFollowsTheActions) {
  DsnReport r = Report();
  r.rcpts.erase(r.rcpts.begin());
  EXPECT_EQ(Get(ParseReport(build_dsn(r)).headers, "subject"),
            "Delayed Mail (still being retried)");
  r.rcpts[0].action = DsnAction::kRelayed;
  Parsed p = ParseReport(build_dsn(r));
  EXPECT_EQ(Get(p.headers, "subject"), "Successful Mail Delivery Report");
  EXPECT_EQ(Get(StatusGroups(p.parts[1].body)[1], "action"), "relayed");
}

// Remote text cannot inject header lines or break the MIME structure.
TEST(DsnTest, HostileTextIsNeutralised) {
  DsnReport r = Report();
  r.rcpts[0].diagnostic = "550 nope\r\nAction: delivered\r\n\r\n--x\xff";
  r.rcpts[0].remote_mta = "mx\r\nX-Evil: 1";
  r.envid = "E\nF";
  Parsed p = ParseReport(build_dsn(r));
  ASSERT_EQ(p.parts.size(), 3u);
  std::vector<Fields> g = StatusGroups(p.parts[1].body);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(Get(g[1], "action"), "failed");
  EXPECT_EQ(Get(g[1], "diagnostic-code"), "smtp; 550 nope??Action: delivered????--x?");
  EXPECT_EQ(Get(g[1], "remote-mta"), "dns; mx??X-Evil: 1");
  EXPECT_EQ(Get(g[0], "original-envelope-id"), "E?F");
  for (const auto& [k, v] : g[1]) EXPECT_NE(k, "x-evil");
}

TEST(DsnTest, LongFieldsAreFolded) {
  DsnReport r = Report();
  std::string words;
  for (int i = 0; i < 40; ++i) words += " word" + std::to_string(i);
  r.rcpts[0].diagnostic = "550 5.1.1" + words;
  std::string msg = build_dsn(r);
  size_t start = 0;
  while (start < msg.size()) {
    size_t end = msg.find("\r\n", start);
    EXPECT_LE(end - start, 78u) << msg.substr(start, end - start);
    start = end + 2;
  }
  Parsed p = ParseReport(msg);
  EXPECT_EQ(Get(StatusGroups(p.parts[1].body)[1], "diagnostic-code"), "smtp; 550 5.1.1" + words);
}

TEST(DsnTest, BoundaryNeverOccursInTheOriginal) {
  DsnReport r = Report();
  std::string first = ParseReport(build_dsn(r)).boundary;
  std::string original = "Subject: x\r\nX-Trap: " + first + "\r\n";
  r.original = original;
  Parsed p = ParseReport(build_dsn(r));
  EXPECT_NE(p.boundary, first);
  EXPECT_EQ(original.find(p.boundary), std::string::npos);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(p.parts[2].body, original);
}

TEST(DsnTest, StatusFromReplyOrClassOrAction) {
  EXPECT_EQ(dsn_status(DsnAction::kFailed, Reply(550, "5.7.1", "x")), "5.7.1");
  EXPECT_EQ(dsn_status(DsnAction::kFailed, Reply(554, "", "x")), "5.0.0");
  EXPECT_EQ(dsn_status(DsnAction::kFailed, Reply(451, "", "x")), "4.0.0");
  EXPECT_EQ(dsn_status(DsnAction::kFailed, Reply()), "5.0.0");
  EXPECT_EQ(dsn_status(DsnAction::kDelayed, Reply()), "4.0.0");
  EXPECT_EQ(dsn_status(DsnAction::kDelivered, Reply()), "2.0.0");
}

TEST(DsnTest, HeaderSectionAndReturnChoice) {
  EXPECT_EQ(header_section("A: 1\r\nB: 2\r\n\r\nbody\r\n"), "A: 1\r\nB: 2\r\n");
  EXPECT_EQ(header_section("A: 1\r\n"), "A: 1\r\n");  // no body at all
  EXPECT_EQ(header_section("\r\nbody"), "");
  EXPECT_EQ(choose_return(true, false, 100, 100), DsnReturn::kFull);
  EXPECT_EQ(choose_return(true, false, 101, 100), DsnReturn::kHeaders);
  EXPECT_EQ(choose_return(true, true, 10, 100), DsnReturn::kHeaders);  // BINARYMIME
  EXPECT_EQ(choose_return(false, false, 10, 100), DsnReturn::kHeaders);
}

}  // namespace
}  // namespace tern
