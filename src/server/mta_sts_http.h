// Serving our own MTA-STS policy (RFC 8461 3.2, 3.3): GET
// /.well-known/mta-sts.txt over HTTPS answers the policy [mta_sts]
// describes, as text/plain, on its own listener ([mta_sts] listen, port 443
// by default: the policy host mta-sts.<domain> is fetched at
// https://mta-sts.<domain>/, the default port). The certificate is the one
// the SMTP listeners serve: it must cover mta-sts.<domain> ([acme] names,
// or certbot's -d), and when it changes (ACME renewal, certbot's files,
// SIGHUP) the next handshake takes the new one, through CertificateSlot.
//
// Thread safety: CertificateSlot may be read from the HTTPS threads while
// the loop sets it; the handler reads only what was captured at start.
#pragma once

#include <asio/ssl/context.hpp>
#include <memory>
#include <mutex>

#include "http/server.h"
#include "sts/policy.h"

namespace tern {

// The server certificate of the moment, shared with the HTTPS threads.
class CertificateSlot {
 public:
  void set(std::shared_ptr<asio::ssl::context> ctx) {
    std::lock_guard lock(mutex_);
    ctx_ = std::move(ctx);
  }
  std::shared_ptr<asio::ssl::context> get() const {
    std::lock_guard lock(mutex_);
    return ctx_;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<asio::ssl::context> ctx_;
};

// An http::Server TLS set-up that presents, at each handshake, the
// certificate, chain and key of `slot`'s context (TLS 1.2 minimum). `slot`
// must outlive the server.
http::TlsSetup certificate_slot_tls(std::shared_ptr<CertificateSlot> slot);

// Registers GET /.well-known/mta-sts.txt answering `policy`.
void serve_mta_sts_policy(http::Server& server, const sts::Policy& policy);

}  // namespace tern
