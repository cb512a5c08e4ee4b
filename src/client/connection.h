// ClientConnection: one outgoing SMTP connection. It binds the I/O-free
// ClientSession (core/client_session.h) to a socket, TLS and timers, and
// streams message bodies from a BodySource. Both the outbound relay and
// the client library (include/tern/client.h) send through it.
//
//   ClientConnection c(executor, options, tls);
//   std::error_code ec = co_await c.connect(endpoints, 30s);  // TCP (+ TLS for kImplicit)
//   c.add(message, body);                  // any number, also from on_done
//   bool open = co_await c.run(on_done);   // until idle (true) or closed (false)
//   ... add more, run again (connection reuse) ...
//   co_await c.quit(on_done);              // QUIT, then close
//
// Every wait has a deadline (ClientSessionOptions::timeouts, the connect timeout).
// A failed connect() still lets run() report each added message as failed,
// so callers handle one kind of outcome.
//
// Not thread-safe: one coroutine drives one connection, on one executor.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "client/tls_client.h"
#include "core/client_session.h"
#include "dns/lookup.h"
#include "net/stream.h"
#include "tls/tls.h"

namespace tern {

// A message's content, read in pieces while it is sent. Implementations
// may do blocking I/O elsewhere (a thread pool) and resume on the
// connection's executor.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Appends up to `max` more octets to *out; returns false once the body
  // has ended (nothing appended). On a read error, sets *error and returns
  // false.
  virtual asio::awaitable<bool> read(std::string* out, size_t max, std::string* error) = 0;
};

// A body held in memory.
class StringBody : public BodySource {
 public:
  explicit StringBody(std::string data) : data_(std::move(data)) {}
  asio::awaitable<bool> read(std::string* out, size_t max, std::string* error) override;

 private:
  std::string data_;
  size_t pos_ = 0;
};

struct ClientTlsSetup {
  std::shared_ptr<asio::ssl::context> context;  // from make_client_tls_context; null: no TLS
  // The name the certificate must match (host name or IP literal) and the
  // SNI; usually the host we looked up, not the address we connected to.
  std::string peer_name;
  // Fail the connection (Failure::Cause::kTls) when the certificate does
  // not check out; when false, the result is only reported (tls_state()).
  bool require_verified = true;
  // DANE (RFC 7672): when not empty, the certificate is checked against
  // these TLSA records (client/dane_verify.h: arm_dane, with peer_name as
  // the TLSA base domain) instead of the system store.
  std::vector<TlsaRecord> tlsa;
  // Names the certificate may match instead of peer_name (".example.org":
  // any subdomain); with `tlsa`, names for DANE-TA(2) besides peer_name.
  std::vector<std::string> match_names;
};

// What TLS the connection ended up with, for logs and Received headers.
struct ClientTlsState {
  bool active = false;
  TlsInfo info;     // version, cipher, bits
  PeerCheck check;  // of the certificate
};

class ClientConnection {
 public:
  using OnDone = std::function<void(const MessageResult&)>;

  ClientConnection(asio::any_io_executor executor, ClientSessionOptions options,
                   ClientTlsSetup tls);
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Tries `endpoints` in order, each within `timeout`, until one accepts;
  // for TlsPolicy::kImplicit also handshakes. Returns the last error, or
  // {} when connected (and the session started).
  asio::awaitable<std::error_code> connect(std::vector<asio::ip::tcp::endpoint> endpoints,
                                           std::chrono::steady_clock::duration timeout);

  // Instead of connect(): connects to the Unix stream socket `path` within
  // `timeout` (LMTP to a local mailbox server, RFC 2033). No TLS. Returns
  // the error, or {} when connected (and the session started).
  asio::awaitable<std::error_code> connect_unix(std::string path,
                                                std::chrono::steady_clock::duration timeout);

  // Queues a message; `body` is read only when the server is ready for it.
  uint64_t add(OutboundMessage message, std::unique_ptr<BodySource> body);

  // Drives the session until it has nothing to do (true: still open, add()
  // more or quit()) or the connection has ended (false). Each message's
  // result goes to `on_done` as it completes.
  asio::awaitable<bool> run(OnDone on_done);
  // QUIT after the queued messages, then close.
  asio::awaitable<void> quit(OnDone on_done);
  // Closes at once, without QUIT (the session is abandoned).
  void abort();

  const ClientSession& session() const { return session_; }
  const ClientTlsState& tls_state() const { return tls_state_; }
  // The address connected to ("" before connect()).
  const std::optional<asio::ip::tcp::endpoint>& peer() const { return peer_; }
  // Our own address on the connection ("192.0.2.1"; "" before connect()):
  // TLS-RPT's "sending-mta-ip" (RFC 8460 4.4).
  const std::string& local_ip() const { return local_ip_; }
  bool open() const { return !session_.closed(); }

 private:
  // TLS on the connected stream; "" on success, else why not.
  asio::awaitable<std::string> handshake();
  // `trace`: kSendBody's data, encoded before the body.
  asio::awaitable<void> send_body(uint64_t id, std::string trace, std::chrono::seconds timeout);

  asio::any_io_executor executor_;
  ClientSession session_;
  ClientTlsSetup tls_;
  ClientTlsState tls_state_;
  TlsPolicy policy_;
  std::chrono::seconds command_timeout_;
  std::optional<SmtpStream> stream_;
  std::optional<asio::ip::tcp::endpoint> peer_;
  std::string local_ip_;
  std::map<uint64_t, std::unique_ptr<BodySource>> bodies_;
  bool started_ = false;
};

}  // namespace tern
