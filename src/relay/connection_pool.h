// ConnectionPool: idle outbound SMTP connections kept for a few seconds
// after a delivery, so that the next message for the same destination goes
// over the same connection (connection reuse, like Postfix's scache).
//
//   put(key, c)   after a message, with the connection still open and
//                 ready: kept `idle_time`, then closed with QUIT;
//   take(key)     the most recently kept connection for `key`, if any
//                 (LIFO: the others expire sooner);
//   drain(done)   at shutdown: QUIT to every idle connection (each bounded
//                 by `quit_time`), then done(); later put()s QUIT at once.
//
// The key is the destination: a domain, or the smarthost. The pool counts
// nothing about messages; the caller keeps PooledConnection::messages and
// stops putting a connection back once it has carried its share.
//
// Threading: one pool per event loop; every method on the loop's thread.
// The closing coroutines run on that loop.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/connection.h"
#include "relay/remote_plan.h"

namespace tern {

struct PooledConnection {
  std::shared_ptr<ClientConnection> conn;
  Hop hop;              // where it goes
  size_t messages = 0;  // sent over it so far
  // The TLS outcome for the outbound trace (relay/outbound_trace.h), made
  // once after the connection's setup; "" until then.
  std::string trace;
  // The " policy=... dane=..." of its log lines (policy_text in
  // remote_courier.cc), made like the trace with the first message: a
  // message that reuses the connection has no requirement of its own.
  std::optional<std::string> policy;
};

class ConnectionPool {
 public:
  // `max_per_key`: idle connections kept per key (a put() beyond it closes
  // the oldest). REQUIRES: max_per_key >= 1.
  ConnectionPool(asio::any_io_executor loop, std::chrono::steady_clock::duration idle_time,
                 size_t max_per_key,
                 std::chrono::steady_clock::duration quit_time = std::chrono::seconds(5));
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  std::optional<PooledConnection> take(const std::string& key);
  void put(const std::string& key, PooledConnection c);
  // Closes every idle connection with QUIT (not waiting), e.g. after a
  // config reload.
  void clear();
  void drain(std::function<void()> done);

  // Closes `conn` with QUIT, at most `quit_time`, without waiting. Also
  // for connections that are not pooled.
  void close(std::shared_ptr<ClientConnection> conn);

  size_t idle(const std::string& key) const;
  size_t idle() const;

 private:
  struct Slot {
    PooledConnection c;
    uint64_t serial = 0;
    std::shared_ptr<asio::steady_timer> timer;
  };
  // Closes the slot `serial` of `key` when `timer` expires; touches the pool
  // only while *alive.
  asio::awaitable<void> expire(std::string key, uint64_t serial,
                               std::shared_ptr<asio::steady_timer> timer,
                               std::shared_ptr<bool> alive);
  void closing_done();

  asio::any_io_executor loop_;
  std::chrono::steady_clock::duration idle_time_;
  size_t max_per_key_;
  std::chrono::steady_clock::duration quit_time_;
  std::map<std::string, std::vector<Slot>> idle_;  // oldest first
  uint64_t next_serial_ = 1;
  size_t closing_ = 0;  // QUITs in flight
  bool draining_ = false;
  std::function<void()> drained_;  // drain()'s callback, until every QUIT is done
  // False once the pool is gone: coroutines still running check it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tern
