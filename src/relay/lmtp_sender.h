// LmtpSender: hands a queued message to a mailbox server over LMTP
// (RFC 2033), for the local courier (local_courier.h) when [delivery] says
// a mailbox is delivered by LMTP (config.h: lmtp_route). One call is one
// LMTP transaction: MAIL FROM the sender, RCPT for each target mailbox,
// DATA with the queued file as it is (the server adds Return-Path and
// Delivered-To itself), then one reply per accepted recipient.
//
// Connections go to "unix:/path" or "tcp:IP:port" (core/lmtp_address.h)
// and are reused: after a message the connection waits in a pool (one per
// address, at most kMaxIdlePerAddress idle ones) for `idle` time, then
// says QUIT; one that has carried max_messages is closed instead. A pooled
// connection the server closed meanwhile fails before the body; the
// message is then sent once more on a new connection. Nothing accepted is
// lost: a connection lost or timed out after the body leaves every
// recipient without its reply transient (retried on the queue's schedule;
// those the server already confirmed stay delivered).
//
// Every delivery is logged, one line per target:
//   lmtp: ID to=<target> via=unix:/run/dovecot/lmtp status=sent|deferred|bounced (reply)
//
// Threading: deliver() and drain() on the loop that owns the pool.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "queue/store.h"
#include "relay/connection_pool.h"
#include "relay/courier.h"

namespace tern {

struct LmtpSettings {
  std::string lhlo_name = "localhost";  // our host name
  std::chrono::seconds timeout{120};    // connect, each reply and each write
  size_t max_messages_per_connection = 100;
};

class LmtpSender {
 public:
  static constexpr size_t kMaxIdlePerAddress = 4;

  // `blocking` reads the queued file; `idle` is how long a connection
  // waits for the next message (0: closed after each).
  LmtpSender(asio::any_io_executor loop, asio::any_io_executor blocking, std::chrono::seconds idle,
             LmtpSettings settings);

  // Delivers `msg` to `targets` (local mailbox addresses) at `address`
  // (a valid LMTP address). Returns one result per target, in order.
  // Never throws.
  asio::awaitable<std::vector<RcptResult>> deliver(std::shared_ptr<const QueuedMessage> msg,
                                                   std::string address,
                                                   std::vector<std::string> targets);

  // New settings for the next deliveries (config reload); idle connections
  // are closed.
  void reconfigure(LmtpSettings settings);
  // QUITs the idle connections, then calls `done` on the loop.
  void drain(std::function<void()> done) { pool_.drain(std::move(done)); }

  // Connections opened so far (for tests and logs).
  size_t connections_opened() const { return opened_; }

 private:
  // One attempt on `conn`.
  asio::awaitable<MessageResult> send_on(std::shared_ptr<ClientConnection> conn,
                                         const QueuedMessage& msg, const OutboundMessage& m);
  asio::awaitable<std::shared_ptr<ClientConnection>> connect(const std::string& address,
                                                             const LmtpSettings& s);

  asio::any_io_executor loop_;
  asio::any_io_executor blocking_;
  std::shared_ptr<const LmtpSettings> settings_;
  ConnectionPool pool_;
  size_t opened_ = 0;
};

}  // namespace tern
