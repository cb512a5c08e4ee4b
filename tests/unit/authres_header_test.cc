// Authentication-Results (RFC 8601): building the field, and reading the
// authserv-id of existing ones.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "authres/header.h"

namespace tern::authres {
namespace {

// The value of a built field: after "Authentication-Results:", unfolded.
std::string ValueOf(const std::string& field) {
  std::string v = field.substr(field.find(':') + 1);
  std::string out;
  for (char c : v) {
    if (c != '\r' && c != '\n') out += c;
  }
  return out;
}

// `s` with leading and trailing whitespace dropped and each run of SP/HTAB
// written as one space (what folding may change in comments).
std::string Collapsed(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// A well-formed header field (RFC 5322 2.1.1, 2.2, 2.2.3): US-ASCII, every
// line ends in CRLF with no other CR or LF, lines under 998 octets, each
// continuation line starts with whitespace. Returns what is wrong, or "".
std::string Malformed(const std::string& field) {
  if (!field.starts_with("Authentication-Results: ")) return "name";
  if (!field.ends_with("\r\n")) return "no final CRLF";
  size_t start = 0;
  bool first = true;
  while (start < field.size()) {
    const size_t eol = field.find("\r\n", start);
    if (eol == std::string::npos) return "unterminated line";
    const std::string line = field.substr(start, eol - start);
    if (line.size() >= 998) return "line of " + std::to_string(line.size()) + " octets";
    if (!first && (line.empty() || (line[0] != ' ' && line[0] != '\t'))) {
      return "continuation without whitespace: " + line;
    }
    if (!first && line.find_first_not_of(" \t") == std::string::npos) return "blank line";
    for (char c : line) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (u >= 0x80 || (u < 0x20 && c != '\t') || u == 0x7f) return "octet " + std::to_string(u);
    }
    first = false;
    start = eol + 2;
  }
  return "";
}

dkim::SignatureResult Sig(dkim::Result result, std::string domain, std::string selector,
                          std::string b) {
  dkim::SignatureResult s;
  s.result = result;
  s.domain = domain;
  s.identity = "@" + domain;
  s.selector = std::move(selector);
  s.algorithm = "rsa-sha256";
  s.b = std::move(b);
  return s;
}

TEST(AuthresHeader, BuildsTheUsualField) {
  std::vector<MethodResult> results;
  results.push_back(spf_result("pass", "example.com", "mx.example.com", false));
  for (MethodResult& r : dkim_results(
           {Sig(dkim::Result::kPass, "example.com", "sel", "AbCdEfGhIjKlMnOp0123456789")})) {
    results.push_back(std::move(r));
  }
  results.push_back(dmarc_result("pass", "example.com", "reject", "none"));
  EXPECT_EQ(build_header("mail.example.org", results),
            "Authentication-Results: mail.example.org;\r\n"
            "\tspf=pass smtp.mailfrom=example.com;\r\n"
            "\tdkim=pass header.d=example.com header.s=sel header.a=rsa-sha256 "
            "header.b=AbCdEfGh;\r\n"
            "\tdmarc=pass (p=reject dis=none) header.from=example.com\r\n");
}

TEST(AuthresHeader, NoResultIsNone) {
  // RFC 8601 2.2 no-result.
  EXPECT_EQ(build_header("mail.example.org", {}),
            "Authentication-Results: mail.example.org; none\r\n");
  // Results that cannot be written count as none too.
  EXPECT_EQ(build_header("mx", {{.method = "spf pass", .result = "x"}}),
            "Authentication-Results: mx; none\r\n");
}

TEST(AuthresHeader, ValuesAreQuotedWhenNotTokens) {
  MethodResult r{.method = "dkim", .result = "fail", .reason = "body hash did not verify"};
  r.props = {{"header.d", "example.com"},          {"header.b", "ab/cd+ef"},  // "/" is a tspecial
             {"smtp.mailfrom", "joe@example.com"},  // the address form of pvalue
             {"header.i", "@example.com"},         {"header.x", "two words"},
             {"header.y", "say \"hi\" \\ bye"},    {"header.z", ""},
             {"header.w", "joe@localhost"},      // "localhost" is no domain-name (needs 2 labels)
             {"header.v", ".joe@example.com"}};  // not a dot-atom
  const std::string field = build_header("mx.example.org", {r});
  EXPECT_EQ(Malformed(field), "");
  EXPECT_EQ(Collapsed(ValueOf(field)),
            "mx.example.org; dkim=fail reason=\"body hash did not verify\" header.d=example.com "
            "header.b=\"ab/cd+ef\" smtp.mailfrom=joe@example.com header.i=@example.com "
            "header.x=\"two words\" header.y=\"say \\\"hi\\\" \\\\ bye\" header.z=\"\" "
            "header.w=\"joe@localhost\" header.v=\".joe@example.com\"");
  // A token reason stays bare.
  EXPECT_NE(build_header("mx", {{.method = "dkim", .result = "policy", .reason = "expired"}})
                .find("dkim=policy reason=expired"),
            std::string::npos);
}

TEST(AuthresHeader, AuthservIdIsQuotedWhenNeeded) {
  EXPECT_EQ(build_header("mx [1]", {}), "Authentication-Results: \"mx [1]\"; none\r\n");
  EXPECT_EQ(authserv_id_of(ValueOf(build_header("mx [1]", {}))), "mx [1]");
}

TEST(AuthresHeader, HostileValuesCannotBreakTheField) {
  MethodResult r{.method = "spf", .result = "fail"};
  r.reason = "line one\r\nX-Injected: yes\r\n\r\nbody";
  r.comment = "a (nested) comment\\ with \r\n CRLF";
  r.props = {{"smtp.mailfrom", "evil\r\nX-Injected: yes@example.com"},
             {"header.from", "J\xc3\xb6rg <j@example.com>"},
             {"header.d", std::string("nul\0byte", 8)}};
  const std::string field = build_header("mx\r\nX-Evil: 1", {r});
  EXPECT_EQ(Malformed(field), "") << field;
  EXPECT_EQ(field.find("\r\nX-"), std::string::npos) << field;
  const std::string v = Collapsed(ValueOf(field));
  EXPECT_NE(v.find("header.from=\"J??rg <j@example.com>\""), std::string::npos) << field;
  EXPECT_NE(v.find("(a \\(nested\\) comment\\\\ with CRLF)"), std::string::npos) << field;
  EXPECT_NE(v.find("reason=\"line one X-Injected: yes body\""), std::string::npos) << field;
  EXPECT_EQ(authserv_id_of(ValueOf(field)), "mx  X-Evil: 1");
}

TEST(AuthresHeader, LongResultsFoldBetweenWords) {
  MethodResult r{.method = "dkim", .result = "fail"};
  r.reason = std::string(3000, 'x') + " and " + std::string(200, 'y');
  r.comment =
      "lots of words in a long comment that goes on and on and on and on and on and on and on "
      "and on past the fold";
  for (int i = 0; i < 30; ++i) r.props.push_back({"header.d", "d" + std::to_string(i) + ".test"});
  const std::string field = build_header("mx.example.org", {r, r});
  EXPECT_EQ(Malformed(field), "") << field;
  // Every line that holds more than one word stays within 100 octets.
  size_t start = 0;
  while (start < field.size()) {
    const size_t eol = field.find("\r\n", start);
    const std::string line = field.substr(start, eol - start);
    const std::string words = Collapsed(line);
    if (words.find(' ') != std::string::npos) EXPECT_LE(line.size(), 101u) << line;  // 100 + ";"
    start = eol + 2;
  }
  // Unfolded, the words are all there, in order.
  const std::string v = Collapsed(ValueOf(field));
  EXPECT_NE(v.find("d0.test"), std::string::npos);
  EXPECT_NE(v.find("header.d=d29.test"), std::string::npos);
  EXPECT_NE(v.find("(lots of words in a long comment that goes on and on and on and on and on and "
                   "on and on and on past the fold)"),
            std::string::npos)
      << v;
}

TEST(AuthresHeader, QuotedStringsKeepTheirSpacesWhenFolded) {
  MethodResult r{.method = "spf", .result = "pass"};
  const std::string odd =
      "  two  spaces   and a long tail of words that will have to fold somewhere, once the line "
      "is past   one hundred octets ";
  r.props = {{"header.x", odd}};
  const std::string field = build_header("mx.example.org", {r});
  EXPECT_EQ(Malformed(field), "");
  EXPECT_NE(field.find("octets \"\r\n"), std::string::npos) << field;
  EXPECT_NE(field.find("once\r\n the line"), std::string::npos) << field;  // folded inside
  EXPECT_NE(ValueOf(field).find("header.x=\"" + odd + "\""), std::string::npos) << field;
}

TEST(AuthresHeader, SpfIdentities) {
  const MethodResult helo = spf_result("pass", "joe@example.com", "mx.example.com", true);
  ASSERT_EQ(helo.props.size(), 1u);
  EXPECT_EQ(helo.props[0].ptype_property, "smtp.helo");
  EXPECT_EQ(helo.props[0].value, "mx.example.com");

  const MethodResult addr = spf_result("softfail", "joe@example.com", "h", false);
  EXPECT_EQ(addr.method, "spf");
  EXPECT_EQ(addr.result, "softfail");
  ASSERT_EQ(addr.props.size(), 1u);
  EXPECT_EQ(addr.props[0].ptype_property, "smtp.mailfrom");
  EXPECT_EQ(addr.props[0].value, "joe@example.com");
  EXPECT_NE(build_header("mx", {addr}).find("spf=softfail smtp.mailfrom=joe@example.com\r\n"),
            std::string::npos);

  // The null reverse-path: SPF checked postmaster@HELO (RFC 7208 2.4).
  const MethodResult null_path = spf_result("pass", "", "mx.example.com", false);
  ASSERT_EQ(null_path.props.size(), 1u);
  EXPECT_EQ(null_path.props[0].value, "postmaster@mx.example.com");
  EXPECT_TRUE(spf_result("none", "", "", false).props.empty());
}

TEST(AuthresHeader, DkimNoneAndReasons) {
  const std::vector<MethodResult> none = dkim_results({});
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(build_header("mx", none), "Authentication-Results: mx;\r\n\tdkim=none\r\n");

  dkim::SignatureResult fail = Sig(dkim::Result::kFail, "example.com", "s1", "abcdefgh1234");
  fail.reason = "body hash did not verify";
  fail.identity = "joe@sub.example.com";
  dkim::SignatureResult pass = Sig(dkim::Result::kPass, "Example.COM", "s2", "zzzzzzzzzz");
  pass.identity = "@example.com";  // the default for d=: not worth a property
  pass.reason = "a note";
  pass.testing = true;
  const std::vector<MethodResult> rs = dkim_results({fail, pass});
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(build_header("mx", rs),
            "Authentication-Results: mx;\r\n"
            "\tdkim=fail reason=\"body hash did not verify\" header.d=example.com "
            "header.i=joe@sub.example.com\r\n"
            "\t  header.s=s1 header.a=rsa-sha256 header.b=abcdefgh;\r\n"
            "\tdkim=pass (test mode) header.d=Example.COM header.s=s2 header.a=rsa-sha256 "
            "header.b=zzzzzzzz\r\n");
}

TEST(AuthresHeader, DkimHeaderBTellsSignaturesApart) {
  // RFC 6008 2: two signatures starting alike get longer header.b values.
  const std::vector<MethodResult> rs =
      dkim_results({Sig(dkim::Result::kPass, "a.test", "s", "ABCDEFGHIJ1"),
                    Sig(dkim::Result::kPass, "a.test", "t", "ABCDEFGHIJ2"),
                    Sig(dkim::Result::kPass, "a.test", "u", "ABCDEFGXYZ"),
                    Sig(dkim::Result::kPass, "a.test", "v", "ABCD")});
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].props.back().value, "ABCDEFGHIJ1");
  EXPECT_EQ(rs[1].props.back().value, "ABCDEFGHIJ2");
  EXPECT_EQ(rs[2].props.back().value, "ABCDEFGX");
  EXPECT_EQ(rs[3].props.back().value, "ABCD");
}

TEST(AuthresHeader, Dmarc) {
  EXPECT_EQ(build_header("mx", {dmarc_result("fail", "example.com", "quarantine", "quarantine")}),
            "Authentication-Results: mx;\r\n"
            "\tdmarc=fail (p=quarantine dis=quarantine) header.from=example.com\r\n");
  EXPECT_EQ(build_header("mx", {dmarc_result("none", "", "", "")}),
            "Authentication-Results: mx;\r\n\tdmarc=none\r\n");
}

TEST(AuthresHeader, AuthservIdOfRfc8601Examples) {
  // The fields of RFC 8601 Appendix B (B.2 to B.7), values as they appear
  // after the colon, folding included.
  const std::vector<std::pair<std::string, std::string>> examples = {
      {" example.org 1; none", "example.org"},
      {" example.com;\r\n          spf=pass smtp.mailfrom=example.net", "example.com"},
      {" example.com;\r\n          auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
       "          spf=pass smtp.mailfrom=example.net",
       "example.com"},
      {" example.com; iprev=pass\r\n          policy.iprev=192.0.2.200", "example.com"},
      {" example.com;\r\n          dkim=pass (good signature) header.d=example.com", "example.com"},
      {" example.com;\r\n    dkim=pass reason=\"good signature\"\r\n"
       "      header.i=@mail-router.example.net;\r\n    dkim=fail reason=\"bad signature\"\r\n"
       "      header.i=@newyork.example.com",
       "example.com"},
      {" example.net;\r\n    dkim=pass (good signature) header.i=@newyork.example.com",
       "example.net"},
      {" foo.example.net (foobar) 1 (baz);\r\n"
       "    dkim (Because I like it) / 1 (One yay) = (wait for it) fail\r\n"
       "      policy (A dot can go here) . (like that) expired\r\n"
       "      (this surprised me) = (as I wasn't expecting it) 1362471462",
       "foo.example.net"},
  };
  for (const auto& [value, id] : examples) EXPECT_EQ(authserv_id_of(value), id) << value;
}

TEST(AuthresHeader, AuthservIdOfOtherForms) {
  EXPECT_EQ(authserv_id_of("\"mx.example.org\"; none"), "mx.example.org");
  EXPECT_EQ(authserv_id_of(" (a (nested) comment \\) ) MX.Example.Org;"), "MX.Example.Org");
  EXPECT_EQ(authserv_id_of("\r\n\tmx.example.org\r\n\t; none"), "mx.example.org");
  EXPECT_EQ(authserv_id_of("\"mx \\\"x\\\"\"; none"), "mx \"x\"");
  EXPECT_EQ(authserv_id_of("mx.example.org"), "mx.example.org");  // the rest is not checked
  EXPECT_EQ(authserv_id_of("mx.example.org(c)dkim=pass"), "mx.example.org");
  EXPECT_EQ(authserv_id_of(" mx.example.org dkim=pass"), "mx.example.org");
  for (const char* bad : {"", "   ", "; none", "(unclosed mx.example.org; none", "\"mx; none",
                          "mx@example.org; none", "mx/1; none", "\"\"; none", "=x; none"}) {
    EXPECT_EQ(authserv_id_of(bad), std::nullopt) << bad;
  }
}

TEST(AuthresHeader, WhatWeBuildParsesBack) {
  // Property: for any printable-ASCII authserv-id, the field we build is
  // well-formed and its authserv-id reads back exactly.
  std::mt19937 rng(8601);
  const std::string alphabet = "abcXYZ019.-_ ()<>@,;:\\\"/[]?=!#$%&'*+^`{|}~\t";
  for (int n = 0; n < 2000; ++n) {
    std::string id;
    const size_t len = 1 + rng() % 40;
    for (size_t i = 0; i < len; ++i) id += alphabet[rng() % alphabet.size()];
    for (char& c : id) {
      if (c == '\t') c = ' ';  // a control character: written as a space anyway
    }
    std::vector<MethodResult> results;
    if (n % 2) results.push_back(spf_result("pass", "a@example.com", "h", false));
    const std::string field = build_header(id, results);
    ASSERT_EQ(Malformed(field), "") << field;
    EXPECT_EQ(authserv_id_of(ValueOf(field)), id) << field;
    // Folded as built, too.
    EXPECT_EQ(authserv_id_of(field.substr(field.find(':') + 1)), id) << field;
  }
}

TEST(AuthresHeader, Tokens) {
  EXPECT_TRUE(is_token("example.com"));
  EXPECT_TRUE(is_token("rsa-sha256"));
  EXPECT_TRUE(is_token("a+b_c!#$%&'*^`{|}~"));
  for (const char* s :
       {"", "a b", "a@b", "a/b", "a=b", "a;b", "a\"b", "a(b", "a\x01", "\xc3\xb6"}) {
    EXPECT_FALSE(is_token(s)) << s;
  }
}

}  // namespace
}  // namespace tern::authres
