#include "relay/tls_report.h"

#include <gtest/gtest.h>

#include "relay/dane.h"

namespace tern {
namespace {

using tlsrpt::PolicyType;
using tlsrpt::ResultType;

ClientTlsState tls(bool verified, std::string detail = "", std::string dane = "") {
  ClientTlsState t;
  t.active = true;
  t.check.verified = verified;
  t.check.detail = std::move(detail);
  t.check.dane = std::move(dane);
  return t;
}

TlsRequirement dane_requirement() {
  TlsRequirement r;
  r.level = TlsLevel::kDane;
  r.source = TlsSource::kDane;
  r.dane = "usable";
  r.tlsa.push_back(TlsaRecord{3, 1, 1, std::string("\xab\x01", 2)});
  return r;
}

StsState sts_state(sts::Mode mode) {
  StsState s;
  sts::Policy p;
  p.mode = mode;
  p.mx = {"mx.example.com", "*.example.net"};
  p.max_age = 86400;
  s.policy = p;
  s.source = "fetched";
  return s;
}

TlsAttempt attempt() {
  TlsAttempt a;
  a.time = 1700000000;
  a.policy_domain = "example.com";
  a.mx_host = "mx.example.com";
  a.receiving_ip = "192.0.2.7";
  return a;
}

TEST(TlsReport, NoPolicyIsNotRecorded) {
  TlsAttempt a = attempt();
  TlsRequirement may;  // opportunistic, default source
  a.requirement = &may;
  a.tls = tls(false, "self-signed certificate");
  EXPECT_FALSE(tls_session_result(a));
}

TEST(TlsReport, DaneVerifiedIsSuccessWithTheRecords) {
  TlsAttempt a = attempt();
  const TlsRequirement req = dane_requirement();
  a.requirement = &req;
  a.tls = tls(true, "verified", "3 1 1");
  auto r = tls_session_result(a);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->policy_type, PolicyType::kTlsa);
  EXPECT_EQ(r->result, ResultType::kSuccess);
  EXPECT_EQ(r->policy_strings, std::vector<std::string>{"3 1 1 ab01"});
  EXPECT_EQ(r->policy_domain, "example.com");
  EXPECT_EQ(r->receiving_mx_hostname, "mx.example.com");
  EXPECT_EQ(r->receiving_ip, "192.0.2.7");
  EXPECT_EQ(r->time, 1700000000);
}

TEST(TlsReport, DaneMismatchIsTlsaInvalid) {
  TlsAttempt a = attempt();
  const TlsRequirement req = dane_requirement();
  a.requirement = &req;
  ClientTlsState aborted;  // handshake aborted by the DANE check
  aborted.check.detail = "no matching DANE TLSA records";
  a.tls = aborted;
  a.handshake_failed = true;
  EXPECT_EQ(tls_session_result(a)->result, ResultType::kTlsaInvalid);
  a.tls = tls(false, "no TLSA record matched");
  a.handshake_failed = false;
  EXPECT_EQ(tls_session_result(a)->result, ResultType::kTlsaInvalid);
  a.tls = ClientTlsState{};  // no STARTTLS offered (settle() flags that as a handshake failure)
  a.handshake_failed = true;
  EXPECT_EQ(tls_session_result(a)->result, ResultType::kStarttlsNotSupported);
}

TEST(TlsReport, BogusTlsaIsDnssecInvalid) {
  TlsAttempt a = attempt();
  TlsRequirement req;
  req.dane = "bogus";
  req.failure = "TLSA lookup failed: DNSSEC validation failed";
  a.requirement = &req;
  auto r = tls_session_result(a);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->policy_type, PolicyType::kTlsa);
  EXPECT_EQ(r->result, ResultType::kDnssecInvalid);
  EXPECT_EQ(r->failure_reason_code, req.failure);
}

TEST(TlsReport, StsTestingWrongNameIsHostMismatch) {
  TlsAttempt a = attempt();
  const StsState s = sts_state(sts::Mode::kTesting);
  a.sts_state = &s;
  a.sts = sts_hop_rule(s, a.mx_host);
  a.tls = tls(false, "hostname mismatch");
  auto r = tls_session_result(a);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->policy_type, PolicyType::kSts);
  EXPECT_EQ(r->result, ResultType::kCertificateHostMismatch);
  EXPECT_EQ(r->policy_strings,
            (std::vector<std::string>{"version: STSv1", "mode: testing", "mx: mx.example.com",
                                      "mx: *.example.net", "max_age: 86400"}));
  EXPECT_EQ(r->mx_host, (std::vector<std::string>{"mx.example.com", "*.example.net"}));
}

TEST(TlsReport, StsEnforceVerifiedIsSuccess) {
  TlsAttempt a = attempt();
  const StsState s = sts_state(sts::Mode::kEnforce);
  a.sts_state = &s;
  a.sts = sts_hop_rule(s, a.mx_host);
  a.tls = tls(true, "verified");
  EXPECT_EQ(tls_session_result(a)->result, ResultType::kSuccess);
  a.tls = ClientTlsState{};
  a.handshake_failed = true;  // as settle() says when STARTTLS is missing
  EXPECT_EQ(tls_session_result(a)->result, ResultType::kStarttlsNotSupported);
  ClientTlsState failed;
  failed.check.detail = "handshake failure";
  a.tls = failed;
  EXPECT_EQ(tls_session_result(a)->result, ResultType::kValidationFailure);
}

TEST(TlsReport, StsMxOutsideThePolicy) {
  TlsAttempt a = attempt();
  a.mx_host = "other.example.org";
  const StsState s = sts_state(sts::Mode::kEnforce);
  a.sts_state = &s;
  a.sts = sts_hop_rule(s, a.mx_host);
  EXPECT_EQ(tls_session_result(a)->result, ResultType::kValidationFailure);
}

TEST(TlsReport, DaneTakesPrecedenceOverSts) {
  TlsAttempt a = attempt();
  const TlsRequirement req = dane_requirement();
  a.requirement = &req;
  const StsState s = sts_state(sts::Mode::kEnforce);
  a.sts_state = &s;
  a.sts = StsHopRule{};  // sts_rule gives none where DANE decided
  a.tls = tls(true, "verified", "3 1 1");
  EXPECT_EQ(tls_session_result(a)->policy_type, PolicyType::kTlsa);
}

TEST(TlsReport, StsFetchFailures) {
  StsState s;
  s.source = "fetch failed: connection refused";
  auto r = sts_fetch_result(s, "example.com", 5);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->policy_type, PolicyType::kSts);
  EXPECT_EQ(r->result, ResultType::kStsPolicyFetchError);
  s.source = "fetch failed: invalid policy: no mx";
  EXPECT_EQ(sts_fetch_result(s, "example.com", 5)->result, ResultType::kStsPolicyInvalid);
  s.source = "no record";
  EXPECT_FALSE(sts_fetch_result(s, "example.com", 5));
  s = sts_state(sts::Mode::kEnforce);
  s.source = "cached, fetch failed";
  EXPECT_FALSE(sts_fetch_result(s, "example.com", 5));
}

TEST(TlsReport, ReportsGoOutDespiteTlsPolicies) {
  std::map<std::string, TlsRequirement> tls;
  tls["a"] = dane_requirement();
  tls["b"].dane = "bogus";
  tls["b"].failure = "bogus";
  tls["c"].level = TlsLevel::kNone;
  relax_for_tls_report(tls);
  EXPECT_EQ(tls["a"].level, TlsLevel::kMay);
  EXPECT_TRUE(tls["a"].tlsa.empty());
  EXPECT_TRUE(tls["b"].failure.empty());
  EXPECT_EQ(tls["c"].level, TlsLevel::kNone);
}

// RFC 8460 4.4: our address and the server's EHLO name go into the
// failure details (the courier takes them from the connection).
TEST(TlsReport, CarriesOurAddressAndTheServersHelo) {
  TlsAttempt a = attempt();
  const TlsRequirement req = dane_requirement();
  a.requirement = &req;
  a.sending_ip = "192.0.2.1";
  a.receiving_helo = "mx1.example.com";
  a.tls = tls(false, "No matching DANE TLSA records");
  auto r = tls_session_result(a);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result, ResultType::kTlsaInvalid);
  EXPECT_EQ(r->sending_mta_ip, "192.0.2.1");
  EXPECT_EQ(r->receiving_mx_helo, "mx1.example.com");
  EXPECT_EQ(r->receiving_mx_hostname, "mx.example.com");
  EXPECT_EQ(r->receiving_ip, "192.0.2.7");
  // A host skipped before connecting has neither.
  a = attempt();
  a.requirement = &req;
  EXPECT_EQ(tls_session_result(a)->sending_mta_ip, "");
  EXPECT_EQ(tls_session_result(a)->receiving_mx_helo, "");
}

// dane-only ([[tls_policy]]): a host without secure usable TLSA records is
// skipped, and that is RFC 8460 4.3.2.1's "dane-required" under "tlsa";
// a secure RRset of unusable records is "tlsa-invalid".
TEST(TlsReport, DaneOnlyWithoutTlsaIsDaneRequired) {
  Route route;
  route.status = RouteStatus::kOk;
  route.domain = "example.com";
  route.mx_secure = true;
  route.hosts.push_back(
      RouteHost{"mx.example.com", 10, {asio::ip::make_address("192.0.2.7")}, true});
  DestinationTls only;
  only.level = TlsPolicyLevel::kDaneOnly;
  only.configured = true;
  TlsaResult none;
  none.status = DnsStatus::kNoData;
  none.security = DnsSecurity::kSecure;
  const TlsRequirement req = host_requirement(only, route, route.hosts[0], &none);
  ASSERT_FALSE(req.failure.empty());
  EXPECT_TRUE(req.dane_required);
  TlsAttempt a = attempt();
  a.requirement = &req;
  auto r = tls_session_result(a);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->policy_type, PolicyType::kTlsa);
  EXPECT_EQ(r->result, ResultType::kDaneRequired);
  EXPECT_EQ(r->failure_reason_code, req.failure);
  EXPECT_TRUE(r->policy_strings.empty());
  EXPECT_EQ(r->receiving_mx_hostname, "mx.example.com");

  // Insecure MX records under dane-only: no TLSA looked up, also dane-required.
  route.mx_secure = false;
  const TlsRequirement insecure = host_requirement(only, route, route.hosts[0], nullptr);
  a.requirement = &insecure;
  EXPECT_EQ(tls_session_result(a)->result, ResultType::kDaneRequired);
  route.mx_secure = true;

  TlsaResult unusable = none;
  unusable.status = DnsStatus::kOk;
  unusable.records.push_back(TlsaRecord{1, 1, 1, std::string(32, 'x')});  // PKIX-EE
  const TlsRequirement bad = host_requirement(only, route, route.hosts[0], &unusable);
  a.requirement = &bad;
  EXPECT_EQ(tls_session_result(a)->result, ResultType::kTlsaInvalid);

  // Under plain "dane" the same host is opportunistic: nothing recorded.
  DestinationTls dane = only;
  dane.level = TlsPolicyLevel::kDane;
  const TlsRequirement may = host_requirement(dane, route, route.hosts[0], &none);
  a.requirement = &may;
  EXPECT_FALSE(tls_session_result(a));

  // dane-only with a matching record: the usual DANE success.
  TlsaResult good = none;
  good.status = DnsStatus::kOk;
  good.records.push_back(TlsaRecord{3, 1, 1, std::string(32, 'x')});
  const TlsRequirement ok = host_requirement(only, route, route.hosts[0], &good);
  a.requirement = &ok;
  a.tls = tls(true, "verified", "3 1 1");
  EXPECT_EQ(tls_session_result(a)->result, ResultType::kSuccess);
}

// RFC 8460 4.3.2.2: a policy whose HTTPS certificate does not validate.
TEST(TlsReport, StsCertificateFailureIsWebpkiInvalid) {
  StsState s;
  s.source = "fetch failed: SSL peer certificate or SSH remote key was not OK";
  s.webpki_invalid = true;
  auto r = sts_fetch_result(s, "example.com", 5);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->policy_type, PolicyType::kSts);
  EXPECT_EQ(r->result, ResultType::kStsWebpkiInvalid);
  EXPECT_EQ(r->failure_reason_code, "SSL peer certificate or SSH remote key was not OK");
}

}  // namespace
}  // namespace tern
