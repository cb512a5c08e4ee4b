// Canonicalisation, RFC 6376 3.4, and the body hash. The vectors are those
// of /work/shared/refs/suites/dkim/canonicalization (RFC 6376 3.4.5 and
// rule edge cases, expected values computed with dkimpy 1.1.4), plus edge
// cases checked against dkimpy the same way.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/base64.h"
#include "dkim/canon.h"

namespace tern::dkim {
namespace {

struct HeaderCase {
  const char* id;
  std::vector<std::string> fields;  // whole fields: "Name:value\r\n"
  std::string simple;
  std::string relaxed;
};

const HeaderCase kHeaderCases[] = {
    {"rfc6376-3.4.5-headers",
     {"A: X\r\n", "B : Y\t\r\n\tZ  \r\n"},
     "A: X\r\nB : Y\t\r\n\tZ  \r\n",
     "a:X\r\nb:Y Z\r\n"},
    {"relaxed-name-case-and-colon-ws",
     {"SUBJect: \t Hello   World \r\n", "To :  a@b.example\r\n \tc@d.example \r\n"},
     "SUBJect: \t Hello   World \r\nTo :  a@b.example\r\n \tc@d.example \r\n",
     "subject:Hello World\r\nto:a@b.example c@d.example\r\n"},
    {"empty-value",
     {"X-Empty:\r\n", "X-Blank: \t \r\n"},
     "X-Empty:\r\nX-Blank: \t \r\n",
     "x-empty:\r\nx-blank:\r\n"},
    {"folded-at-start", {"Subject:\r\n hello\r\n"}, "Subject:\r\n hello\r\n", "subject:hello\r\n"},
};

struct BodyCase {
  const char* id;
  std::string body;
  std::string simple;
  std::string relaxed;
};

const BodyCase kBodyCases[] = {
    // From the suite (RFC 6376 3.4.5 and 3.4.3/3.4.4 rules).
    {"rfc6376-3.4.5-body", " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n"},
    {"empty-body", "", "\r\n", ""},
    {"only-crlf", "\r\n", "\r\n", ""},
    {"many-trailing-crlf", "\r\n\r\n\r\n", "\r\n", ""},
    {"no-final-crlf", "Hey\r\n\r\nHow r u?", "Hey\r\n\r\nHow r u?\r\n", "Hey\r\n\r\nHow r u?\r\n"},
    {"trailing-wsp-lines", "a  \t\r\n \t\r\n\r\n", "a  \t\r\n \t\r\n", "a\r\n"},
    {"internal-empty-lines-kept", "x\r\n\r\n\r\ny\r\n\r\n", "x\r\n\r\n\r\ny\r\n",
     "x\r\n\r\n\r\ny\r\n"},
    // Edge cases (expected values from dkimpy).
    {"unterminated-wsp", "x ", "x \r\n", "x \r\n"},
    {"only-wsp-unterminated", " ", " \r\n", " \r\n"},
    {"wsp-line-then-end", "\r\n \r\n", "\r\n \r\n", ""},
    {"lone-cr-is-data", "a \rb", "a \rb\r\n", "a \rb\r\n"},
    {"cr-at-end", "a\r", "a\r\r\n", "a\r\r\n"},
    {"leading-wsp-compressed", "  lead\r\n", "  lead\r\n", " lead\r\n"},
    {"mixed", "a\t\tb \r\n\r\n \r\nc", "a\t\tb \r\n\r\n \r\nc\r\n", "a b\r\n\r\n\r\nc\r\n"},
    {"leading-empty-lines", "\r\n\r\nx", "\r\n\r\nx\r\n", "\r\n\r\nx\r\n"},
    {"wsp-only-trailing-lines", "x\r\n\r\n \t\r\n", "x\r\n\r\n \t\r\n", "x\r\n"},
    {"bare-lf-is-data", "a\nb\r\n", "a\nb\r\n", "a\nb\r\n"},
    {"wsp-before-bare-lf", "a \n\r\n", "a \n\r\n", "a \n\r\n"},
};

std::string Joined(Canon c, const std::vector<std::string>& fields) {
  std::string out;
  for (const std::string& f : fields) out += canonicalize_header(c, f);
  return out;
}

TEST(DkimCanon, HeaderVectors) {
  for (const HeaderCase& t : kHeaderCases) {
    EXPECT_EQ(Joined(Canon::kSimple, t.fields), t.simple) << t.id;
    EXPECT_EQ(Joined(Canon::kRelaxed, t.fields), t.relaxed) << t.id;
  }
}

TEST(DkimCanon, HeaderWithoutColonIsUnchanged) {
  EXPECT_EQ(canonicalize_header(Canon::kRelaxed, "Junk Line\r\n"), "Junk Line\r\n");
}

TEST(DkimCanon, HeaderWithoutFinalCrlfGetsOneWhenRelaxed) {
  EXPECT_EQ(canonicalize_header(Canon::kRelaxed, "From: a"), "from:a\r\n");
  EXPECT_EQ(canonicalize_header(Canon::kSimple, "From: a"), "From: a");
}

TEST(DkimCanon, BodyVectorsWhole) {
  for (const BodyCase& t : kBodyCases) {
    EXPECT_EQ(canonicalize_body(Canon::kSimple, t.body), t.simple) << t.id;
    EXPECT_EQ(canonicalize_body(Canon::kRelaxed, t.body), t.relaxed) << t.id;
  }
}

std::string Streamed(Canon c, const std::vector<std::string_view>& chunks) {
  std::string out;
  BodyCanonicalizer canon(c, [&out](std::string_view s) { out += s; });
  for (std::string_view chunk : chunks) canon.write(chunk);
  canon.finish();
  return out;
}

TEST(DkimCanon, BodyVectorsSplitAtEveryPosition) {
  // State (a CR waiting for its LF, deferred empty lines, a WSP run) must
  // survive any chunk boundary.
  for (const BodyCase& t : kBodyCases) {
    const std::string_view body = t.body;
    for (size_t cut = 0; cut <= body.size(); ++cut) {
      const std::vector<std::string_view> chunks = {body.substr(0, cut), body.substr(cut)};
      EXPECT_EQ(Streamed(Canon::kSimple, chunks), t.simple) << t.id << " cut " << cut;
      EXPECT_EQ(Streamed(Canon::kRelaxed, chunks), t.relaxed) << t.id << " cut " << cut;
    }
  }
}

TEST(DkimCanon, BodyVectorsOneOctetAtATime) {
  for (const BodyCase& t : kBodyCases) {
    std::vector<std::string_view> chunks;
    for (size_t i = 0; i < t.body.size(); ++i)
      chunks.push_back(std::string_view(t.body).substr(i, 1));
    EXPECT_EQ(Streamed(Canon::kSimple, chunks), t.simple) << t.id;
    EXPECT_EQ(Streamed(Canon::kRelaxed, chunks), t.relaxed) << t.id;
  }
}

TEST(DkimCanon, ManyEmptyLinesInsideTheBodyAreKeptAndBounded) {
  std::string body = "a\r\n";
  for (int i = 0; i < 20000; ++i) body += "\r\n";
  std::string tail = "b\r\n";
  for (int i = 0; i < 20000; ++i) tail += " \t\r\n";  // trailing blank (relaxed) lines
  for (Canon c : {Canon::kSimple, Canon::kRelaxed}) {
    std::string out;
    size_t biggest = 0;
    BodyCanonicalizer canon(c, [&](std::string_view s) {
      out += s;
      biggest = std::max(biggest, s.size());
    });
    canon.write(body);
    canon.write(tail);
    canon.finish();
    EXPECT_LE(biggest, 8192u + 64u) << canon_name(c);
    if (c == Canon::kRelaxed) {
      EXPECT_EQ(out, body + "b\r\n");
    } else {
      EXPECT_EQ(out, body + tail);
    }
  }
}

TEST(DkimCanon, LongLineIsHandedOnInBlocks) {
  const std::string line(100000, 'x');
  size_t biggest = 0, total = 0;
  BodyCanonicalizer canon(Canon::kSimple, [&](std::string_view s) {
    biggest = std::max(biggest, s.size());
    total += s.size();
  });
  canon.write(line);
  canon.finish();
  EXPECT_EQ(total, line.size() + 2);
  EXPECT_LE(biggest, 2 * 8192u);
}

std::string B64BodyHash(Canon c, std::string_view body, std::optional<uint64_t> limit = {}) {
  BodyHash h(c, limit);
  h.write(body);
  return base64_encode(h.finish());
}

TEST(DkimCanon, BodyHashOfEmptyBodies) {
  // SHA-256 of "\r\n" and of "" (RFC 6376 3.4.3, 3.4.4 with erratum 1384).
  EXPECT_EQ(B64BodyHash(Canon::kSimple, ""), "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
  EXPECT_EQ(B64BodyHash(Canon::kRelaxed, ""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST(DkimCanon, BodyHashOfTheRfcExample) {
  // The body of RFC 6376 Appendix A / RFC 8463 Appendix A; the bh= values
  // of the RFC 8463 example (relaxed) and of dkimpy's simple/simple
  // signatures of it.
  const std::string body = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n";
  EXPECT_EQ(B64BodyHash(Canon::kRelaxed, body), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  EXPECT_EQ(B64BodyHash(Canon::kSimple, body), "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
}

TEST(DkimCanon, BodyHashLimitCountsCanonicalOctets) {
  // l= counts octets of the canonical body (RFC 6376 3.5): "a  b\r\n" is
  // "a b\r\n" (5 octets) relaxed.
  BodyHash h(Canon::kRelaxed, 3);
  h.write("a  b\r\nmore\r\n");
  const std::string digest = h.finish();
  EXPECT_EQ(digest, sha256("a b"));
  EXPECT_EQ(h.hashed_length(), 3u);
  EXPECT_EQ(h.canonical_length(), 11u);

  BodyHash whole(Canon::kRelaxed, 100);
  whole.write("a  b\r\n");
  EXPECT_EQ(whole.finish(), sha256("a b\r\n"));
  EXPECT_EQ(whole.hashed_length(), 5u);
  EXPECT_EQ(whole.canonical_length(), 5u);
}

TEST(DkimCanon, BodyHashLimitZero) {
  BodyHash h(Canon::kSimple, 0);
  h.write("anything\r\n");
  EXPECT_EQ(h.finish(), sha256(""));
  EXPECT_EQ(h.canonical_length(), 10u);
}

TEST(DkimCanon, Names) {
  EXPECT_STREQ(canon_name(Canon::kSimple), "simple");
  EXPECT_STREQ(canon_name(Canon::kRelaxed), "relaxed");
}

}  // namespace
}  // namespace tern::dkim
