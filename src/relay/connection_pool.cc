#include "relay/connection_pool.h"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>

#include "net/awaitable.h"

namespace tern {
namespace {

// QUIT, and close anyway once `limit` has passed. By-value parameters: they
// live in the frame.
asio::awaitable<void> quit_within(std::shared_ptr<ClientConnection> conn,
                                  std::chrono::steady_clock::duration limit) {
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, limit);
  timer->async_wait([conn](std::error_code ec) {
    if (!ec) conn->abort();
  });
  ClientConnection::OnDone none;
  if (conn->open()) co_await conn->quit(none);
  conn->abort();
  timer->cancel();
}

}  // namespace

ConnectionPool::ConnectionPool(asio::any_io_executor loop,
                               std::chrono::steady_clock::duration idle_time, size_t max_per_key,
                               std::chrono::steady_clock::duration quit_time)
    : loop_(std::move(loop)),
      idle_time_(idle_time),
      max_per_key_(std::max<size_t>(max_per_key, 1)),
      quit_time_(quit_time) {}

ConnectionPool::~ConnectionPool() {
  *alive_ = false;
  for (auto& [key, slots] : idle_) {
    for (Slot& s : slots) {
      s.timer->cancel();
      s.c.conn->abort();
    }
  }
}

std::optional<PooledConnection> ConnectionPool::take(const std::string& key) {
  auto it = idle_.find(key);
  while (it != idle_.end() && !it->second.empty()) {
    Slot s = std::move(it->second.back());
    it->second.pop_back();
    if (it->second.empty()) idle_.erase(it);
    s.timer->cancel();  // its expire() ends without touching the pool
    if (s.c.conn && s.c.conn->open()) return std::move(s.c);
    it = idle_.find(key);
  }
  return std::nullopt;
}

void ConnectionPool::put(const std::string& key, PooledConnection c) {
  if (!c.conn || !c.conn->open()) return;
  if (draining_) return close(std::move(c.conn));
  std::vector<Slot>& slots = idle_[key];
  if (slots.size() >= max_per_key_) {
    Slot oldest = std::move(slots.front());
    slots.erase(slots.begin());
    oldest.timer->cancel();
    close(std::move(oldest.c.conn));
  }
  Slot s;
  s.c = std::move(c);
  s.serial = next_serial_++;
  s.timer = std::make_shared<asio::steady_timer>(loop_, idle_time_);
  asio::co_spawn(loop_, expire(key, s.serial, s.timer, alive_), asio::detached);
  slots.push_back(std::move(s));
}

asio::awaitable<void> ConnectionPool::expire(std::string key, uint64_t serial,
                                             std::shared_ptr<asio::steady_timer> timer,
                                             std::shared_ptr<bool> alive) {
  auto [ec] = co_await timer->async_wait(use_tuple);
  if (!*alive || ec) co_return;  // taken, replaced, or the pool is gone
  auto it = idle_.find(key);
  if (it == idle_.end()) co_return;
  std::vector<Slot>& slots = it->second;
  for (auto s = slots.begin(); s != slots.end(); ++s) {
    if (s->serial != serial) continue;
    std::shared_ptr<ClientConnection> conn = std::move(s->c.conn);
    slots.erase(s);
    if (slots.empty()) idle_.erase(it);
    close(std::move(conn));
    break;
  }
}

void ConnectionPool::close(std::shared_ptr<ClientConnection> conn) {
  if (!conn) return;
  ++closing_;
  std::shared_ptr<bool> alive = alive_;
  asio::co_spawn(loop_, quit_within(std::move(conn), quit_time_),
                 [this, alive](std::exception_ptr) {
                   if (*alive) closing_done();
                 });
}

void ConnectionPool::closing_done() {
  --closing_;
  if (draining_ && closing_ == 0 && drained_) asio::post(loop_, std::exchange(drained_, nullptr));
}

void ConnectionPool::clear() {
  std::map<std::string, std::vector<Slot>> all = std::move(idle_);
  idle_.clear();
  for (auto& [key, slots] : all) {
    for (Slot& s : slots) {
      s.timer->cancel();
      close(std::move(s.c.conn));
    }
  }
}

void ConnectionPool::drain(std::function<void()> done) {
  draining_ = true;
  drained_ = std::move(done);
  clear();
  if (closing_ == 0 && drained_) asio::post(loop_, std::exchange(drained_, nullptr));
}

size_t ConnectionPool::idle(const std::string& key) const {
  auto it = idle_.find(key);
  return it == idle_.end() ? 0 : it->second.size();
}

size_t ConnectionPool::idle() const {
  size_t n = 0;
  for (const auto& [key, slots] : idle_) n += slots.size();
  return n;
}

}  // namespace tern
