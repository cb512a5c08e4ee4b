// The admin socket: how `tern queue` talks to a running `tern serve`.
//
//   <data_dir>/admin.sock   a Unix stream socket, mode 0600 (and data_dir is
//                           0700); peers must run as the server's user or
//                           root (checked with SO_PEERCRED).
//
// Protocol: line-oriented JSON. The client sends one JSON object on one
// line ending in "\n"; the server answers with one JSON object on one line;
// a connection may carry several requests. Every answer has "ok" (bool);
// a failed one has "error" (text). What requests exist is the handler's
// business (server/queue_admin.h documents the queue's). A request line
// longer than 64 KiB, or invalid JSON, gets {"ok": false, "error": ...}
// and the connection is closed.
//
// Thread safety: AdminServer lives on one event loop and is used from its
// thread. admin_call() is a blocking client for command-line tools.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace tern {

class AdminServer {
 public:
  using Handler = std::function<asio::awaitable<nlohmann::json>(nlohmann::json request)>;

  AdminServer(asio::io_context& io, std::string path, Handler handler);
  ~AdminServer();

  // Binds `path` (a socket file left by an earlier run, e.g. after kill -9,
  // is replaced: the queue lock already proves no other server uses this
  // data dir), makes it 0600 and listens. Error if the path is too long for
  // a Unix socket (107 octets) or cannot be bound.
  Status open();
  // Accepts connections until stop(). REQUIRES: open() succeeded.
  void start();
  // Closes the listening socket and removes the file. Idempotent.
  void stop();

  const std::string& path() const { return path_; }

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::local::stream_protocol::socket socket);

  asio::io_context& io_;
  std::string path_;
  Handler handler_;
  asio::local::stream_protocol::acceptor acceptor_;
  bool open_ = false;
};

// The outcome of admin_call().
enum class AdminCallError {
  kNone,        // *response holds the server's answer (which may say ok: false)
  kNotRunning,  // no socket file, or nobody listens on it
  kFailed,      // anything else (permission, protocol, timeout): see the message
};

// Connects to the admin socket at `path`, sends `request`, and reads one
// answer (waiting at most `timeout_seconds`). Blocking.
AdminCallError admin_call(const std::string& path, const nlohmann::json& request,
                          nlohmann::json* response, std::string* error, int timeout_seconds = 60);

// One JSON line, invalid UTF-8 replaced (text from remote servers may hold
// anything), ending in "\n".
std::string json_line(const nlohmann::json& j);

}  // namespace tern
