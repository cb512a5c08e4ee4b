#include "acme/client.h"

#include <algorithm>
#include <ctime>
#include <stdexcept>

#include "acme/cert.h"
#include "base/clock.h"

namespace tern::acme {
namespace {

// One attempt's failure; caught in issue() and returned as text.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr const char* kJose = "application/jose+json";
constexpr int kNonceRetries = 5;

std::string problem_text(int status, const std::string& body) {
  if (auto p = parse_problem(body)) return "HTTP " + std::to_string(status) + " " + p->text();
  return "HTTP " + std::to_string(status);
}

}  // namespace

std::chrono::seconds parse_retry_after(const std::string& value, int64_t now,
                                       std::chrono::seconds fallback) {
  auto clamp = [](int64_t s) { return std::chrono::seconds(std::clamp<int64_t>(s, 1, 3600)); };
  if (value.empty()) return fallback;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return clamp(value.size() > 9 ? 3600 : std::stoll(value));
  struct tm tm {};
  // IMF-fixdate, the form servers must send (RFC 9110 5.6.7).
  if (const char* end = strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm); end && !*end)
    return clamp(static_cast<int64_t>(timegm(&tm)) - now);
  return fallback;
}

AcmeClient::AcmeClient(Transport transport, Sleep sleep, EcKey account_key,
                       std::string directory_url)
    : transport_(std::move(transport)),
      sleep_(std::move(sleep)),
      key_(std::move(account_key)),
      directory_url_(std::move(directory_url)) {}

AcmeClient::Reply AcmeClient::get(const std::string& url) {
  http::ClientResponse r = transport_({"GET", url, {}, ""});
  if (!r.ok()) throw Failure("GET " + url + ": " + r.error);
  if (std::string n = r.header("replay-nonce"); !n.empty()) nonce_ = n;
  return Reply{r.status, r.header("location"), r.header("retry-after"), r.body};
}

std::string AcmeClient::take_nonce() {
  if (nonce_.empty()) {
    // RFC 8555 7.2: HEAD newNonce gives a fresh one.
    http::ClientResponse r = transport_({"HEAD", directory_->new_nonce, {}, ""});
    if (!r.ok()) throw Failure("newNonce: " + r.error);
    nonce_ = r.header("replay-nonce");
    if (nonce_.empty()) throw Failure("newNonce: no Replay-Nonce header");
  }
  return std::exchange(nonce_, std::string());
}

AcmeClient::Reply AcmeClient::post(const std::string& url, const std::string& payload,
                                   const std::string& accept) {
  for (int attempt = 1;; ++attempt) {
    http::ClientRequest req{"POST", url, {{"Content-Type", kJose}}, ""};
    if (!accept.empty()) req.headers.emplace_back("Accept", accept);
    req.body = sign_request(key_, kid_, take_nonce(), url, payload);
    http::ClientResponse r = transport_(req);
    if (!r.ok()) throw Failure("POST " + url + ": " + r.error);
    // Every response carries a fresh nonce (RFC 8555 6.5), errors included.
    if (std::string n = r.header("replay-nonce"); !n.empty()) nonce_ = n;
    if (r.status >= 400) {
      auto p = parse_problem(r.body);
      // 6.5: a badNonce error is retried with the nonce it came with.
      if (p && p->type == "urn:ietf:params:acme:error:badNonce" && attempt < kNonceRetries)
        continue;
      throw Failure("POST " + url + ": " + problem_text(r.status, r.body));
    }
    return Reply{r.status, r.header("location"), r.header("retry-after"), r.body};
  }
}

void AcmeClient::ensure_directory() {
  if (directory_) return;
  Reply r = get(directory_url_);
  if (r.status != 200)
    throw Failure("directory " + directory_url_ + ": " + problem_text(r.status, r.body));
  directory_ = parse_directory(r.body);
  if (!directory_) throw Failure("directory " + directory_url_ + ": not an ACME directory");
}

void AcmeClient::ensure_account(const std::string& contact) {
  if (!kid_.empty()) return;
  // 7.3: newAccount with an existing key answers 200 and the same URL, so
  // tern keeps no account state but the key.
  Reply r = post(directory_->new_account, new_account_payload(contact));
  if (r.location.empty()) throw Failure("newAccount: no Location (account URL)");
  kid_ = r.location;
}

void AcmeClient::wait_retry_after(const std::string& retry_after, std::chrono::seconds* budget) {
  auto d = parse_retry_after(retry_after, unix_seconds(), std::chrono::seconds(1));
  d = std::min(d, std::chrono::seconds(10));  // RFC 8555 7.5.1 polling, kept brisk
  if (*budget <= std::chrono::seconds(0)) throw Failure("gave up polling after the limit");
  *budget -= d;
  if (!sleep_(d)) throw Failure("stopping");
}

void AcmeClient::authorize(const std::string& url, ChallengeTable& challenges) {
  Reply r = post(url, "");
  auto authz = parse_authorization(r.body);
  if (!authz) throw Failure("authorization " + url + ": unreadable");
  if (authz->status == "valid") return;  // reused (RFC 8555 7.1.4)
  if (authz->status != "pending")
    throw Failure("authorization for " + authz->identifier + " is " + authz->status);
  auto ch = std::find_if(authz->challenges.begin(), authz->challenges.end(),
                         [](const Challenge& c) { return c.type == "http-01"; });
  if (ch == authz->challenges.end())
    throw Failure("authorization for " + authz->identifier + ": no http-01 challenge offered");
  // Published only while the CA validates: 8.3's resource, withdrawn on
  // every way out.
  struct Withdraw {
    ChallengeTable& t;
    std::string token;
    ~Withdraw() { t.withdraw(token); }
  } guard{challenges, ch->token};
  challenges.publish(ch->token, key_authorization(ch->token, key_));
  post(ch->url, "{}");  // 7.5.1: the client is ready
  std::chrono::seconds budget = poll_limit_;
  for (;;) {
    r = post(url, "");
    authz = parse_authorization(r.body);
    if (!authz) throw Failure("authorization " + url + ": unreadable");
    if (authz->status == "valid") return;
    if (authz->status != "pending") {
      std::string why;
      for (const Challenge& c : authz->challenges)
        if (c.error) why = c.error->text();
      throw Failure("challenge http-01 for " + authz->identifier + " " + authz->status +
                    (why.empty() ? "" : ": " + why));
    }
    wait_retry_after(r.retry_after, &budget);
  }
}

Order AcmeClient::poll_order(const std::string& url, Order order, const std::string& until) {
  std::chrono::seconds budget = poll_limit_;
  std::string retry_after;
  // 7.1.6: pending -> ready -> processing -> valid; invalid ends it.
  while (order.status != until) {
    if (order.status == "invalid")
      throw Failure("order invalid" + (order.error ? ": " + order.error->text() : ""));
    if (until == "ready" && order.status != "pending")
      throw Failure("order is " + order.status + ", expected ready");
    wait_retry_after(retry_after, &budget);
    Reply r = post(url, "");
    auto o = parse_order(r.body);
    if (!o) throw Failure("order " + url + ": unreadable");
    order = std::move(*o);
    retry_after = r.retry_after;
  }
  return order;
}

IssueResult AcmeClient::issue(const std::vector<std::string>& names, const std::string& contact,
                              const EcKey& cert_key, ChallengeTable& challenges) {
  try {
    ensure_directory();
    ensure_account(contact);
    Reply r = post(directory_->new_order, new_order_payload(names));
    auto order = parse_order(r.body);
    if (!order || r.location.empty()) throw Failure("newOrder: unreadable order");
    const std::string order_url = r.location;
    if (order->status == "pending") {
      for (const std::string& a : order->authorizations) authorize(a, challenges);
      r = post(order_url, "");
      order = parse_order(r.body);
      if (!order) throw Failure("order " + order_url + ": unreadable");
      *order = poll_order(order_url, std::move(*order), "ready");
    }
    if (order->status == "ready") {
      r = post(order->finalize, finalize_payload(make_csr(cert_key, names)));
      order = parse_order(r.body);
      if (!order) throw Failure("finalize: unreadable order");
    }
    *order = poll_order(order_url, std::move(*order), "valid");
    if (order->certificate.empty()) throw Failure("valid order without a certificate URL");
    // 7.4.2: the chain, leaf first.
    r = post(order->certificate, "", "application/pem-certificate-chain");
    if (!leaf_matches_key(r.body, cert_key))
      throw Failure("downloaded certificate does not match the key");
    return IssueResult{"", r.body};
  } catch (const Failure& e) {
    return IssueResult{e.what(), ""};
  } catch (const std::exception& e) {  // OpenSSL failures in signing or the CSR
    return IssueResult{std::string("internal: ") + e.what(), ""};
  }
}

}  // namespace tern::acme
