// ClientCore: the engine behind tern::Client and tern::AsyncClient
// (include/tern/client.h, async_client.h). It resolves the host, opens one
// ClientConnection (TCP, TLS, greeting, EHLO, STARTTLS, AUTH), sends
// messages over it while it stays open, and maps the engine's results to
// the public ones (result_mapping.h).
//
// A connection that sat idle may have been closed by the server (an idle
// timeout, a restart) without our noticing. When a message on a reused
// connection fails that way before any of it was accepted, it is sent once
// more on a fresh connection: nothing was delivered, so no duplicate.
//
// Not thread-safe: one coroutine at a time, on the executor given.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>

#include "client/connection.h"
#include "client/outgoing.h"
#include "tern/client.h"

namespace tern {

class ClientCore {
 public:
  ClientCore(asio::any_io_executor executor, ClientOptions options);
  ~ClientCore();
  ClientCore(const ClientCore&) = delete;
  ClientCore& operator=(const ClientCore&) = delete;

  // Opens the connection unless it is open; nullopt when ready to send.
  asio::awaitable<std::optional<SmtpError>> connect();
  // Sends one message; `message.error` set means it is reported, not sent.
  asio::awaitable<SendResult> send(Outgoing message);
  // QUIT (waiting for its reply at most the command timeout), then close.
  asio::awaitable<void> close();
  // Closes at once, without QUIT.
  void abort();
  // "TLSv1.3 TLS_AES_256_GCM_SHA384 (verified)", "... (not verified:
  // self-signed certificate)", or "none" (no TLS, or not connected).
  std::string tls_description() const;

 private:
  asio::awaitable<std::optional<SmtpError>> open();
  // Sends over the current connection (opening it when needed); *reused
  // tells whether it had carried a message before.
  asio::awaitable<SendResult> attempt(const Outgoing& message, bool* retry_fresh);
  ClientSessionOptions session_options() const;

  asio::any_io_executor executor_;
  ClientOptions options_;
  std::shared_ptr<asio::ssl::context> tls_context_;  // made on first use
  std::unique_ptr<ClientConnection> conn_;
  size_t sent_on_conn_ = 0;  // messages the current connection has carried
};

// The name for EHLO when none is configured: gethostname(), or "localhost".
std::string default_helo_name();

}  // namespace tern
