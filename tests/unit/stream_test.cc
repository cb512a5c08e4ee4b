// SmtpStream::shutdown (src/net/stream.h) over real TLS on 127.0.0.1: the
// orderly end sends close_notify (RFC 8446 6.1), waits only briefly for a
// silent peer, and only closes when TLS is no longer usable.
#include "net/stream.h"

#include <gtest/gtest.h>

#include <asio.hpp>

#include "client/tls_client.h"
#include "config/config.h"
#include "net/awaitable.h"
#include "testlib.h"
#include "tls/tls.h"

namespace tern {
namespace {

using namespace std::chrono_literals;

class StreamShutdownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.hostname = "mx.test";
    config_.data_dir = dir_.path();
    server_ctx_ = make_server_tls_context(config_);
    client_ctx_ = make_client_tls_context({});
  }

  // Connects a client stream to a server stream over loopback, both
  // through the TLS handshake, then runs `server` and `client` side by
  // side until both end.
  template <typename Server, typename Client>
  void run(Server server, Client client) {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    auto server_side = [&]() -> asio::awaitable<void> {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec) co_return;
      SmtpStream s(std::move(socket));
      std::error_code hec;
      co_await s.handshake(server_ctx_, 5s, hec);
      EXPECT_FALSE(hec) << hec.message();
      co_await server(s);
    };
    auto client_side = [&]() -> asio::awaitable<void> {
      asio::ip::tcp::socket socket(io);
      auto [ec] = co_await socket.async_connect(acceptor.local_endpoint(), use_tuple);
      if (ec) co_return;
      SmtpStream s(std::move(socket));
      std::error_code hec;
      co_await s.client_handshake(client_ctx_, "localhost", 5s, hec);
      EXPECT_FALSE(hec) << hec.message();
      co_await client(s);
    };
    int ended = 0;
    auto note = [&](std::exception_ptr e) {
      ++ended;
      if (e) std::rethrow_exception(e);
    };
    asio::co_spawn(io, server_side(), note);
    asio::co_spawn(io, client_side(), note);
    io.run_for(20s);
    EXPECT_EQ(ended, 2);
  }

  testlib::TempDir dir_{"tern-stream"};
  ServerTlsOptions config_;
  std::shared_ptr<asio::ssl::context> server_ctx_;
  std::shared_ptr<asio::ssl::context> client_ctx_;
};

// What a read ends with: eof for a close_notify, stream_truncated for a
// TCP close without one.
asio::awaitable<std::error_code> read_end(SmtpStream& s) {
  char buf[64];
  std::error_code ec;
  size_t n = co_await s.read_some(asio::buffer(buf), 5s, ec);
  EXPECT_EQ(n, 0u);
  co_return ec;
}

TEST_F(StreamShutdownTest, SendsCloseNotifyAndTheyMeet) {
  std::error_code client_saw, server_wait;
  std::chrono::steady_clock::duration server_took{};
  run(
      [&](SmtpStream& s) -> asio::awaitable<void> {
        auto start = std::chrono::steady_clock::now();
        co_await s.shutdown(10s);
        server_took = std::chrono::steady_clock::now() - start;
      },
      [&](SmtpStream& s) -> asio::awaitable<void> {
        client_saw = co_await read_end(s);
        co_await s.shutdown(10s);  // our close_notify answers the server's
      });
  EXPECT_EQ(client_saw, asio::error::eof) << client_saw.message();
  // The server's wait ended with the client's close_notify, not the deadline.
  EXPECT_LT(server_took, 5s);
}

TEST_F(StreamShutdownTest, SilentPeerCostsOnlyTheDeadline) {
  std::chrono::steady_clock::duration took{};
  run(
      [&](SmtpStream& s) -> asio::awaitable<void> {
        auto start = std::chrono::steady_clock::now();
        co_await s.shutdown(300ms);
        took = std::chrono::steady_clock::now() - start;
      },
      [&](SmtpStream& s) -> asio::awaitable<void> {
        // Reads the close_notify but never answers; then sees the close.
        EXPECT_EQ(co_await read_end(s), asio::error::eof);
        asio::steady_timer t(co_await asio::this_coro::executor, 4s);
        co_await t.async_wait(use_tuple);
        s.close();
      });
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);  // the deadline ended it, not the peer's close at 4 s
}

// After a bare TCP close the stream is unusable: shutdown() neither hangs
// nor fails, it closes.
TEST_F(StreamShutdownTest, AfterABareCloseEndsAtOnce) {
  std::error_code server_saw;
  std::chrono::steady_clock::duration took{};
  run(
      [&](SmtpStream& s) -> asio::awaitable<void> {
        server_saw = co_await read_end(s);
        auto start = std::chrono::steady_clock::now();
        co_await s.shutdown(10s);  // TLS is broken: no SSL_shutdown, no wait
        took = std::chrono::steady_clock::now() - start;
      },
      [&](SmtpStream& s) -> asio::awaitable<void> {
        s.close();  // TCP ends without close_notify
        co_return;
      });
  EXPECT_EQ(server_saw, asio::ssl::error::stream_truncated) << server_saw.message();
  EXPECT_LT(took, 1s);
}

}  // namespace
}  // namespace tern
