#include "server/dovecot_auth.h"

#include <unistd.h>

#include <array>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <memory>

#include "net/awaitable.h"

namespace tern {

asio::awaitable<DovecotAuthResult> dovecot_authenticate(std::string socket_path,
                                                        std::chrono::steady_clock::duration timeout,
                                                        DovecotAuthRequest request) {
  if (request.pid == 0) request.pid = static_cast<uint32_t>(::getpid());
  DovecotAuthClient client(std::move(request));
  auto executor = co_await asio::this_coro::executor;
  // Shared with the timer's handler, which may run after this frame ends.
  auto socket = std::make_shared<asio::local::stream_protocol::socket>(executor);
  // One deadline for the whole check: when it passes, the socket is closed
  // and the pending operation ends with an error.
  auto expired = std::make_shared<bool>(false);
  asio::steady_timer timer(executor, timeout);
  timer.async_wait([socket, expired](std::error_code ec) {
    if (ec) return;
    *expired = true;
    std::error_code ignored;
    socket->close(ignored);
  });

  auto [cec] = co_await socket->async_connect(asio::local::stream_protocol::endpoint(socket_path),
                                              use_tuple);
  if (cec) {
    timer.cancel();
    DovecotAuthResult r;
    r.kind = DovecotAuthResult::Kind::kTemporary;
    r.user = client.result().user;
    r.reason = *expired ? "connecting to " + socket_path + " timed out"
                        : "cannot connect to " + socket_path + ": " + cec.message();
    co_return r;
  }
  std::string out = client.hello();
  std::array<char, 4096> buf;
  while (!client.done()) {
    if (!out.empty()) {
      auto [wec, written] = co_await asio::async_write(*socket, asio::buffer(out), use_tuple);
      if (wec) break;
      out.clear();
    }
    auto [rec, n] = co_await socket->async_read_some(asio::buffer(buf), use_tuple);
    if (n > 0) out = client.receive(std::string_view(buf.data(), n));
    if (rec) break;
  }
  if (*expired) client.timeout();  // no-ops once done()
  client.eof();
  timer.cancel();
  std::error_code ignored;
  socket->close(ignored);
  co_return client.result();
}

}  // namespace tern
