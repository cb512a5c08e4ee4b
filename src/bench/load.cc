// The load run of `tern bench` (see runner.h).
#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <unordered_set>

#include "bench/runner.h"
#include "bench/setup.h"

namespace tern::bench {

namespace {

using Clock = std::chrono::steady_clock;

// What every event loop shares. Only `claimed` and `stop` change during
// the run, and they are atomics.
struct Plan {
  Plan(const BenchOptions& opts, std::string tag)
      : o(opts),
        tmpl(opts.size, opts.from, opts.to, MessageTemplate::now_date(), std::move(tag)),
        message(envelope(opts)),
        session(session_options(opts)),
        tls(tls_setup(opts)),
        endpoint(server_endpoint(opts)),
        timeout(opts.timeout) {}

  // The next message number (1, 2, ...), or false when all are claimed or
  // the run is stopping.
  bool claim(uint64_t* seq) {
    if (stop.load(std::memory_order_relaxed)) return false;
    const uint64_t n = claimed.fetch_add(1, std::memory_order_relaxed);
    if (n >= o.messages) return false;
    *seq = n + 1;
    return true;
  }

  const BenchOptions& o;
  const MessageTemplate tmpl;
  const OutboundMessage message;
  const ClientSessionOptions session;
  const ClientTlsSetup tls;
  const asio::ip::tcp::endpoint endpoint;
  const std::chrono::seconds timeout;
  Clock::time_point start;
  std::atomic<uint64_t> claimed{0};
  std::atomic<bool> stop{false};
};

// How one message ended.
struct Outcome {
  bool ok = false;
  std::string key = "no result";  // error_key when not ok
};

Outcome judge(const MessageResult& r) {
  Outcome out;
  if (r.failure) {
    out.key = error_key(*r.failure);
    return out;
  }
  for (const RecipientResult& rr : r.rcpts) {
    if (rr.failure) {
      out.key = error_key(*rr.failure);
      return out;
    }
  }
  out.ok = r.reply.has_value();
  if (!out.ok) out.key = "no reply";
  return out;
}

// One event loop and the sessions it runs; its Stats are its own.
class Loop {
 public:
  explicit Loop(Plan& plan) : plan_(plan), deadline_(io_), signals_(io_, SIGINT, SIGTERM) {}

  void add_session() { ++sessions_; }

  // Runs the sessions to their end. Returns at once when there are none.
  void run() {
    if (sessions_ == 0) return;
    running_ = sessions_;
    for (int i = 0; i < sessions_; ++i) {
      asio::co_spawn(io_, session(), [this](std::exception_ptr e) {
        note_exception(e, "session failed", &stats.errors);
        if (--running_ == 0) {
          deadline_.cancel();
          signals_.cancel();
        }
      });
    }
    deadline_.expires_at(plan_.start + std::chrono::seconds(plan_.o.max_seconds));
    deadline_.async_wait([this](std::error_code ec) {
      if (!ec) stop_all(/*deadline=*/true);
    });
    signals_.async_wait([this](std::error_code ec, int) {
      if (!ec) stop_all(/*deadline=*/false);
    });
    io_.run();
  }

  Stats stats;
  Clock::time_point last_done{};
  bool deadline_hit = false;

 private:
  // Keeps a connection in active_ while it lives, so stop_all can abort it.
  struct Registered {
    Registered(std::unordered_set<ClientConnection*>& s, ClientConnection* c) : set(s), conn(c) {
      set.insert(conn);
    }
    ~Registered() { set.erase(conn); }
    std::unordered_set<ClientConnection*>& set;
    ClientConnection* conn;
  };

  void stop_all(bool deadline) {
    plan_.stop.store(true);
    if (deadline) deadline_hit = true;
    for (ClientConnection* c : active_) c->abort();
  }

  void failed(const std::string& key) {
    ++stats.messages_failed;
    ++stats.errors[plan_.stop.load() ? "aborted" : key];
    last_done = Clock::now();
  }

  asio::awaitable<void> session() {
    // Named, not temporaries in the co_await expressions (GCC 12).
    const std::vector<asio::ip::tcp::endpoint> endpoints{plan_.endpoint};
    const ClientConnection::OnDone none;
    Outcome outcome;
    const ClientConnection::OnDone judged = [&outcome](const MessageResult& r) {
      outcome = judge(r);
    };
    uint64_t seq = 0;
    while (plan_.claim(&seq)) {
      ClientConnection conn(io_.get_executor(), plan_.session, plan_.tls);
      Registered reg(active_, &conn);
      const std::error_code ec = co_await conn.connect(endpoints, plan_.timeout);
      if (ec) {
        const auto& f = conn.session().connection_failure();
        failed(f ? error_key(*f) : "connect");
        continue;
      }
      ++stats.connections;
      bool open = co_await conn.run(none);  // greeting, EHLO, STARTTLS
      if (conn.tls_state().active) ++stats.tls_handshakes;
      if (!open) {
        const auto& f = conn.session().connection_failure();
        failed(f ? error_key(*f) : "connection");
        continue;
      }
      ++stats.sessions_ready;
      uint64_t on_this = 0;
      for (;;) {
        conn.add(plan_.message,
                 std::make_unique<TemplateBody>(plan_.tmpl.head(seq), &plan_.tmpl.body()));
        outcome = Outcome{};
        const Clock::time_point t0 = Clock::now();
        open = co_await conn.run(judged);
        const Clock::time_point t1 = Clock::now();
        if (outcome.ok) {
          ++stats.messages_ok;
          stats.latency_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
          last_done = t1;
        } else {
          failed(outcome.key);
        }
        ++on_this;
        if (!open) break;
        if (plan_.o.per_connection != 0 && on_this >= plan_.o.per_connection) break;
        if (!plan_.claim(&seq)) break;
      }
      if (open && !plan_.stop.load()) {
        co_await conn.quit(none);
      } else {
        conn.abort();
      }
    }
  }

  Plan& plan_;
  asio::io_context io_{1};
  asio::steady_timer deadline_;
  asio::signal_set signals_;
  std::unordered_set<ClientConnection*> active_;
  int sessions_ = 0;
  int running_ = 0;
};

std::string random_tag() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag;
  for (int i = 0; i < 8; ++i) tag.push_back(kHex[rd() % 16]);
  return tag;
}

}  // namespace

LoadReport run_load(const BenchOptions& o, uint64_t fd_limit) {
  Plan plan(o, random_tag());
  std::vector<std::unique_ptr<Loop>> loops;
  for (int t = 0; t < o.threads; ++t) loops.push_back(std::make_unique<Loop>(plan));
  for (int i = 0; i < o.sessions; ++i) loops[i % o.threads]->add_session();

  plan.start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t t = 1; t < loops.size(); ++t) threads.emplace_back([&loops, t] { loops[t]->run(); });
  loops[0]->run();
  for (std::thread& t : threads) t.join();
  const Clock::time_point joined = Clock::now();

  Stats total;
  Clock::time_point end{};
  bool deadline_hit = false;
  for (auto& l : loops) {
    end = std::max(end, l->last_done);
    deadline_hit = deadline_hit || l->deadline_hit;
    total.merge(std::move(l->stats));
  }
  if (end == Clock::time_point{}) end = joined;
  const double elapsed = std::chrono::duration<double>(end - plan.start).count();
  return make_load_report(o, &total, elapsed, deadline_hit, fd_limit);
}

}  // namespace tern::bench
