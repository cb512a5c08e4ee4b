// ByteStream: what a server connection (server/connection.h) does with its
// client's bytes, as an interface: the real one is SmtpStream (stream.h,
// TCP that may turn into TLS); tests drive a Connection with an in-memory
// stream that fails its Nth operation (tests/unit/test_stream.h), as
// Boost.Beast's test stream does.
//
// Every operation that waits takes a deadline and reports an expired one
// as asio::error::timed_out; errors are error_codes, never exceptions.
//
// Not thread-safe: one coroutine drives one stream.
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace tern {

class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // Reads at least one octet into `buf`. Returns 0 with ec set on EOF
  // (asio::error::eof, or ssl stream_truncated under TLS), error, timeout
  // (asio::error::timed_out) or cancel() (asio::error::operation_aborted).
  virtual asio::awaitable<size_t> read_some(asio::mutable_buffer buf,
                                            std::chrono::steady_clock::duration timeout,
                                            std::error_code& ec) = 0;
  // Writes all of `data` within `timeout`.
  virtual asio::awaitable<void> write(std::string_view data,
                                      std::chrono::steady_clock::duration timeout,
                                      std::error_code& ec) = 0;
  // Server-side TLS handshake within `timeout`; on success the stream is TLS.
  virtual asio::awaitable<void> handshake(std::shared_ptr<asio::ssl::context> ctx,
                                          std::chrono::steady_clock::duration timeout,
                                          std::error_code& ec) = 0;
  // Aborts a pending read or write: it ends with operation_aborted.
  virtual void cancel() = 0;
  // Orderly close (TLS close_notify first when TLS is still usable), within
  // `timeout`. Never fails.
  virtual asio::awaitable<void> shutdown(std::chrono::steady_clock::duration timeout) = 0;
  // Closes at once; safe to call repeatedly.
  virtual void close() = 0;

  virtual bool is_tls() const = 0;
  // The TLS session, or nullptr (plain, or a stream without OpenSSL).
  virtual SSL* ssl() = 0;
  // The peer's and our address, as text ("192.0.2.1", "::1"; an IPv4
  // address mapped into IPv6 as IPv4); "unknown" when not known.
  virtual std::string remote_ip() = 0;
  virtual std::string local_ip() = 0;
  // The peer's port; 0 when not known (the milter macro {client_port}).
  virtual uint16_t remote_port() { return 0; }
};

// How long an orderly close waits for the peer's close_notify: long enough
// for a round trip across the internet, short enough that a silent peer
// holds the connection only briefly.
inline constexpr std::chrono::seconds kTlsCloseTimeout{2};

}  // namespace tern
