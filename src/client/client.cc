// tern::Client: ClientCore run to completion on a private io_context, one
// call at a time.
#include "tern/client.h"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>

#include "client/client_core.h"

namespace tern {

namespace {

// Runs `task` on `io` until it completes. Errors are values, so an
// exception here is a bug (or bad_alloc) and goes on to the caller.
template <typename T>
T run_blocking(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(task), [&out, &error](std::exception_ptr e, T value) {
    error = e;
    if (!e) out = std::move(value);
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

void run_blocking(asio::io_context& io, asio::awaitable<void> task) {
  std::exception_ptr error;
  asio::co_spawn(io, std::move(task), [&error](std::exception_ptr e) { error = e; });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
}

}  // namespace

struct Client::Impl {
  explicit Impl(ClientOptions options) : core(io.get_executor(), std::move(options)) {}
  asio::io_context io{1};
  ClientCore core;
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Client::~Client() {
  if (!impl_) return;  // moved from
  try {
    close();
  } catch (...) {  // a destructor must not throw; the socket closes anyway
  }
}

Client::Client(Client&&) noexcept = default;

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    if (impl_) {
      try {
        close();
      } catch (...) {
      }
    }
    impl_ = std::move(other.impl_);
  }
  return *this;
}

std::optional<SmtpError> Client::connect() {
  return run_blocking(impl_->io, impl_->core.connect());
}

SendResult Client::send(const Message& message) {
  return run_blocking(impl_->io, impl_->core.send(make_outgoing(message)));
}

SendResult Client::send(const SendEnvelope& envelope, std::string_view raw) {
  return run_blocking(impl_->io, impl_->core.send(make_outgoing(envelope, std::string(raw))));
}

void Client::close() { run_blocking(impl_->io, impl_->core.close()); }

std::string Client::tls_description() const { return impl_->core.tls_description(); }

}  // namespace tern
