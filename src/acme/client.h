// The ACME order flow (RFC 8555 7): directory, nonce, account, order,
// HTTP-01 authorizations, finalize with a CSR, certificate download. One
// call to issue() is one attempt: it either returns the PEM chain or says
// what failed; retrying later is the caller's business (acme/manager.h).
//
// The network and the clock are injected (Transport, Sleep), so the flow
// runs against a fake CA in unit tests and against pebble or Let's Encrypt
// through http/client.h in the server. Blocking: it runs on the renewal
// thread, never on the SMTP event loop.
//
// Thread safety: one AcmeClient per thread.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "acme/challenges.h"
#include "acme/jws.h"
#include "acme/messages.h"
#include "http/client.h"

namespace tern::acme {

using Transport = std::function<http::ClientResponse(const http::ClientRequest&)>;
// Waits `d`; returns false when the wait was cut short because the server
// is stopping (the attempt then gives up).
using Sleep = std::function<bool(std::chrono::seconds d)>;

struct IssueResult {
  std::string error;  // empty on success
  std::string chain;  // PEM, leaf first
  bool ok() const { return error.empty(); }
};

class AcmeClient {
 public:
  AcmeClient(Transport transport, Sleep sleep, EcKey account_key, std::string directory_url);

  // Orders a certificate for `names` (the first is the CN) with the key
  // `cert_key`, answering HTTP-01 through `challenges` (published only while
  // the CA validates). Registers the account (terms of service agreed,
  // contact mailto:`contact` unless empty) if need be.
  IssueResult issue(const std::vector<std::string>& names, const std::string& contact,
                    const EcKey& cert_key, ChallengeTable& challenges);

  // How long polling (authorization, order) may last before giving up.
  void set_poll_limit(std::chrono::seconds s) { poll_limit_ = s; }

 private:
  struct Reply {
    int status = 0;
    std::string location;
    std::string retry_after;
    std::string body;
  };
  Reply get(const std::string& url);
  // A signed POST (payload "" = POST-as-GET, RFC 8555 6.3), retried with a
  // fresh nonce on badNonce (6.5). Throws on transport errors and on 4xx/5xx
  // with the problem document's text.
  Reply post(const std::string& url, const std::string& payload, const std::string& accept = "");
  std::string take_nonce();
  void ensure_directory();
  void ensure_account(const std::string& contact);
  void authorize(const std::string& authz_url, ChallengeTable& challenges);
  Order poll_order(const std::string& url, Order order, const std::string& until);
  void wait_retry_after(const std::string& retry_after, std::chrono::seconds* budget);

  Transport transport_;
  Sleep sleep_;
  EcKey key_;
  std::string directory_url_;
  std::optional<Directory> directory_;
  std::string kid_;    // the account URL, once known
  std::string nonce_;  // the last Replay-Nonce, unused
  std::chrono::seconds poll_limit_{300};
};

// The Retry-After header (RFC 9110 10.2.3) as seconds from now: delta
// seconds, or an HTTP-date against `now` (Unix seconds); `fallback` when
// absent or unparseable; clamped to [1, 3600].
std::chrono::seconds parse_retry_after(const std::string& value, int64_t now,
                                       std::chrono::seconds fallback);

}  // namespace tern::acme
