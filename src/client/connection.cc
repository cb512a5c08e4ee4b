#include "client/connection.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>

#include "client/dane_verify.h"
#include "net/awaitable.h"

namespace tern {

using namespace asio::experimental::awaitable_operators;

namespace {

// Body pieces: large enough to fill a TLS record many times over, small
// enough that many connections at once stay cheap.
constexpr size_t kBodyPiece = 64 * 1024;

std::string endpoint_text(const asio::ip::tcp::endpoint& ep) {
  const auto a = ep.address();
  return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), ep.port())
                   : fmt::format("{}:{}", a.to_string(), ep.port());
}

}  // namespace

asio::awaitable<bool> StringBody::read(std::string* out, size_t max, std::string*) {
  if (pos_ >= data_.size()) co_return false;
  const size_t n = std::min(max, data_.size() - pos_);
  out->append(data_, pos_, n);
  pos_ += n;
  co_return true;
}

ClientConnection::ClientConnection(asio::any_io_executor executor, ClientSessionOptions options,
                                   ClientTlsSetup tls)
    : executor_(std::move(executor)),
      session_(options),
      tls_(std::move(tls)),
      policy_(options.tls),
      command_timeout_(options.timeouts.command) {}

asio::awaitable<std::error_code> ClientConnection::connect(
    std::vector<asio::ip::tcp::endpoint> endpoints, std::chrono::steady_clock::duration timeout) {
  std::error_code last = asio::error::host_not_found;
  std::string why = "no address to connect to";
  for (const asio::ip::tcp::endpoint& ep : endpoints) {
    asio::ip::tcp::socket socket(executor_);
    asio::steady_timer timer(executor_);
    timer.expires_after(timeout);
    auto res = co_await (socket.async_connect(ep, use_tuple) || timer.async_wait(use_tuple));
    last =
        res.index() == 1 ? std::error_code(asio::error::timed_out) : std::get<0>(std::get<0>(res));
    if (last) {
      why = fmt::format("cannot connect to {}: {}", endpoint_text(ep),
                        last == asio::error::timed_out ? "timed out" : last.message());
      continue;
    }
    stream_.emplace(std::move(socket));
    peer_ = ep;
    local_ip_ = stream_->local_ip();
    if (local_ip_ == "unknown") local_ip_.clear();
    break;
  }
  started_ = true;
  if (!stream_) {
    session_.connect_failed(why);
    co_return last;
  }
  if (policy_ == TlsPolicy::kImplicit) {
    // RFC 8314 3.3: the handshake comes first; the greeting comes over TLS.
    std::string error = co_await handshake();
    if (!error.empty()) {
      stream_->close();
      session_.connect_failed(fmt::format("{}: {}", endpoint_text(*peer_), error));
      co_return asio::error::connection_refused;
    }
  }
  session_.start();
  co_return std::error_code();
}

asio::awaitable<std::error_code> ClientConnection::connect_unix(
    std::string path, std::chrono::steady_clock::duration timeout) {
  asio::local::stream_protocol::socket socket(executor_);
  asio::steady_timer timer(executor_);
  timer.expires_after(timeout);
  auto res =
      co_await (socket.async_connect(asio::local::stream_protocol::endpoint(path), use_tuple) ||
                timer.async_wait(use_tuple));
  std::error_code ec =
      res.index() == 1 ? std::error_code(asio::error::timed_out) : std::get<0>(std::get<0>(res));
  started_ = true;
  if (!ec) {
    // SmtpStream is written for TCP sockets; what it does with one (read,
    // write, wait, shutdown, close) is the same on any stream socket's
    // descriptor, so the connected Unix socket is adopted as is. (The
    // TCP_NODELAY it sets fails quietly.)
    asio::ip::tcp::socket adopted(executor_);
    const int fd = socket.release(ec);
    if (!ec) adopted.assign(asio::ip::tcp::v4(), fd, ec);
    if (ec) {
      ::close(fd);
    } else {
      stream_.emplace(std::move(adopted));
      session_.start();
      co_return std::error_code();
    }
  }
  session_.connect_failed(
      fmt::format("cannot connect to unix:{}: {}", path,
                  ec == asio::error::timed_out ? std::string("timed out") : ec.message()));
  co_return ec;
}

uint64_t ClientConnection::add(OutboundMessage message, std::unique_ptr<BodySource> body) {
  const uint64_t id = session_.add(std::move(message));
  bodies_[id] = std::move(body);
  return id;
}

asio::awaitable<std::string> ClientConnection::handshake() {
  if (!tls_.context) co_return "TLS is not configured";
  std::error_code ec;
  std::string refused;  // DANE or names that cannot be armed: no handshake at all
  auto prepare = [this, &refused](SSL* ssl) {
    if (!tls_.tlsa.empty()) {
      refused = arm_dane(ssl, tls_.peer_name, tls_.tlsa, tls_.match_names);
    } else if (!tls_.match_names.empty()) {
      refused = arm_names(ssl, tls_.match_names);
    }
    return refused;
  };
  co_await stream_->client_handshake(tls_.context, tls_.peer_name, command_timeout_, ec, prepare);
  if (!refused.empty()) co_return refused;
  if (ec) {
    co_return ec == asio::error::timed_out ? std::string("TLS handshake timed out")
                                           : "TLS handshake failed: " + ec.message();
  }
  tls_state_.active = true;
  tls_state_.info = tls_info(stream_->ssl());
  tls_state_.check = check_peer(stream_->ssl());
  if (!tls_.tlsa.empty() && tls_state_.check.verified && tls_state_.check.dane.empty()) {
    // Never happens with OpenSSL's DANE armed; a guard against PKIX
    // passing for DANE should the library's behaviour change.
    tls_state_.check.verified = false;
    tls_state_.check.detail = "not authenticated by a TLSA record";
  }
  if (tls_.require_verified && !tls_state_.check.verified) {
    co_return fmt::format("certificate of {} not trusted: {}", tls_.peer_name,
                          tls_state_.check.detail);
  }
  co_return std::string();
}

asio::awaitable<bool> ClientConnection::run(OnDone on_done) {
  std::array<char, 16384> buf;
  for (;;) {
    const ClientSession::Action a = session_.next();
    switch (a.kind) {
      case ClientSession::Action::kSend: {
        std::error_code ec;
        co_await stream_->write(a.data, a.timeout, ec);
        if (ec == asio::error::timed_out) {
          session_.timeout();
        } else if (ec) {
          session_.eof();
        }
        break;
      }
      case ClientSession::Action::kNeedInput: {
        std::error_code ec;
        const size_t n = co_await stream_->read_some(asio::buffer(buf), a.timeout, ec);
        if (n > 0) {
          session_.receive(std::string_view(buf.data(), n));
        } else if (ec == asio::error::timed_out) {
          session_.timeout();
        } else {
          session_.eof();
        }
        break;
      }
      case ClientSession::Action::kStartTls: {
        // Nothing of ours is buffered: every byte read went to receive(),
        // and the session drops what came after the 220 (RFC 3207 5).
        std::string error = co_await handshake();
        if (error.empty()) {
          session_.tls_started();
        } else {
          // The session says "TLS handshake failed: " itself.
          constexpr std::string_view kSaid = "TLS handshake failed: ";
          if (error.starts_with(kSaid)) error.erase(0, kSaid.size());
          session_.tls_failed(std::move(error));
        }
        break;
      }
      case ClientSession::Action::kSendBody:
        co_await send_body(a.message, std::string(a.data), a.timeout);
        break;
      case ClientSession::Action::kMessageDone: {
        const MessageResult& result = *a.result;
        bodies_.erase(result.id);
        if (on_done) on_done(result);
        break;
      }
      case ClientSession::Action::kIdle:
        co_return true;
      case ClientSession::Action::kClose:
        // After QUIT (or a failure that left TLS usable) the server gets
        // our close_notify (RFC 8446 6.1); SmtpStream::shutdown knows when
        // it cannot be sent.
        if (stream_) co_await stream_->shutdown(kTlsCloseTimeout);
        co_return false;
    }
  }
}

asio::awaitable<void> ClientConnection::send_body(uint64_t id, std::string trace,
                                                  std::chrono::seconds timeout) {
  DotEncoder encoder = session_.body_encoder();
  auto it = bodies_.find(id);
  if (it == bodies_.end() || !it->second) {
    session_.body_failed("no body for the message");
    co_return;
  }
  BodySource& body = *it->second;
  std::string piece;
  std::string wire;
  std::string error;
  std::error_code ec;
  // The trace fields go first, in the same stream (their size is in the
  // BDAT count); the first body piece carries them.
  encoder.encode(trace, &wire);
  for (;;) {
    piece.clear();
    const bool more = co_await body.read(&piece, kBodyPiece, &error);
    if (!error.empty()) {
      session_.body_failed("cannot read the message: " + error);
      co_return;
    }
    if (!more) break;
    encoder.encode(piece, &wire);
    co_await stream_->write(wire, timeout, ec);
    if (ec) {
      session_.body_failed(ec == asio::error::timed_out ? std::string("timed out sending data")
                                                        : "lost sending data: " + ec.message());
      co_return;
    }
    wire.clear();
  }
  encoder.finish(&wire);
  co_await stream_->write(wire, timeout, ec);
  if (ec) {
    session_.body_failed(ec == asio::error::timed_out ? std::string("timed out sending data")
                                                      : "lost sending data: " + ec.message());
    co_return;
  }
  session_.body_sent(encoder);
}

asio::awaitable<void> ClientConnection::quit(OnDone on_done) {
  session_.quit();
  co_await run(std::move(on_done));
}

void ClientConnection::abort() {
  if (stream_) stream_->close();
}

}  // namespace tern
