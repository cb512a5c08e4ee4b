// The inbound message filter: forged Authentication-Results removed whatever
// the chunking, From domains read, the DKIM verifier fed the original.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "authres/inbound.h"
#include "dkim/signer.h"
#include "dkim/verifier.h"
#include "rfc8463_example.h"

namespace tern::authres {
namespace {

constexpr char kOurs[] = "mx.example.org";

// What the server's Connection puts on top, then what the client sent.
const char kTop[] =
    "Received: from client.example.net (client.example.net [192.0.2.9])\r\n"
    "\tby mx.example.org with ESMTP id 1A2B3C; Thu, 01 Jan 2026 00:00:00 +0000\r\n"
    "Received-SPF: pass (mx.example.org: domain of joe@example.com designates 192.0.2.9 as\r\n"
    " permitted sender) client-ip=192.0.2.9;\r\n";

const char kClientHeader[] =
    "Authentication-Results: MX.Example.ORG;\r\n"
    "\tdkim=pass header.d=bank.example;\r\n"
    "\tdmarc=pass header.from=bank.example\r\n"
    "Authentication-Results: other.example.net; spf=pass smtp.mailfrom=example.net\r\n"
    "From: Joe <joe@Example.COM>\r\n"
    "Authentication-Results: (looks innocent) \"mx.example.org\" 1; none\r\n"
    "authentication-results :mx.example.org;dkim=pass\r\n"
    "Authentication-Results: mx.example.org.; dmarc=pass\r\n"
    "Authentication-Results: \" mx.example.org \"; dmarc=pass\r\n"
    "Authentication-Results: mx.example.org.evil.test; dkim=pass\r\n"
    "X-Authentication-Results: mx.example.org; dkim=pass\r\n"
    "Subject: hi\r\n";

const char kBody[] =
    "\r\n"
    "Authentication-Results: mx.example.org; in the body, not a field\r\n"
    "body\r\n";

std::string Message() { return std::string(kTop) + kClientHeader + kBody; }

// The message as it should be stored: the five forged fields gone.
std::string Filtered() {
  return std::string(kTop) +
         "Authentication-Results: other.example.net; spf=pass smtp.mailfrom=example.net\r\n"
         "From: Joe <joe@Example.COM>\r\n"
         "Authentication-Results: mx.example.org.evil.test; dkim=pass\r\n"
         "X-Authentication-Results: mx.example.org; dkim=pass\r\n"
         "Subject: hi\r\n" +
         kBody;
}

InboundOptions Options() {
  InboundOptions o;
  o.authserv_id = kOurs;
  return o;
}

// Feeds `message` cut at `cuts` (ascending offsets) and returns everything
// the filter released, copied right after each call (the views are only
// valid until the next one).
std::string Feed(InboundFilter& f, std::string_view message, const std::vector<size_t>& cuts) {
  std::string out;
  size_t pos = 0;
  for (size_t cut : cuts) {
    if (cut > message.size()) break;
    out += f.write(message.substr(pos, cut - pos));
    pos = cut;
  }
  out += f.write(message.substr(pos));
  out += f.finish();
  return out;
}

std::string Feed(InboundFilter& f, std::string_view message) { return Feed(f, message, {}); }

TEST(AuthresInbound, RemovesOurFieldsAndKeepsTheRest) {
  InboundFilter f(Options());
  EXPECT_EQ(Feed(f, Message()), Filtered());
  EXPECT_EQ(f.removed(), 5u);
  EXPECT_FALSE(f.overflow());
  EXPECT_TRUE(f.header_released());
  EXPECT_EQ(f.from_fields(), 1u);
  EXPECT_EQ(f.from_domains(), std::vector<std::string>{"example.com"});
}

TEST(AuthresInbound, HeaderIsHeldUntilTheBlankLineThenBodyPassesThrough) {
  InboundFilter f(Options());
  const std::string header = std::string(kTop) + kClientHeader;
  EXPECT_EQ(f.write(header), "");
  EXPECT_FALSE(f.header_released());
  const std::string_view released = f.write("\r\nfirst");
  EXPECT_TRUE(f.header_released());
  EXPECT_TRUE(std::string(released).ends_with("Subject: hi\r\n\r\nfirst"));
  const std::string body = " more body\r\n";
  const std::string_view through = f.write(body);
  EXPECT_EQ(through, body);
  EXPECT_EQ(through.data(), body.data());  // no copy
  EXPECT_EQ(f.finish(), "");
}

TEST(AuthresInbound, EveryChunkingGivesTheSameOutput) {
  const std::string msg = Message();
  const std::string want = Filtered();
  {
    SCOPED_TRACE("byte by byte");
    std::vector<size_t> cuts;
    for (size_t i = 1; i < msg.size(); ++i) cuts.push_back(i);
    InboundFilter f(Options());
    EXPECT_EQ(Feed(f, msg, cuts), want);
    EXPECT_EQ(f.removed(), 5u);
    EXPECT_EQ(f.from_domains(), std::vector<std::string>{"example.com"});
  }
  for (size_t cut = 0; cut <= msg.size(); ++cut) {
    InboundFilter f(Options());
    EXPECT_EQ(Feed(f, msg, {cut}), want) << "cut at " << cut;
  }
  std::mt19937 rng(8601);
  for (int n = 0; n < 300; ++n) {
    std::vector<size_t> cuts;
    for (size_t pos = rng() % 40; pos < msg.size(); pos += 1 + rng() % 60) cuts.push_back(pos);
    InboundFilter f(Options());
    EXPECT_EQ(Feed(f, msg, cuts), want) << "random split " << n;
    EXPECT_EQ(f.removed(), 5u);
  }
}

TEST(AuthresInbound, FoldedFieldsGoWhole) {
  // A forged field folded over many lines, and one whose continuation
  // lines look like fields of their own.
  const std::string forged =
      "Authentication-Results:\r\n"
      "  mx.example.org\r\n"
      "  ;\r\n"
      "\tspf=pass\r\n"
      "\t  smtp.mailfrom=ceo@example.org\r\n"
      "Authentication-Results: mx.example.org;\r\n"
      " X-Looks-Like: a field\r\n";
  const std::string msg = "From: a@example.net\r\n" + forged + "To: b@example.org\r\n\r\nhi\r\n";
  InboundFilter f(Options());
  EXPECT_EQ(Feed(f, msg), "From: a@example.net\r\nTo: b@example.org\r\n\r\nhi\r\n");
  EXPECT_EQ(f.removed(), 2u);
}

TEST(AuthresInbound, NothingRemovedWhenSwitchedOffOrWithoutAnId) {
  InboundOptions off = Options();
  off.remove_forged = false;
  InboundFilter a(off);
  EXPECT_EQ(Feed(a, Message()), Message());
  EXPECT_EQ(a.removed(), 0u);
  EXPECT_EQ(a.from_domains(), std::vector<std::string>{"example.com"});

  InboundFilter b(InboundOptions{});
  EXPECT_EQ(Feed(b, Message()), Message());
  EXPECT_EQ(b.removed(), 0u);
}

TEST(AuthresInbound, MessageWithoutBlankLineIsAllHeader) {
  const std::string msg =
      "From: a@example.net\r\nAuthentication-Results: mx.example.org; none\r\nSubject: x\r\n";
  for (size_t cut = 0; cut <= msg.size(); ++cut) {
    InboundFilter f(Options());
    std::string out(f.write(std::string_view(msg).substr(0, cut)));
    out += f.write(std::string_view(msg).substr(cut));
    EXPECT_EQ(out, "");  // still held: the blank line may yet come
    out += f.finish();
    EXPECT_EQ(out, "From: a@example.net\r\nSubject: x\r\n");
    EXPECT_EQ(f.removed(), 1u);
    EXPECT_EQ(f.from_domains(), std::vector<std::string>{"example.net"});
  }
}

TEST(AuthresInbound, EmptyHeaderSection) {
  const std::string msg = "\r\nAuthentication-Results: mx.example.org; none\r\n";
  InboundFilter f(Options());
  EXPECT_EQ(Feed(f, msg), msg);
  EXPECT_EQ(f.removed(), 0u);
  EXPECT_EQ(f.from_fields(), 0u);
  InboundFilter g(Options());
  EXPECT_EQ(Feed(g, msg, {1}), msg);

  InboundFilter empty(Options());
  EXPECT_EQ(Feed(empty, ""), "");
}

struct FromCase {
  const char* header;
  size_t fields;
  std::vector<std::string> domains;
};

TEST(AuthresInbound, FromDomains) {
  const std::vector<FromCase> cases = {
      {"From: joe@Example.COM\r\n", 1, {"example.com"}},
      {"From: \"Doe, John\" <john@a.example>, Jane <jane@B.example>\r\n",
       1,
       {"a.example", "b.example"}},
      {"From: Joe <joe@a.example>\r\nFrom: Eve <eve@b.example>\r\n", 2, {"a.example", "b.example"}},
      {"From: Team: ann@a.example, bob@b.example;\r\n", 1, {"a.example", "b.example"}},
      {"From: undisclosed-recipients:;\r\n", 1, {}},
      {"From: =?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <joerg@m.example>\r\n", 1, {"m.example"}},
      {"From: =?ISO-8859-1?Q?J=F6rg?= <joerg@latin.example>\r\n", 1, {"latin.example"}},
      {"From: J\xc3\xb6rg M\xc3\xbcller <joerg@utf8.example>\r\n", 1, {"utf8.example"}},
      {"From: (comment) joe@c.example (Joe)\r\n", 1, {"c.example"}},
      {"From: Joe\r\n <joe@folded.example>\r\n", 1, {"folded.example"}},
      {"FROM : joe@case.example\r\n", 1, {"case.example"}},
      {"From: not an address\r\n", 1, {}},
      {"From: <>\r\n", 1, {}},
      {"From: Joe <joe@>\r\n", 1, {}},
      {"From: ok@a.example, broken@\r\n", 1, {}},  // the whole field does not parse
      {"Sender: s@sender.example\r\nReply-To: r@reply.example\r\n", 0, {}},
      {"X-From: x@x.example\r\n", 0, {}},
  };
  for (const FromCase& c : cases) {
    InboundFilter f(Options());
    const std::string msg = std::string(kTop) + c.header + "\r\nbody\r\n";
    EXPECT_EQ(Feed(f, msg), msg) << c.header;
    EXPECT_EQ(f.from_fields(), c.fields) << c.header;
    EXPECT_EQ(f.from_domains(), c.domains) << c.header;
  }
}

TEST(AuthresInbound, OversizedHeaderIsReleasedUnchanged) {
  InboundOptions o = Options();
  o.max_header = 300;
  std::string header = "Authentication-Results: mx.example.org; dkim=pass\r\nFrom: a@b.example\r\n";
  while (header.size() < 1000) header += "X-Filler: " + std::string(60, 'x') + "\r\n";
  const std::string msg = header + "\r\nbody\r\n";
  {
    InboundFilter f(o);
    EXPECT_EQ(Feed(f, msg), msg);  // one chunk holding the blank line
    EXPECT_TRUE(f.overflow());
    EXPECT_EQ(f.removed(), 0u);
    EXPECT_EQ(f.from_fields(), 0u);
  }
  {
    InboundFilter f(o);
    std::string out;
    size_t released_at = 0;
    for (size_t i = 0; i < msg.size(); ++i) {
      out += f.write(std::string_view(msg).substr(i, 1));
      if (!released_at && !out.empty()) released_at = i + 1;
    }
    out += f.finish();
    EXPECT_EQ(out, msg);
    EXPECT_TRUE(f.overflow());
    // Released as soon as the section is sure to be longer than max_header
    // (301 octets could still be 300 and the CR of the blank line).
    EXPECT_EQ(released_at, 303u);
  }
  {
    // A header section of exactly max_header octets is still filtered.
    InboundOptions fits = Options();
    const std::string small =
        "Authentication-Results: mx.example.org; none\r\nFrom: a@b.example\r\n";
    fits.max_header = small.size();
    const std::string whole = small + "\r\nbody\r\n";
    for (size_t step : {size_t{1}, size_t{5}, whole.size()}) {
      std::vector<size_t> cuts;
      for (size_t i = step; i < whole.size(); i += step) cuts.push_back(i);
      InboundFilter f(fits);
      EXPECT_EQ(Feed(f, whole, cuts), "From: a@b.example\r\n\r\nbody\r\n") << step;
      EXPECT_FALSE(f.overflow());
      // One octet more is too much, however it comes.
      InboundOptions tight = fits;
      tight.max_header = small.size() - 1;
      InboundFilter g(tight);
      EXPECT_EQ(Feed(g, whole, cuts), whole) << step;
      EXPECT_TRUE(g.overflow());
      // Also for a message that is all header.
      InboundFilter h(tight);
      EXPECT_EQ(Feed(h, small, cuts), small) << step;
      EXPECT_TRUE(h.overflow());
    }
  }
}

using testlib::kEdRecord;
using testlib::kRfc8463Message;
using testlib::kRsaRecord;
constexpr int64_t kNow = 1528637909 + 3600;

dkim::KeyAnswer PublishedKeys(const std::string& query) {
  if (query == "brisbane._domainkey.football.example.com") {
    return dkim::KeyAnswer::found({kEdRecord});
  }
  if (query == "test._domainkey.football.example.com") return dkim::KeyAnswer::found({kRsaRecord});
  return dkim::KeyAnswer::not_found();
}

std::vector<dkim::SignatureResult> Results(InboundFilter& f) {
  dkim::Verifier& v = f.verifier();
  for (const std::string& q : v.key_queries()) v.add_key(q, PublishedKeys(q));
  return v.results();
}

TEST(AuthresInbound, FeedsTheDkimVerifier) {
  // Our Received on top and a forged field among the client's: the
  // RFC 8463 signatures still verify, whatever the chunking.
  const std::string msg =
      std::string(kTop) + "Authentication-Results: mx.example.org; dkim=pass\r\n" + kRfc8463Message;
  InboundOptions o = Options();
  o.dkim.now = kNow;
  for (size_t step : {size_t{1}, size_t{7}, size_t{64}, msg.size()}) {
    std::vector<size_t> cuts;
    for (size_t i = step; i < msg.size(); i += step) cuts.push_back(i);
    InboundFilter f(o);
    const std::string out = Feed(f, msg, cuts);
    EXPECT_EQ(f.removed(), 1u);
    EXPECT_EQ(out, std::string(kTop) + kRfc8463Message);
    const std::vector<dkim::SignatureResult> results = Results(f);
    ASSERT_EQ(results.size(), 2u) << "step " << step;
    for (const dkim::SignatureResult& r : results) {
      EXPECT_EQ(r.result, dkim::Result::kPass) << r.selector << ": " << r.reason;
      EXPECT_EQ(r.domain, "football.example.com");
    }
    EXPECT_EQ(f.from_domains(), std::vector<std::string>{"football.example.com"});
  }
}

TEST(AuthresInbound, VerifierSeesTheFieldsWeRemove) {
  // A signature that covers an Authentication-Results field claiming to be
  // ours: the verifier judges what was signed (pass), although the stored
  // copy, without that field, no longer verifies (RFC 8601 5).
  dkim::PrivateKey key;
  ASSERT_TRUE(dkim::PrivateKey::generate(dkim::KeyType::kEd25519, 0, &key).ok());
  const std::string signed_part =
      "Authentication-Results: mx.example.org; dmarc=pass header.from=a.example\r\n"
      "From: a@a.example\r\nSubject: s\r\n\r\nbody\r\n";
  dkim::SignOptions so;
  so.domain = "a.example";
  so.selector = "k";
  so.headers = {"from", "subject", "authentication-results"};
  dkim::Signer signer(key, so);
  signer.write(signed_part);
  std::string signature;
  ASSERT_TRUE(signer.finish(&signature).ok());
  const std::string msg = std::string(kTop) + signature + signed_part;
  const auto lookup = [&](const std::string& q) {
    return q == "k._domainkey.a.example" ? dkim::KeyAnswer::found({dkim::key_record_text(key)})
                                         : dkim::KeyAnswer::not_found();
  };

  InboundFilter f(Options());
  const std::string stored = Feed(f, msg);
  EXPECT_EQ(f.removed(), 1u);
  dkim::Verifier& v = f.verifier();
  for (const std::string& q : v.key_queries()) v.add_key(q, lookup(q));
  ASSERT_EQ(v.results().size(), 1u);
  EXPECT_EQ(v.results()[0].result, dkim::Result::kPass) << v.results()[0].reason;

  const std::vector<dkim::SignatureResult> again = dkim::verify(stored, lookup);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].result, dkim::Result::kFail);
}

TEST(AuthresInbound, VerifierLeftAloneWhenSwitchedOff) {
  InboundOptions o = Options();
  o.verify_dkim = false;
  InboundFilter f(o);
  EXPECT_EQ(Feed(f, kRfc8463Message), kRfc8463Message);
  EXPECT_TRUE(f.verifier().key_queries().empty());
  EXPECT_TRUE(f.verifier().results().empty());
}

}  // namespace
}  // namespace tern::authres
