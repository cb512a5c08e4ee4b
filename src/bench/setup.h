// What the load and idle runs share: the session options and TLS setup
// made from BenchOptions, the server's endpoint, and a body source that
// streams a MessageTemplate's header and shared body.
//
// Thread safety: the functions are; a TemplateBody belongs to one
// connection.
#pragma once

#include <asio/ip/tcp.hpp>
#include <string>

#include "bench/message.h"
#include "bench/options.h"
#include "client/connection.h"
#include "core/client_session.h"

namespace tern::bench {

// EHLO name, TLS policy, pipelining, every timeout = o.timeout seconds.
ClientSessionOptions session_options(const BenchOptions& o);
// A client TLS context (system trust store) for --tls starttls|tls, none
// otherwise; the certificate must match --host unless --insecure.
ClientTlsSetup tls_setup(const BenchOptions& o);
asio::ip::tcp::endpoint server_endpoint(const BenchOptions& o);
// MAIL FROM --from; RCPT TO --to, then local+2@domain ... up to --rcpts.
OutboundMessage envelope(const BenchOptions& o);

// A message as its own header followed by a body shared with every other
// message (which must outlive this object).
class TemplateBody : public BodySource {
 public:
  TemplateBody(std::string head, const std::string* body) : head_(std::move(head)), body_(body) {}
  asio::awaitable<bool> read(std::string* out, size_t max, std::string* error) override;

 private:
  std::string head_;
  const std::string* body_;
  size_t pos_ = 0;
};

}  // namespace tern::bench
