// ARC (RFC 8617): sealing and chain validation against each other, with
// keys injected (no DNS): pass over one and two hops, both algorithms,
// oldest-pass, every structural failure of 5.2, tampering, cv=fail chains,
// and when the sealer declines.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

#include "arc/report.h"
#include "arc/sealer.h"
#include "arc/sets.h"
#include "arc/verifier.h"
#include "dkim/keys.h"
#include "dkim/signature.h"
#include "dkim/tag_list.h"

namespace tern::arc {
namespace {

constexpr int64_t kNow = 1767268800;

const char kMessage[] =
    "From: Alice <alice@example.com>\r\n"
    "To: list@example.net\r\n"
    "Subject: Hello\r\n"
    "\r\n"
    "Hello Bob.\r\n";

const dkim::PrivateKey& Key(dkim::KeyType type) {
  static const dkim::PrivateKey rsa = [] {
    dkim::PrivateKey k;
    EXPECT_TRUE(dkim::PrivateKey::generate(dkim::KeyType::kRsa, 2048, &k).ok());
    return k;
  }();
  static const dkim::PrivateKey ed = [] {
    dkim::PrivateKey k;
    EXPECT_TRUE(dkim::PrivateKey::generate(dkim::KeyType::kEd25519, 0, &k).ok());
    return k;
  }();
  return type == dkim::KeyType::kRsa ? rsa : ed;
}

// Keys: "rsa._domainkey.<d>" and "ed._domainkey.<d>" for any d.
dkim::KeyAnswer Lookup(const std::string& q) {
  if (q.rfind("rsa._domainkey.", 0) == 0) {
    return dkim::KeyAnswer::found({dkim::key_record_text(Key(dkim::KeyType::kRsa))});
  }
  if (q.rfind("ed._domainkey.", 0) == 0) {
    return dkim::KeyAnswer::found({dkim::key_record_text(Key(dkim::KeyType::kEd25519))});
  }
  if (q.rfind("temp.", 0) == 0) return dkim::KeyAnswer::temp_fail("SERVFAIL");
  return dkim::KeyAnswer::not_found();
}

// `message` sealed by `host` (authserv-id and d=) after it recorded
// `results` in an Authentication-Results field, as tern does on arrival.
std::string Hop(std::string_view message, std::string_view host, std::string_view results,
                dkim::KeyType type = dkim::KeyType::kRsa, Status* status = nullptr) {
  const std::string in = "Authentication-Results: " + std::string(host) + ";\r\n\t" +
                         std::string(results) + "\r\n" + std::string(message);
  Sealer s(Key(type), {.domain = std::string(host),
                       .selector = type == dkim::KeyType::kRsa ? "rsa" : "ed",
                       .authserv_id = std::string(host),
                       .timestamp = kNow});
  // In odd chunks: the header section must not depend on where they fall.
  for (size_t i = 0; i < in.size(); i += 7) s.write(std::string_view(in).substr(i, 7));
  std::string fields;
  Status st = s.finish(&fields);
  if (status) *status = st;
  EXPECT_TRUE(status || st.ok()) << st.message();
  return fields + in;
}

ChainResult Verify(std::string_view message) { return verify_chain(message, Lookup); }

TEST(ArcChain, NoArcFieldsIsNone) {
  const ChainResult r = Verify(kMessage);
  EXPECT_EQ(r.status, ChainStatus::kNone);
  EXPECT_EQ(r.instance, 0);
}

TEST(ArcChain, OneHopPasses) {
  const std::string m = Hop(kMessage, "one.example", "spf=pass smtp.mailfrom=alice@example.com");
  EXPECT_EQ(m.find("ARC-Seal: i=1; cv=none; a=rsa-sha256; d=one.example; s=rsa;"), 0u) << m;
  EXPECT_NE(m.find("ARC-Authentication-Results: i=1; one.example;\r\n\tspf=pass"),
            std::string::npos)
      << m;
  const ChainResult r = Verify(m);
  EXPECT_EQ(r.status, ChainStatus::kPass) << r.reason;
  EXPECT_EQ(r.instance, 1);
  EXPECT_EQ(r.oldest_pass, 0);
  ASSERT_EQ(r.sealers.size(), 1u);
  EXPECT_EQ(r.sealers[0], "one.example");
  EXPECT_EQ(r.results[0], "one.example; spf=pass smtp.mailfrom=alice@example.com");
}

TEST(ArcChain, Ed25519Passes) {
  const std::string m = Hop(kMessage, "one.example", "spf=pass", dkim::KeyType::kEd25519);
  EXPECT_NE(m.find("a=ed25519-sha256"), std::string::npos);
  EXPECT_EQ(Verify(m).status, ChainStatus::kPass) << Verify(m).reason;
}

TEST(ArcChain, TwoHopsPass) {
  const std::string one = Hop(kMessage, "one.example", "spf=pass");
  const std::string two = Hop(one, "two.example", "spf=fail; arc=pass", dkim::KeyType::kEd25519);
  EXPECT_EQ(two.find("ARC-Seal: i=2; cv=pass;"), 0u) << two;
  const ChainResult r = Verify(two);
  EXPECT_EQ(r.status, ChainStatus::kPass) << r.reason;
  EXPECT_EQ(r.instance, 2);
  EXPECT_EQ(r.oldest_pass, 0);
  EXPECT_EQ(r.sealers, (std::vector<std::string>{"one.example", "two.example"}));
}

TEST(ArcChain, ChangeBetweenHopsSetsOldestPass) {
  std::string one = Hop(kMessage, "one.example", "spf=pass");
  // A list rewrites the subject before sealing: the first AMS breaks, the
  // chain (sealed over the change) still passes.
  one.replace(one.find("Subject: Hello"), 14, "Subject: [list] Hello");
  const std::string two = Hop(one, "two.example", "arc=pass");
  const ChainResult r = Verify(two);
  EXPECT_EQ(r.status, ChainStatus::kPass) << r.reason;
  EXPECT_EQ(r.oldest_pass, 2);
}

TEST(ArcChain, TamperedBodyFails) {
  std::string m = Hop(kMessage, "one.example", "spf=pass");
  m.replace(m.find("Hello Bob."), 10, "Hello Eve.");
  const ChainResult r = Verify(m);
  EXPECT_EQ(r.status, ChainStatus::kFail);
  EXPECT_NE(r.reason.find("body hash"), std::string::npos) << r.reason;
}

TEST(ArcChain, TamperedResultsBreakTheSeal) {
  std::string m = Hop(kMessage, "one.example", "spf=fail");
  const std::string recorded = "i=1; one.example;\r\n\tspf=fail";
  m.replace(m.find(recorded), recorded.size(), "i=1; one.example;\r\n\tspf=pass");
  const ChainResult r = Verify(m);
  EXPECT_EQ(r.status, ChainStatus::kFail);
  EXPECT_NE(r.reason.find("ARC-Seal i=1"), std::string::npos) << r.reason;
}

TEST(ArcChain, StructureErrorsFail) {
  const std::string one = Hop(kMessage, "one.example", "spf=pass");
  // Without its AAR.
  std::string m = one;
  const size_t aar = m.find("ARC-Authentication-Results:");
  m.erase(aar, m.find("\r\nAuthentication-Results:", aar) + 2 - aar);
  EXPECT_EQ(Verify(m).status, ChainStatus::kFail);
  EXPECT_NE(Verify(m).reason.find("no ARC-Authentication-Results"), std::string::npos)
      << Verify(m).reason;
  // A set i=2 without i=1.
  m = one;
  for (const char* name :
       {"ARC-Seal: i=1", "ARC-Message-Signature: i=1", "ARC-Authentication-Results: i=1"}) {
    m.replace(m.find(name), strlen(name), std::string(name, strlen(name) - 1) + "2");
  }
  EXPECT_EQ(Verify(m).status, ChainStatus::kFail);
  EXPECT_EQ(Verify(m).reason, "no ARC set i=1");
  // A duplicate field.
  m = "ARC-Authentication-Results: i=1; x.example; none\r\n" + one;
  EXPECT_EQ(Verify(m).status, ChainStatus::kFail);
  // Instance 1 claiming cv=pass (re-sealed so that only cv= is wrong).
  m = one;
  m.replace(m.find("cv=none"), 7, "cv=pass");
  EXPECT_EQ(Verify(m).status, ChainStatus::kFail);
  EXPECT_NE(Verify(m).reason.find("cv=pass, not none"), std::string::npos);
  // No i=.
  EXPECT_EQ(Verify("ARC-Seal: cv=none\r\n" + std::string(kMessage)).status, ChainStatus::kFail);
}

TEST(ArcChain, KeyProblems) {
  std::string m = Hop(kMessage, "one.example", "spf=pass");
  m.replace(m.find("s=rsa;"), 6, "s=temp;");  // the AS: its signature breaks too
  ChainResult r = verify_chain(m, [](const std::string& q) {
    return q.rfind("temp.", 0) == 0 ? dkim::KeyAnswer::temp_fail("SERVFAIL") : Lookup(q);
  });
  EXPECT_EQ(r.status, ChainStatus::kFail);
  // The AMS still says s=rsa (it comes second): a missing key fails the AMS.
  const std::string n = Hop(kMessage, "one.example", "spf=pass");
  r = verify_chain(n, [](const std::string&) { return dkim::KeyAnswer::temp_fail("SERVFAIL"); });
  EXPECT_EQ(r.status, ChainStatus::kFail);
  EXPECT_TRUE(r.temporary);
  r = verify_chain(n, [](const std::string&) { return dkim::KeyAnswer::not_found(); });
  EXPECT_EQ(r.status, ChainStatus::kFail);
  EXPECT_FALSE(r.temporary);
}

TEST(ArcSealer, FailedChainIsSealedWithCvFailOverItsOwnSet) {
  const std::string one = Hop(kMessage, "one.example", "spf=pass");
  const std::string two = Hop(one, "two.example", "arc=fail");
  EXPECT_EQ(two.find("ARC-Seal: i=2; cv=fail;"), 0u);
  const ChainResult r = Verify(two);
  EXPECT_EQ(r.status, ChainStatus::kFail);
  EXPECT_EQ(r.reason, "ARC-Seal i=2 says cv=fail");
  // The seal covers only its own set: check it directly.
  std::vector<dkim::HeaderField> fields =
      dkim::split_header_fields(std::string_view(two).substr(0, two.find("\r\n\r\n") + 2));
  std::vector<ArcSet> sets;
  ASSERT_TRUE(collect_sets(fields, &sets).ok());
  const std::string data = seal_hash_input(fields, sets, 1, true);
  EXPECT_EQ(data.find("arc-authentication-results:i=2;"), 0u) << data;
  dkim::TagList tags;
  ASSERT_TRUE(dkim::parse_tag_list(dkim::field_value(fields[sets[1].seal]), &tags).ok());
  Seal seal;
  ASSERT_TRUE(parse_seal(tags, &seal).ok());
  dkim::PublicKey pub;
  ASSERT_TRUE(dkim::PublicKey::from_record_data(dkim::KeyType::kRsa,
                                                Key(dkim::KeyType::kRsa).public_key_data(), &pub)
                  .ok());
  EXPECT_TRUE(pub.verify(data, seal.signature));
  // And nobody seals after a cv=fail.
  Status st;
  Hop(two, "three.example", "arc=fail", dkim::KeyType::kRsa, &st);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cv=fail"), std::string::npos);
}

TEST(ArcSealer, DeclinesAChainItNeverJudged) {
  const std::string one = Hop(kMessage, "one.example", "spf=pass");
  Status st;
  const std::string out = Hop(one, "two.example", "spf=pass", dkim::KeyType::kRsa, &st);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "the message has ARC sets but no arc= result of ours");
  EXPECT_EQ(out.find("ARC-Seal: i=2"), std::string::npos);
}

TEST(ArcSealer, NoResultsOfOursGivesNone) {
  Sealer s(Key(dkim::KeyType::kRsa),
           {.domain = "one.example", .selector = "rsa", .authserv_id = "one.example"});
  s.write("Authentication-Results: other.example; spf=pass\r\n" + std::string(kMessage));
  std::string fields;
  ASSERT_TRUE(s.finish(&fields).ok());
  EXPECT_NE(fields.find("ARC-Authentication-Results: i=1; one.example; none\r\n"),
            std::string::npos)
      << fields;
  // The AMS signs neither Authentication-Results nor ARC fields.
  const size_t h = fields.find(" h=");
  ASSERT_NE(h, std::string::npos);
  const std::string rest = fields.substr(h, fields.find(';', h) - h);
  EXPECT_EQ(rest.find("authentication-results"), std::string::npos) << rest;
  EXPECT_EQ(rest.find("arc-"), std::string::npos) << rest;
}

TEST(ArcResults, ReadsOurFieldAndAMethod) {
  const std::vector<dkim::HeaderField> fields = dkim::split_header_fields(
      "Authentication-Results: other.example; arc=fail\r\n"
      "Authentication-Results: mx.example.org;\r\n"
      "\tspf=pass (sender \"a;b\" ok) smtp.mailfrom=a@b.example;\r\n"
      "\tarc=pass (i=2) header.oldest-pass=0\r\n");
  const std::optional<std::string> p = our_results(fields, "MX.example.org");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p,
            "spf=pass (sender \"a;b\" ok) smtp.mailfrom=a@b.example; arc=pass (i=2) "
            "header.oldest-pass=0");
  EXPECT_EQ(method_result(*p, "arc"), "pass");
  EXPECT_EQ(method_result(*p, "spf"), "pass");
  EXPECT_EQ(method_result(*p, "dkim"), "");
  EXPECT_EQ(method_result("(arc=pass) dkim=none; arc / 1 = fail", "arc"), "fail");
  EXPECT_FALSE(our_results(fields, "nobody.example"));
}

TEST(ArcSignature, MessageSignatureTags) {
  dkim::TagList tags;
  dkim::Signature sig;
  const std::string ams =
      "i=3; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s; h=from:to; bh="
      "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";
  ASSERT_TRUE(dkim::parse_tag_list(ams, &tags).ok());
  ASSERT_TRUE(dkim::parse_signature(tags, &sig, dkim::SignatureKind::kArcMessage).ok());
  EXPECT_EQ(sig.instance, 3);
  EXPECT_EQ(sig.identity, "@example.org");
  // As a DKIM-Signature it lacks v=.
  EXPECT_FALSE(dkim::parse_signature(tags, &sig).ok());
  for (const std::string bad : {"i=0; ", "i=51; ", "i=x; ", ""}) {
    std::string text = ams;
    text.replace(0, 5, bad);
    ASSERT_TRUE(dkim::parse_tag_list(text, &tags).ok()) << text;
    EXPECT_FALSE(dkim::parse_signature(tags, &sig, dkim::SignatureKind::kArcMessage).ok()) << text;
  }
  std::string with_seal = ams;
  with_seal.replace(with_seal.find("h=from:to"), 9, "h=from:arc-seal");
  ASSERT_TRUE(dkim::parse_tag_list(with_seal, &tags).ok());
  EXPECT_FALSE(dkim::parse_signature(tags, &sig, dkim::SignatureKind::kArcMessage).ok());
}

TEST(ArcSignature, SealTags) {
  dkim::TagList tags;
  Seal s;
  ASSERT_TRUE(dkim::parse_tag_list(
                  "i=2; cv=Pass; a=ed25519-sha256; d=example.org; s=s; t=12; b=AAAA", &tags)
                  .ok());
  ASSERT_TRUE(parse_seal(tags, &s).ok());
  EXPECT_EQ(s.instance, 2);
  EXPECT_EQ(s.cv, ChainStatus::kPass);
  EXPECT_EQ(s.key_query(), "s._domainkey.example.org");
  for (const char* bad : {"i=2; cv=maybe; a=rsa-sha256; d=example.org; s=s; b=AAAA",
                          "i=2; cv=none; a=rsa-sha256; d=example.org; s=s; h=from; b=AAAA",
                          "i=2; cv=none; a=rsa-sha1; d=example.org; s=s; b=AAAA",
                          "cv=none; a=rsa-sha256; d=example.org; s=s; b=AAAA"}) {
    ASSERT_TRUE(dkim::parse_tag_list(bad, &tags).ok()) << bad;
    EXPECT_FALSE(parse_seal(tags, &s).ok()) << bad;
  }
}

TEST(ArcReport, AuthenticationResultsAndTrustedSealers) {
  const std::string one =
      Hop(kMessage, "list.example", "spf=pass; dmarc=pass header.from=example.com");
  const std::string two = Hop(one, "fwd.example", "arc=pass; dmarc=fail");
  const ChainResult r = Verify(two);
  ASSERT_EQ(r.status, ChainStatus::kPass) << r.reason;
  const std::string ar = authres::build_header("mx.example.org", {arc_result(r, "192.0.2.1")});
  EXPECT_NE(ar.find("arc=pass (i=2) header.oldest-pass=0 smtp.remote-ip=192.0.2.1"),
            std::string::npos)
      << ar;
  EXPECT_NE(ar.find("arc.chain=\"list.example:fwd.example\""), std::string::npos) << ar;
  // The most recent trusted sealer that says dmarc=pass vouches.
  EXPECT_EQ(vouching_sealer(r, {"List.Example"}), "list.example");
  EXPECT_EQ(vouching_sealer(r, {"fwd.example"}), "");  // its AAR says dmarc=fail
  EXPECT_EQ(vouching_sealer(r, {}), "");
  ChainResult failed = r;
  failed.status = ChainStatus::kFail;
  failed.reason = "ARC-Seal i=1: signature did not verify";
  EXPECT_EQ(vouching_sealer(failed, {"list.example"}), "");
  const std::string far = authres::build_header("mx.example.org", {arc_result(failed, "")});
  EXPECT_NE(far.find("arc=fail (i=2) reason=\"ARC-Seal i=1: signature did not verify\""),
            std::string::npos)
      << far;
  EXPECT_NE(
      authres::build_header("mx.example.org", {arc_result(ChainResult{}, "")}).find("arc=none"),
      std::string::npos);
}

}  // namespace
}  // namespace tern::arc
