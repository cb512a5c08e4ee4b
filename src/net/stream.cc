#include "net/stream.h"

#include <openssl/x509v3.h>

#include <asio/experimental/awaitable_operators.hpp>

#include "net/awaitable.h"

namespace tern {

using namespace asio::experimental::awaitable_operators;
using asio::use_awaitable;

SmtpStream::SmtpStream(asio::ip::tcp::socket socket)
    : socket_(std::move(socket)), timer_(socket_.get_executor()) {
  std::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

asio::awaitable<size_t> SmtpStream::read_some(asio::mutable_buffer buf,
                                              std::chrono::steady_clock::duration timeout,
                                              std::error_code& ec) {
  ec.clear();
  timer_.expires_after(timeout);
  for (;;) {
    if (!tls_) {
      // Try first: pipelined input is often already there.
      size_t n = socket_.read_some(buf, ec);
      if (!ec) co_return n;
      if (ec != asio::error::would_block && ec != asio::error::try_again) co_return 0;
      ec.clear();
      auto res = co_await (socket_.async_wait(asio::ip::tcp::socket::wait_read, use_tuple) ||
                           timer_.async_wait(use_tuple));
      if (res.index() == 1) {
        ec = asio::error::timed_out;
        co_return 0;
      }
      if (auto [wec] = std::get<0>(res); wec) {
        ec = wec;
        co_return 0;
      }
      continue;
    }
    auto res = co_await (tls_->async_read_some(buf, use_tuple) || timer_.async_wait(use_tuple));
    if (res.index() == 1) {
      ec = asio::error::timed_out;  // a read cut short leaves TLS usable
      co_return 0;
    }
    auto [rec, n] = std::get<0>(res);
    ec = rec;
    // eof under TLS means the peer's close_notify came (else asio says
    // stream_truncated): ours may still go out. cancel() leaves TLS intact.
    if (ec && ec != asio::error::eof && ec != asio::error::operation_aborted) tls_usable_ = false;
    co_return n;
  }
}

asio::awaitable<void> SmtpStream::write(std::string_view data,
                                        std::chrono::steady_clock::duration timeout,
                                        std::error_code& ec) {
  ec.clear();
  timer_.expires_after(timeout);
  auto buf = asio::buffer(data.data(), data.size());
  if (!tls_) {
    // Replies are small: usually one non-blocking send does it.
    size_t n = socket_.write_some(buf, ec);
    if (!ec && n == data.size()) co_return;
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) co_return;
    ec.clear();
    buf += n;
    auto res =
        co_await (asio::async_write(socket_, buf, use_tuple) || timer_.async_wait(use_tuple));
    if (res.index() == 1)
      ec = asio::error::timed_out;
    else
      ec = std::get<0>(std::get<0>(res));
    co_return;
  }
  auto res = co_await (asio::async_write(*tls_, buf, use_tuple) || timer_.async_wait(use_tuple));
  if (res.index() == 1)
    ec = asio::error::timed_out;
  else
    ec = std::get<0>(std::get<0>(res));
  // A record may be half sent: nothing more can follow it, close_notify
  // included.
  if (ec) tls_usable_ = false;
}

asio::awaitable<void> SmtpStream::handshake(std::shared_ptr<asio::ssl::context> ctx,
                                            std::chrono::steady_clock::duration timeout,
                                            std::error_code& ec) {
  ec.clear();
  ctx_ = std::move(ctx);
  tls_.emplace(socket_, *ctx_);
  timer_.expires_after(timeout);
  auto res = co_await (tls_->async_handshake(asio::ssl::stream_base::server, use_tuple) ||
                       timer_.async_wait(use_tuple));
  if (res.index() == 1)
    ec = asio::error::timed_out;
  else
    ec = std::get<0>(std::get<0>(res));
  tls_usable_ = !ec;  // a failed handshake has sent its alert, if any
}

asio::awaitable<void> SmtpStream::client_handshake(std::shared_ptr<asio::ssl::context> ctx,
                                                   const std::string& server_name,
                                                   std::chrono::steady_clock::duration timeout,
                                                   std::error_code& ec,
                                                   std::function<std::string(SSL*)> prepare) {
  ec.clear();
  ctx_ = std::move(ctx);
  tls_.emplace(socket_, *ctx_);
  SSL* ssl = tls_->native_handle();
  std::error_code parse_ec;
  asio::ip::make_address(server_name, parse_ec);
  if (!parse_ec) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str());
  } else if (!server_name.empty()) {
    // RFC 6066 3: SNI carries host names only, never literals.
    SSL_set_tlsext_host_name(ssl, server_name.c_str());
    // No partial wildcards ("w*.example.com"): RFC 6125 6.4.3 allows refusing them.
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl, server_name.c_str());
  }
  if (prepare && !prepare(ssl).empty()) {
    ec = std::make_error_code(std::errc::invalid_argument);
    tls_usable_ = false;
    co_return;
  }
  timer_.expires_after(timeout);
  auto res = co_await (tls_->async_handshake(asio::ssl::stream_base::client, use_tuple) ||
                       timer_.async_wait(use_tuple));
  if (res.index() == 1)
    ec = asio::error::timed_out;
  else
    ec = std::get<0>(std::get<0>(res));
  tls_usable_ = !ec;
}

namespace {

std::string ip_text(const asio::ip::tcp::endpoint& ep) {
  asio::ip::address addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_string();
  return addr.to_string();
}

}  // namespace

std::string SmtpStream::remote_ip() {
  std::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  return ec ? "unknown" : ip_text(ep);
}

std::string SmtpStream::local_ip() {
  std::error_code ec;
  auto ep = socket_.local_endpoint(ec);
  return ec ? "unknown" : ip_text(ep);
}

uint16_t SmtpStream::remote_port() {
  std::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  return ec ? 0 : ep.port();
}

void SmtpStream::cancel() {
  std::error_code ec;
  socket_.cancel(ec);  // the pending operation ends with operation_aborted
}

asio::awaitable<void> SmtpStream::shutdown(std::chrono::steady_clock::duration timeout) {
  if (tls_ && tls_usable_ && socket_.is_open()) {
    tls_usable_ = false;
    // async_shutdown writes close_notify first, then reads until the
    // peer's arrives; the deadline bounds both. Its errors (the peer
    // closed first, sent data, reset) change nothing: we close anyway.
    timer_.expires_after(timeout);
    co_await (tls_->async_shutdown(use_tuple) || timer_.async_wait(use_tuple));
  }
  close();
}

void SmtpStream::close() {
  std::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace tern
