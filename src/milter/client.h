// milter::Client: one connection to one milter ([[milter]] socket), the
// thin Asio layer over milter::Session. Every write and read has the
// deadline the caller gives (connect_timeout, command_timeout,
// eom_timeout); a PROGRESS reply restarts it. Any failure (connect, I/O,
// timeout, protocol) leaves the client broken() with error() set: the
// caller then applies the milter's default action.
//
// Thread-compatible: one client belongs to one SMTP connection.
#pragma once

#include <asio.hpp>
#include <asio/generic/stream_protocol.hpp>
#include <chrono>
#include <string>

#include "config/config.h"
#include "milter/session.h"

namespace tern::milter {

class Client {
 public:
  Client(asio::any_io_executor ex, const MilterConfig& config);

  // Connects and negotiates (connect_timeout for the connection,
  // command_timeout for the answer). false: broken().
  asio::awaitable<bool> open();
  // Writes step.send and, when step.await, reads replies until the stage
  // is done. false: broken(); else session().verdict() tells.
  asio::awaitable<bool> run(Session::Step step, std::chrono::steady_clock::duration timeout);
  // Writes bytes that have no reply (ABORT, QUIT); a failure only breaks
  // the client.
  asio::awaitable<void> send(std::string bytes);
  void close();

  Session& session() { return session_; }
  const MilterConfig& config() const { return config_; }
  bool broken() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  asio::awaitable<bool> write(std::string_view bytes, std::chrono::steady_clock::duration timeout);
  bool fail(std::string why);

  MilterConfig config_;
  asio::generic::stream_protocol::socket socket_;
  asio::steady_timer timer_;
  PacketReader reader_;
  Session session_;
  std::string error_;
};

}  // namespace tern::milter
