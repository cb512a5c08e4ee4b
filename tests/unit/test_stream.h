// TestStream: an in-memory ByteStream (net/byte_stream.h) for driving a
// server Connection without a socket, as Boost.Beast's test stream: the
// client's bytes are scripted as chunks (one read returns at most one
// chunk, so "the Nth read" is a point in the dialog the test chooses),
// what the server writes is collected, and the Nth operation of a kind
// (read, write, handshake, shutdown) can be made to fail with a chosen
// error: EOF, a reset, a timeout.
//
// A read with no chunk left waits, as a socket does, until a chunk is
// appended, the input is closed (EOF), cancel() is called (the server's
// drain) or its deadline passes (asio::error::timed_out, on the real
// steady clock: tests close the input or drain rather than wait).
//
// Not thread-safe: one io_context thread drives it and the test.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "net/awaitable.h"
#include "net/byte_stream.h"

namespace tern::testlib {

class TestStream : public ByteStream {
 public:
  enum class Op { kRead, kWrite, kHandshake, kShutdown };

  explicit TestStream(asio::any_io_executor executor, std::string remote_ip = "127.0.0.1")
      : waker_(executor), remote_ip_(std::move(remote_ip)) {}

  // The client sends `bytes`: what one later read returns.
  void append(std::string_view bytes) {
    chunks_.emplace_back(bytes);
    if (waiting_) waker_.cancel();
  }
  // The client closes its end: once the chunks are read, reads give EOF.
  void close_input() {
    input_closed_ = true;
    if (waiting_) waker_.cancel();
  }
  // Operation `n` (counted from 1) of kind `op` fails with `ec`, and
  // consumes or writes nothing.
  void fail(Op op, size_t n, std::error_code ec) { failures_.push_back({op, n, ec}); }
  // Called as read `n` (from 1) begins, before it looks at the chunks: a
  // test moves its clock or appends input there.
  std::function<void(size_t n)> on_read;

  const std::string& output() const { return output_; }
  bool reading() const { return waiting_; }
  size_t count(Op op) const { return counts_[static_cast<size_t>(op)]; }
  bool was_shut_down() const { return shut_down_; }
  bool was_closed() const { return closed_; }

  asio::awaitable<size_t> read_some(asio::mutable_buffer buf,
                                    std::chrono::steady_clock::duration timeout,
                                    std::error_code& ec) override {
    ec.clear();
    size_t n = ++counts_[static_cast<size_t>(Op::kRead)];
    if (on_read) on_read(n);
    if (failed(Op::kRead, n, ec)) co_return 0;
    while (chunks_.empty() && !input_closed_ && !closed_) {
      waiting_ = true;
      cancelled_ = false;
      waker_.expires_after(timeout);
      auto [wec] = co_await waker_.async_wait(use_tuple);
      waiting_ = false;
      if (cancelled_) {
        ec = asio::error::operation_aborted;
        co_return 0;
      }
      if (!wec) {
        ec = asio::error::timed_out;
        co_return 0;
      }
    }
    if (chunks_.empty()) {
      if (closed_)
        ec = asio::error::bad_descriptor;
      else
        ec = asio::error::eof;
      co_return 0;
    }
    std::string& chunk = chunks_.front();
    size_t take = std::min(chunk.size(), buf.size());
    std::copy_n(chunk.data(), take, static_cast<char*>(buf.data()));
    chunk.erase(0, take);
    if (chunk.empty()) chunks_.pop_front();
    co_return take;
  }

  asio::awaitable<void> write(std::string_view data, std::chrono::steady_clock::duration timeout,
                              std::error_code& ec) override {
    (void)timeout;
    ec.clear();
    size_t n = ++counts_[static_cast<size_t>(Op::kWrite)];
    if (failed(Op::kWrite, n, ec)) co_return;
    if (closed_) {
      ec = asio::error::bad_descriptor;
      co_return;
    }
    output_.append(data);
    co_return;
  }

  asio::awaitable<void> handshake(std::shared_ptr<asio::ssl::context> ctx,
                                  std::chrono::steady_clock::duration timeout,
                                  std::error_code& ec) override {
    (void)ctx;
    (void)timeout;
    ec.clear();
    size_t n = ++counts_[static_cast<size_t>(Op::kHandshake)];
    if (failed(Op::kHandshake, n, ec)) co_return;
    tls_ = true;
    co_return;
  }

  void cancel() override {
    if (!waiting_) return;
    cancelled_ = true;
    waker_.cancel();
  }

  asio::awaitable<void> shutdown(std::chrono::steady_clock::duration timeout) override {
    (void)timeout;
    std::error_code ec;
    size_t n = ++counts_[static_cast<size_t>(Op::kShutdown)];
    if (!failed(Op::kShutdown, n, ec)) shut_down_ = true;
    close();
    co_return;
  }

  void close() override {
    closed_ = true;
    if (waiting_) waker_.cancel();
  }

  bool is_tls() const override { return tls_; }
  SSL* ssl() override { return nullptr; }
  std::string remote_ip() override { return remote_ip_; }
  std::string local_ip() override { return "127.0.0.1"; }

 private:
  struct Failure {
    Op op;
    size_t n;
    std::error_code ec;
  };

  bool failed(Op op, size_t n, std::error_code& ec) const {
    for (const Failure& f : failures_)
      if (f.op == op && f.n == n) {
        ec = f.ec;
        return true;
      }
    return false;
  }

  asio::steady_timer waker_;
  std::string remote_ip_;
  std::deque<std::string> chunks_;
  std::string output_;
  std::vector<Failure> failures_;
  size_t counts_[4] = {};
  bool input_closed_ = false;
  bool waiting_ = false;
  bool cancelled_ = false;
  bool tls_ = false;
  bool shut_down_ = false;
  bool closed_ = false;
};

}  // namespace tern::testlib
