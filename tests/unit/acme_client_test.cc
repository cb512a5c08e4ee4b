// The ACME order flow (acme/client.h) against a fake CA in memory: what it
// sends (JWS, nonces, kid), how it reacts (badNonce, Retry-After, invalid
// challenge), and that the chain it returns is the CA's. The real CA is
// pebble in tests/integration/test_acme.py.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "acme/cert.h"
#include "acme/client.h"
#include "acme/manager.h"

namespace tern::acme {
namespace {

using nlohmann::json;
constexpr const char* kBase = "https://ca.test";

// A CA that validates HTTP-01 by reading the client's ChallengeTable (as if
// it fetched /.well-known/acme-challenge/TOKEN) and signs CSRs with its own key.
struct FakeCa {
  EcKey ca_key = EcKey::generate();
  ChallengeTable* table = nullptr;
  std::string account_thumbprint;  // set at newAccount
  int nonce_counter = 0;
  std::set<std::string> issued_nonces;
  int bad_nonces_to_send = 0;  // the next N signed requests get badNonce
  bool wrong_key_authorization = false;
  bool authz_valid = false;
  bool order_finalized = false;
  int authz_polls_pending = 1;    // answers "pending" this many times first
  std::vector<std::string> kids;  // kid of every request after newAccount
  std::vector<std::string> names;
  std::string csr_der;

  std::string nonce() {
    std::string n = "n" + std::to_string(++nonce_counter);
    issued_nonces.insert(n);
    return n;
  }

  http::ClientResponse reply(int status, json body, std::string location = "") {
    http::ClientResponse r;
    r.status = status;
    r.body = body.dump();
    r.headers = {{"replay-nonce", nonce()}};
    if (!location.empty()) r.headers.emplace_back("location", location);
    return r;
  }

  std::string sign_cert(const std::string& der) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 90 * 86400);
    X509_set_subject_name(x, X509_REQ_get_subject_name(req));
    X509_set_pubkey(x, X509_REQ_get0_pubkey(req));
    X509_sign(x, ca_key.get(), EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(len));
    BIO_free(bio);
    X509_free(x);
    X509_REQ_free(req);
    return pem;
  }

  http::ClientResponse operator()(const http::ClientRequest& req) {
    const std::string path = req.url.substr(std::string(kBase).size());
    if (req.method == "GET" && path == "/dir") {
      return reply(200, {{"newNonce", std::string(kBase) + "/nonce"},
                         {"newAccount", std::string(kBase) + "/acct"},
                         {"newOrder", std::string(kBase) + "/order"}});
    }
    if (req.method == "HEAD" && path == "/nonce") return reply(200, json::object());
    EXPECT_EQ(req.method, "POST");
    json jws = json::parse(req.body);
    json header = json::parse(*base64url_decode(jws["protected"].get<std::string>()));
    const std::string payload = *base64url_decode(jws["payload"].get<std::string>());
    EXPECT_EQ(header["url"], req.url);  // RFC 8555 6.4
    const std::string n = header["nonce"];
    EXPECT_EQ(issued_nonces.erase(n), 1u) << "nonce reused or made up: " << n;
    if (bad_nonces_to_send > 0) {
      --bad_nonces_to_send;
      return reply(400, {{"type", "urn:ietf:params:acme:error:badNonce"}, {"detail", "stale"}});
    }
    if (path == "/acct") {
      EXPECT_TRUE(header.contains("jwk"));
      json p = json::parse(payload);
      EXPECT_EQ(p["termsOfServiceAgreed"], true);
      EXPECT_EQ(p["contact"][0], "mailto:postmaster@example.test");
      // The thumbprint of the header's jwk, as the CA computes it.
      account_thumbprint = header["jwk"].dump();
      return reply(201, {{"status", "valid"}}, std::string(kBase) + "/acct/1");
    }
    kids.push_back(header.value("kid", ""));
    EXPECT_FALSE(header.contains("jwk"));
    const json pending_order = {{"status", "pending"},
                                {"authorizations", {std::string(kBase) + "/authz/1"}},
                                {"finalize", std::string(kBase) + "/finalize/1"}};
    if (path == "/order") {
      const json order = json::parse(payload);
      for (const json& id : order["identifiers"]) names.push_back(id["value"]);
      return reply(201, pending_order, std::string(kBase) + "/order/1");
    }
    if (path == "/authz/1") {
      EXPECT_EQ(payload, "");  // POST-as-GET
      std::string status = authz_valid ? "valid" : "pending";
      if (authz_valid && authz_polls_pending > 0) {
        --authz_polls_pending;
        status = "pending";
      }
      json ch = {{"type", "http-01"},
                 {"url", std::string(kBase) + "/chall/1"},
                 {"token", "tok1"},
                 {"status", status}};
      if (status == "invalid") ch["error"] = {{"type", "urn:ietf:params:acme:error:unauthorized"}};
      json authz = {{"status", status},
                    {"identifier", {{"type", "dns"}, {"value", names.at(0)}}},
                    {"challenges", {ch, {{"type", "dns-01"}, {"url", "x"}, {"token", "t2"}}}}};
      http::ClientResponse r = reply(200, authz);
      r.headers.emplace_back("retry-after", "2");
      return r;
    }
    if (path == "/chall/1") {
      EXPECT_EQ(payload, "{}");
      // The CA "fetches" the token now.
      auto ka = table->find("tok1");
      const bool right = ka && ka->rfind("tok1.", 0) == 0 && !wrong_key_authorization;
      if (right) {
        authz_valid = true;
        return reply(200, {{"type", "http-01"}, {"status", "processing"}});
      }
      invalid = true;
      return reply(200, {{"type", "http-01"}, {"status", "invalid"}});
    }
    if (path == "/finalize/1") {
      csr_der = *base64url_decode(json::parse(payload)["csr"].get<std::string>());
      order_finalized = true;
      json o = pending_order;
      o["status"] = "processing";
      return reply(200, o);
    }
    if (path == "/order/1") {
      json o = pending_order;
      o["status"] = order_finalized ? "valid" : (authz_valid ? "ready" : "pending");
      if (order_finalized) o["certificate"] = std::string(kBase) + "/cert/1";
      return reply(200, o);
    }
    if (path == "/cert/1") {
      http::ClientResponse r = reply(200, json::object());
      r.body = sign_cert(csr_der);
      return r;
    }
    ADD_FAILURE() << "unexpected " << req.method << " " << req.url;
    return reply(404, json::object());
  }
  bool invalid = false;
};

struct Flow : ::testing::Test {
  FakeCa ca;
  ChallengeTable table;
  std::vector<std::chrono::seconds> sleeps;
  EcKey account = EcKey::generate();
  EcKey cert_key = EcKey::generate();

  void SetUp() override { ca.table = &table; }

  IssueResult issue() {
    // The fake CA is answered from a lambda that forwards to `ca`: the
    // invalid flag of the authorization follows the challenge's outcome.
    AcmeClient client([this](const http::ClientRequest& r) { return transport(r); },
                      [this](std::chrono::seconds d) {
                        sleeps.push_back(d);
                        return true;
                      },
                      account, std::string(kBase) + "/dir");
    client.set_poll_limit(std::chrono::seconds(30));
    return client.issue({"mail.example.test", "mx.example.test"}, "postmaster@example.test",
                        cert_key, table);
  }
  http::ClientResponse transport(const http::ClientRequest& r) {
    http::ClientResponse resp = ca(r);
    if (ca.invalid && r.url == std::string(kBase) + "/authz/1") {
      json a = json::parse(resp.body);
      a["status"] = "invalid";
      a["challenges"][0]["status"] = "invalid";
      a["challenges"][0]["error"] = {{"type", "urn:ietf:params:acme:error:unauthorized"},
                                     {"detail", "wrong key authorization"}};
      resp.body = a.dump();
    }
    return resp;
  }
};

TEST_F(Flow, IssuesACertificateForTheKey) {
  IssueResult r = issue();
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(leaf_matches_key(r.chain, cert_key));
  EXPECT_EQ(ca.names, (std::vector<std::string>{"mail.example.test", "mx.example.test"}));
  for (const std::string& kid : ca.kids) EXPECT_EQ(kid, std::string(kBase) + "/acct/1");
  EXPECT_FALSE(table.find("tok1"));  // withdrawn after validation
  // One pending answer before valid: one wait, as long as Retry-After said.
  ASSERT_FALSE(sleeps.empty());
  EXPECT_EQ(sleeps[0], std::chrono::seconds(2));
}

TEST_F(Flow, RetriesBadNonceWithTheFreshOne) {
  ca.bad_nonces_to_send = 2;
  IssueResult r = issue();
  EXPECT_TRUE(r.ok()) << r.error;
}

TEST_F(Flow, GivesUpAfterTooManyBadNonces) {
  ca.bad_nonces_to_send = 100;
  IssueResult r = issue();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.find("badNonce"), std::string::npos) << r.error;
}

TEST_F(Flow, FailedChallengeSaysWhy) {
  ca.wrong_key_authorization = true;
  IssueResult r = issue();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.find("invalid"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("wrong key authorization"), std::string::npos) << r.error;
  EXPECT_FALSE(table.find("tok1"));
  EXPECT_FALSE(ca.order_finalized);
}

TEST_F(Flow, TransportErrorIsReported) {
  AcmeClient client(
      [](const http::ClientRequest&) {
        http::ClientResponse r;
        r.error = "Couldn't connect to server";
        return r;
      },
      [](std::chrono::seconds) { return true; }, account, "https://down.test/dir");
  IssueResult r = client.issue({"a.test"}, "", cert_key, table);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.find("Couldn't connect"), std::string::npos) << r.error;
}

TEST(AcmeRetryAfter, SecondsDatesAndFallback) {
  using std::chrono::seconds;
  EXPECT_EQ(parse_retry_after("", 0, seconds(5)), seconds(5));
  EXPECT_EQ(parse_retry_after("7", 0, seconds(5)), seconds(7));
  EXPECT_EQ(parse_retry_after("0", 0, seconds(5)), seconds(1));
  EXPECT_EQ(parse_retry_after("99999999999", 0, seconds(5)), seconds(3600));
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777 (RFC 9110 5.6.7's example).
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30, seconds(5)),
            seconds(30));
  EXPECT_EQ(parse_retry_after("soon", 0, seconds(5)), seconds(5));
}

TEST(AcmeBackoff, DoublesFromTheMinimumUpToTheCapWithJitter) {
  using std::chrono::seconds;
  const seconds min(60), max(6 * 3600);
  EXPECT_EQ(backoff(1, min, max, 0.5), seconds(60));
  EXPECT_EQ(backoff(2, min, max, 0.5), seconds(120));
  EXPECT_EQ(backoff(3, min, max, 0.5), seconds(240));
  EXPECT_EQ(backoff(20, min, max, 0.5), max);
  EXPECT_EQ(backoff(1000000, min, max, 0.5), max);  // no overflow
  // +-10%: 0 is the shortest, just under 1 the longest.
  EXPECT_EQ(backoff(1, min, max, 0.0), seconds(54));
  EXPECT_EQ(backoff(1, min, max, 0.999), seconds(65));
  EXPECT_GE(backoff(1, seconds(1), max, 0.0), seconds(1));  // never 0
}

}  // namespace
}  // namespace tern::acme
