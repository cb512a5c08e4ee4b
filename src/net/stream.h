// SmtpStream: one client connection's byte stream, plain TCP that may turn
// into TLS (STARTTLS) or start as TLS (implicit TLS, RFC 8314). The only
// socket code of the server besides the acceptor. The ByteStream a
// server Connection drives (byte_stream.h).
//
// Every read takes a deadline. A plain stream holds no read buffer while it
// waits: it waits for readability, then reads into the caller's buffer, so
// idle sessions cost little memory.
//
// Closing: shutdown() is the orderly end (TLS close_notify first, RFC 8446
// 6.1); close() drops the connection at once. The stream remembers whether
// an error left TLS unusable (a failed handshake, a failed or timed-out
// write, a read error other than a timeout or cancel()), and then
// shutdown() only closes, as OpenSSL forbids SSL_shutdown after a fatal
// error.
//
// Not thread-safe: one coroutine drives one stream.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "net/byte_stream.h"

namespace tern {

class SmtpStream : public ByteStream {
 public:
  explicit SmtpStream(asio::ip::tcp::socket socket);

  // Reads at least one octet into `buf`. Returns 0 with ec set on EOF,
  // error, timeout (asio::error::timed_out) or cancel().
  asio::awaitable<size_t> read_some(asio::mutable_buffer buf,
                                    std::chrono::steady_clock::duration timeout,
                                    std::error_code& ec) override;
  // Writes all of `data` within `timeout`.
  asio::awaitable<void> write(std::string_view data, std::chrono::steady_clock::duration timeout,
                              std::error_code& ec) override;
  // Server-side TLS handshake within `timeout`; on success the stream is TLS.
  asio::awaitable<void> handshake(std::shared_ptr<asio::ssl::context> ctx,
                                  std::chrono::steady_clock::duration timeout,
                                  std::error_code& ec) override;
  // Client-side TLS handshake within `timeout`, sending `server_name` as
  // SNI unless it is an IP literal, and arming OpenSSL's check of the
  // certificate against it (a host name against DNS names, an IP literal
  // against IP addresses in subjectAltName; RFC 6125). The handshake does
  // not fail on a bad certificate: the caller reads the verdict afterwards
  // (client/tls_client.h: check_peer) and decides. `prepare`, when set,
  // runs on the new SSL before the handshake (DANE, other names) and may
  // refuse it by returning why (ec is then EINVAL, nothing sent).
  asio::awaitable<void> client_handshake(std::shared_ptr<asio::ssl::context> ctx,
                                         const std::string& server_name,
                                         std::chrono::steady_clock::duration timeout,
                                         std::error_code& ec,
                                         std::function<std::string(SSL*)> prepare = {});
  // Aborts a pending read or write (used by shutdown).
  void cancel() override;
  // Orderly close. Under TLS, unless an error left the session unusable,
  // sends close_notify (RFC 8446 6.1) and waits up to `timeout` for the
  // peer's close_notify or its end of the connection (reading the peer's
  // close_notify also keeps the kernel from answering it with a reset);
  // then closes the socket. Never fails: a peer that is gone or silent
  // only costs the wait.
  asio::awaitable<void> shutdown(std::chrono::steady_clock::duration timeout) override;
  // Closes the socket at once (no close_notify); safe to call repeatedly.
  void close() override;

  bool is_tls() const override { return tls_.has_value(); }
  SSL* ssl() override { return tls_ ? tls_->native_handle() : nullptr; }
  std::string remote_ip() override;
  std::string local_ip() override;
  uint16_t remote_port() override;
  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  asio::ip::tcp::socket socket_;
  std::shared_ptr<asio::ssl::context> ctx_;  // kept alive while TLS is on
  std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  asio::steady_timer timer_;
  // TLS is on and no error has made SSL_shutdown unsafe (see above).
  bool tls_usable_ = false;
};

}  // namespace tern
