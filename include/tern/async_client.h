// AsyncClient: the Client of tern/client.h for Asio coroutines. The same
// options, results and behaviour; every call is an awaitable to co_await on
// the executor given at construction.
//
//   asio::awaitable<void> notify(asio::any_io_executor ex) {
//     tern::AsyncClient client(ex, options);
//     tern::SendResult r = co_await client.send(message);
//     co_await client.close();
//   }
//
// The AsyncClient must outlive every awaitable it returned; the Message
// given to send() need not (it is rendered before send() returns). The
// destructor closes the connection without QUIT: co_await close() first to
// end it politely.
//
// Needs Asio (Debian: libasio-dev) in the include path. Not thread-safe:
// one coroutine at a time may use an AsyncClient.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tern/client.h"

namespace tern {

class AsyncClient {
 public:
  AsyncClient(asio::any_io_executor executor, ClientOptions options);
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  asio::awaitable<std::optional<SmtpError>> connect();
  asio::awaitable<SendResult> send(const Message& message);
  asio::awaitable<SendResult> send(SendEnvelope envelope, std::string raw);
  asio::awaitable<void> close();
  std::string tls_description() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern
