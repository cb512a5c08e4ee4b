// SPF record selection and parsing (RFC 7208 4.5, 4.6, 5, 6, 12).
#include <gtest/gtest.h>

#include <string>

#include "spf/record.h"

namespace tern::spf {
namespace {

Record Parse(const std::string& text) {
  ParsedRecord p = parse_record(text);
  EXPECT_TRUE(p.record.has_value()) << text << ": " << p.error;
  return p.record.value_or(Record{});
}

std::string Error(const std::string& text) {
  ParsedRecord p = parse_record(text);
  EXPECT_FALSE(p.record.has_value()) << text;
  return p.error;
}

TEST(SpfRecord, VersionDetection) {
  EXPECT_TRUE(is_spf_record("v=spf1"));
  EXPECT_TRUE(is_spf_record("V=SPF1 -all"));
  EXPECT_FALSE(is_spf_record("v=spf10 -all"));
  EXPECT_FALSE(is_spf_record("v=spf1-all"));
  EXPECT_FALSE(is_spf_record(" v=spf1 -all"));
  EXPECT_FALSE(is_spf_record("spf2.0/pra -all"));
}

TEST(SpfRecord, SelectionJoinsStringsAndRefusesTwo) {
  RecordSelection s = select_record({{"v=spf1 ip4:192.0.2.0/24", " -all"}, {"google-site=x"}});
  EXPECT_EQ(s.status, RecordSelection::kFound);
  EXPECT_EQ(s.text, "v=spf1 ip4:192.0.2.0/24 -all");
  EXPECT_EQ(select_record({{"v=spf1 -all"}, {"v=spf1 +all"}}).status, RecordSelection::kMultiple);
  EXPECT_EQ(select_record({{"nothing"}}).status, RecordSelection::kNone);
  EXPECT_EQ(select_record({}).status, RecordSelection::kNone);
  // "v=spf1" split across strings still counts (RFC 7208 3.3).
  EXPECT_EQ(select_record({{"v=sp", "f1 -all"}}).status, RecordSelection::kFound);
}

TEST(SpfRecord, EveryMechanismWithQualifiers) {
  const Record r = Parse(
      "v=spf1 +all -include:_spf.example.net ~a ?a:x.example.com/24 mx/26//64 "
      "mx:%{d}//48 ptr ptr:example.org ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{i}.bl.test");
  ASSERT_EQ(r.mechanisms.size(), 11u);
  const Mechanism& m0 = r.mechanisms[0];
  EXPECT_EQ(m0.kind, MechanismKind::kAll);
  EXPECT_EQ(m0.qualifier, Qualifier::kPass);
  EXPECT_EQ(r.mechanisms[1].kind, MechanismKind::kInclude);
  EXPECT_EQ(r.mechanisms[1].qualifier, Qualifier::kFail);
  EXPECT_EQ(r.mechanisms[1].domain_spec, "_spf.example.net");
  EXPECT_EQ(r.mechanisms[2].qualifier, Qualifier::kSoftFail);
  EXPECT_EQ(r.mechanisms[2].domain_spec, "");
  EXPECT_EQ(r.mechanisms[3].qualifier, Qualifier::kNeutral);
  EXPECT_EQ(r.mechanisms[3].domain_spec, "x.example.com");
  EXPECT_EQ(r.mechanisms[3].cidr4, 24);
  EXPECT_EQ(r.mechanisms[3].cidr6, 128);
  EXPECT_EQ(r.mechanisms[4].kind, MechanismKind::kMx);
  EXPECT_EQ(r.mechanisms[4].cidr4, 26);
  EXPECT_EQ(r.mechanisms[4].cidr6, 64);
  EXPECT_EQ(r.mechanisms[5].domain_spec, "%{d}");
  EXPECT_EQ(r.mechanisms[5].cidr4, 32);
  EXPECT_EQ(r.mechanisms[5].cidr6, 48);
  EXPECT_EQ(r.mechanisms[6].kind, MechanismKind::kPtr);
  EXPECT_EQ(r.mechanisms[7].domain_spec, "example.org");
  EXPECT_EQ(r.mechanisms[8].network, asio::ip::make_address("192.0.2.0"));
  EXPECT_EQ(r.mechanisms[8].cidr4, 24);
  EXPECT_EQ(r.mechanisms[9].network, asio::ip::make_address("2001:db8::"));
  EXPECT_EQ(r.mechanisms[9].cidr6, 32);
  EXPECT_EQ(r.mechanisms[10].kind, MechanismKind::kExists);
  EXPECT_EQ(r.mechanisms[10].text, "exists:%{i}.bl.test");
  EXPECT_TRUE(r.has_all());
}

TEST(SpfRecord, ModifiersAndSpaces) {
  const Record r = Parse("v=spf1  mx   redirect=_spf.example.com exp=why.%{d} foo=%{l}bar  ");
  EXPECT_EQ(r.mechanisms.size(), 1u);
  EXPECT_EQ(r.redirect, "_spf.example.com");
  EXPECT_EQ(r.exp, "why.%{d}");
  EXPECT_FALSE(r.has_all());
  EXPECT_EQ(Parse("v=spf1").mechanisms.size(), 0u);
  // Unknown modifiers are ignored, even twice; names are case-insensitive.
  EXPECT_EQ(Parse("v=spf1 x-y.z=1 x-y.z=2 REDIRECT=a.example").redirect, "a.example");
}

TEST(SpfRecord, Errors) {
  const char* bad[] = {
      "v=spf1 redirect=a.example redirect=b.example",  // duplicate modifiers
      "v=spf1 exp=a.example exp=b.example",
      "v=spf1 redirect=",
      "v=spf1 exp=",
      "v=spf1 foo",               // unknown mechanism
      "v=spf1 -all:x",            // all takes nothing
      "v=spf1 ip4:192.0.2.1/33",  // CIDR out of range
      "v=spf1 ip4:192.0.2.01",    // leading zero
      "v=spf1 ip4:192.0.2",       // short
      "v=spf1 ip4:2001:db8::1",   // wrong family
      "v=spf1 ip6:2001:db8::1/129",
      "v=spf1 ip6:192.0.2.1",
      "v=spf1 ip4:192.0.2.1//64",  // no dual CIDR on ip4
      "v=spf1 a/33",
      "v=spf1 mx//129",
      "v=spf1 a/024",
      "v=spf1 a:",             // empty domain-spec
      "v=spf1 a:museum",       // no top label after a dot
      "v=spf1 a:example.123",  // numeric top label
      "v=spf1 a:example.com:8080",
      "v=spf1 include",  // include needs a domain
      "v=spf1 exists",
      "v=spf1 ptr/24",
      "v=spf1 exists:%{x}.example.com",
      "v=spf1 exists:%{d0}.example.com",
      "v=spf1 exists:%{c}.example.com",  // c only in explanations
      "v=spf1 foo=%",                    // bad macro in an unknown modifier
      "v=spf1 1x=y",
      "v=spf1 =all",
      "v=spf1 \tall",
      "v=spf1 a:caf\xc3\xa9.example",  // non-ASCII
  };
  for (const char* r : bad) EXPECT_NE(Error(r), "") << r;
  EXPECT_EQ(Error("not spf"), "not an SPF record");
}

TEST(SpfRecord, DomainEnd) {
  EXPECT_TRUE(valid_domain_end("example.com"));
  EXPECT_TRUE(valid_domain_end("example.com."));
  EXPECT_TRUE(valid_domain_end("x.1-2"));  // toplabel with a dash may be digits
  EXPECT_TRUE(valid_domain_end("%{d}"));
  EXPECT_TRUE(valid_domain_end("foo.%{d2}"));
  EXPECT_FALSE(valid_domain_end("com"));
  EXPECT_FALSE(valid_domain_end("example.123"));
  EXPECT_FALSE(valid_domain_end("example.-com"));
  EXPECT_FALSE(valid_domain_end("%{d}.123"));
}

TEST(SpfRecord, DnsMechanisms) {
  const Record r = Parse("v=spf1 all include:a.test a mx ptr ip4:192.0.2.1 ip6:::1 exists:b.test");
  int n = 0;
  for (const Mechanism& m : r.mechanisms) n += m.queries_dns() ? 1 : 0;
  EXPECT_EQ(n, 5);
  EXPECT_STREQ(mechanism_name(MechanismKind::kExists), "exists");
}

}  // namespace
}  // namespace tern::spf
