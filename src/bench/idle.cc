// The idle run of `tern bench` (see runner.h): many open sessions doing
// nothing, for measuring a server's memory per session.
#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

#include "bench/runner.h"
#include "bench/setup.h"
#include "net/awaitable.h"

namespace tern::bench {

namespace {

using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

class IdleRun {
 public:
  IdleRun(const BenchOptions& o, uint64_t fd_limit)
      : o_(o),
        session_(session_options(o)),
        tls_(tls_setup(o)),
        endpoints_{server_endpoint(o)},
        signals_(io_, SIGINT, SIGTERM) {
    report_.options = o;
    report_.fd_limit = fd_limit;
    report_.requested = o.idle;
  }

  IdleReport run() {
    // Opening: --sessions openers take the next session until all are
    // tried or --max-seconds has passed. The signal set exists from the
    // start, so a SIGTERM while opening ends the hold at once.
    const Clock::time_point t0 = Clock::now();
    deadline_ = t0 + std::chrono::seconds(o_.max_seconds);
    const uint64_t openers = std::min<uint64_t>(static_cast<uint64_t>(o_.sessions), o_.idle);
    for (uint64_t i = 0; i < openers; ++i) asio::co_spawn(io_, open_sessions(), done_handler());
    io_.run();
    report_.connect_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::fprintf(stderr, "tern bench: holding %zu sessions (%llu banners)\n", held_.size(),
                 static_cast<unsigned long long>(report_.banners));
    std::fflush(stderr);

    // Holding: nothing is read or written; the connections only exist.
    const Clock::time_point t1 = Clock::now();
    asio::co_spawn(io_, hold(), done_handler());
    io_.restart();
    io_.run();
    report_.held_s = std::chrono::duration<double>(Clock::now() - t1).count();

    // Closing: QUIT on every session at once (each within --timeout).
    for (auto& c : held_) asio::co_spawn(io_, c->quit(none_), done_handler());
    io_.restart();
    io_.run();
    return report_;
  }

 private:
  std::function<void(std::exception_ptr)> done_handler() {
    return
        [this](std::exception_ptr e) { note_exception(e, "idle session failed", &report_.errors); };
  }

  asio::awaitable<void> open_sessions() {
    while (next_ < o_.idle && Clock::now() < deadline_) {
      ++next_;
      auto conn = std::make_unique<ClientConnection>(io_.get_executor(), session_, tls_);
      const std::error_code ec = co_await conn->connect(endpoints_, timeout_);
      if (ec) {
        const auto& f = conn->session().connection_failure();
        ++report_.errors[f ? error_key(*f) : "connect"];
        continue;
      }
      const bool open = co_await conn->run(none_);  // the greeting, EHLO (STARTTLS)
      if (open) {
        ++report_.banners;
        ++report_.ready;
        held_.push_back(std::move(conn));
        continue;
      }
      const auto& f = conn->session().connection_failure();
      // A failure after the greeting means the banner did come.
      if (f && f->phase != Phase::kGreeting && f->phase != Phase::kConnect) ++report_.banners;
      ++report_.errors[f ? error_key(*f) : "connection"];
    }
  }

  asio::awaitable<void> hold() {
    asio::steady_timer timer(io_);
    timer.expires_after(std::chrono::seconds(o_.hold));
    co_await (timer.async_wait(use_tuple) || signals_.async_wait(use_tuple));
  }

  const BenchOptions& o_;
  const ClientSessionOptions session_;
  const ClientTlsSetup tls_;
  const std::vector<asio::ip::tcp::endpoint> endpoints_;
  const ClientConnection::OnDone none_;
  const std::chrono::seconds timeout_{o_.timeout};
  asio::io_context io_{1};
  asio::signal_set signals_;
  Clock::time_point deadline_;
  uint64_t next_ = 0;
  std::vector<std::unique_ptr<ClientConnection>> held_;
  IdleReport report_;
};

}  // namespace

IdleReport run_idle(const BenchOptions& o, uint64_t fd_limit) {
  IdleRun run(o, fd_limit);
  return run.run();
}

}  // namespace tern::bench
