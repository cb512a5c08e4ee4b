// tern::AsyncClient: ClientCore on the caller's executor. The send()
// overloads prepare the message before returning the awaitable, so the
// caller's Message need not outlive the co_await.
#include "tern/async_client.h"

#include "client/client_core.h"

namespace tern {

struct AsyncClient::Impl {
  Impl(asio::any_io_executor executor, ClientOptions options)
      : core(std::move(executor), std::move(options)) {}
  ClientCore core;
};

AsyncClient::AsyncClient(asio::any_io_executor executor, ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options))) {}

AsyncClient::~AsyncClient() {
  if (impl_) impl_->core.abort();
}

asio::awaitable<std::optional<SmtpError>> AsyncClient::connect() { return impl_->core.connect(); }

asio::awaitable<SendResult> AsyncClient::send(const Message& message) {
  return impl_->core.send(make_outgoing(message));
}

asio::awaitable<SendResult> AsyncClient::send(SendEnvelope envelope, std::string raw) {
  return impl_->core.send(make_outgoing(envelope, std::move(raw)));
}

asio::awaitable<void> AsyncClient::close() { return impl_->core.close(); }

std::string AsyncClient::tls_description() const { return impl_->core.tls_description(); }

}  // namespace tern
