#include "milter/client.h"

#include <asio/experimental/awaitable_operators.hpp>

#include "net/awaitable.h"

namespace tern::milter {

using namespace asio::experimental::awaitable_operators;

Client::Client(asio::any_io_executor ex, const MilterConfig& config)
    : config_(config), socket_(ex), timer_(ex) {}

bool Client::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  close();
  return false;
}

void Client::close() {
  std::error_code ignored;
  socket_.close(ignored);
}

asio::awaitable<bool> Client::open() {
  timer_.expires_after(config_.connect_timeout);
  std::error_code ec;
  // One connect for both kinds: a generic endpoint holds either.
  asio::generic::stream_protocol::endpoint ep;
  if (!config_.unix_path.empty()) {
    ep = asio::local::stream_protocol::endpoint(config_.unix_path);
  } else {
    asio::ip::address addr = asio::ip::make_address(config_.host, ec);
    if (ec) co_return fail("bad address " + config_.host);
    ep = asio::ip::tcp::endpoint(addr, config_.port);
  }
  socket_.open(ep.protocol(), ec);
  if (ec) co_return fail("socket: " + ec.message());
  auto res = co_await (socket_.async_connect(ep, use_tuple) || timer_.async_wait(use_tuple));
  if (res.index() == 1) co_return fail("connect timed out");
  if (auto [cec] = std::get<0>(res); cec)
    co_return fail("connect " + config_.socket + ": " + cec.message());
  co_return co_await run(session_.negotiate(), config_.command_timeout);
}

asio::awaitable<bool> Client::write(std::string_view bytes,
                                    std::chrono::steady_clock::duration timeout) {
  timer_.expires_after(timeout);
  auto res = co_await (asio::async_write(socket_, asio::buffer(bytes), use_tuple) ||
                       timer_.async_wait(use_tuple));
  if (res.index() == 1) co_return fail("write timed out");
  if (auto [wec, n] = std::get<0>(res); wec) co_return fail("write: " + wec.message());
  co_return true;
}

asio::awaitable<bool> Client::run(Session::Step step, std::chrono::steady_clock::duration timeout) {
  if (broken()) co_return false;
  if (!step.send.empty() && !co_await write(step.send, timeout)) co_return false;
  if (!step.await) co_return true;
  char buf[16 * 1024];
  timer_.expires_after(timeout);
  for (;;) {
    while (std::optional<Packet> p = reader_.next()) {
      switch (session_.on_packet(*p)) {
        case Session::Result::kDone:
          co_return true;
        case Session::Result::kError:
          co_return fail(session_.error());
        case Session::Result::kMore:
          // PROGRESS (and each modification) shows the milter is alive.
          timer_.expires_after(timeout);
          break;
      }
    }
    if (!reader_.error().empty()) co_return fail(reader_.error());
    auto res = co_await (socket_.async_read_some(asio::buffer(buf), use_tuple) ||
                         timer_.async_wait(use_tuple));
    if (res.index() == 1)
      co_return fail(std::string("timed out waiting for the reply to ") +
                     stage_name(session_.stage()));
    auto [rec, n] = std::get<0>(res);
    if (rec)
      co_return fail("read: " + (rec == asio::error::eof ? "connection closed" : rec.message()));
    reader_.feed(std::string_view(buf, n));
  }
}

asio::awaitable<void> Client::send(std::string bytes) {
  if (broken() || bytes.empty()) co_return;
  co_await write(bytes, config_.command_timeout);
}

}  // namespace tern::milter
