#include "server/admin_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "net/awaitable.h"

namespace tern {
namespace {

constexpr size_t kMaxRequest = 64 * 1024;
constexpr auto kIdleTimeout = std::chrono::minutes(5);

using Local = asio::local::stream_protocol;

nlohmann::json error_reply(const std::string& text) {
  return nlohmann::json{{"ok", false}, {"error", text}};
}

// True if the peer runs as our user or as root.
bool peer_allowed(Local::socket& s) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  return cred.uid == ::geteuid() || cred.uid == 0;
}

}  // namespace

std::string json_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

AdminServer::AdminServer(asio::io_context& io, std::string path, Handler handler)
    : io_(io), path_(std::move(path)), handler_(std::move(handler)), acceptor_(io) {}

AdminServer::~AdminServer() { stop(); }

Status AdminServer::open() {
  if (path_.size() >= sizeof(sockaddr_un::sun_path)) {
    return Status::Permanent("admin socket path " + path_ + " is too long for a Unix socket (" +
                             std::to_string(path_.size()) + " > " +
                             std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " octets)");
  }
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
    return Status::Permanent("cannot remove the old " + path_ + ": " + std::strerror(errno));
  std::error_code ec;
  acceptor_.open(Local(), ec);
  if (!ec) acceptor_.bind(Local::endpoint(path_), ec);
  if (!ec && ::chmod(path_.c_str(), 0600) != 0)
    ec = std::error_code(errno, std::generic_category());
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::error_code ignored;
    acceptor_.close(ignored);
    return Status::Permanent("admin socket " + path_ + ": " + ec.message());
  }
  open_ = true;
  return Status::Ok();
}

void AdminServer::start() { asio::co_spawn(io_, accept_loop(), asio::detached); }

void AdminServer::stop() {
  if (!open_) return;
  open_ = false;
  std::error_code ec;
  acceptor_.close(ec);
  ::unlink(path_.c_str());
}

asio::awaitable<void> AdminServer::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !open_) co_return;
    if (ec) {
      log_warn("admin socket accept: {}", ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> AdminServer::serve(Local::socket socket) {
  if (!peer_allowed(socket)) {
    std::string line = json_line(error_reply("permission denied"));
    co_await asio::async_write(socket, asio::buffer(line), use_tuple);
    co_return;
  }
  std::string buf;
  asio::steady_timer deadline(io_);
  for (;;) {
    deadline.expires_after(kIdleTimeout);
    deadline.async_wait([&socket](std::error_code ec) {
      if (!ec) {
        std::error_code ignored;
        socket.close(ignored);
      }
    });
    auto [ec, n] = co_await asio::async_read_until(
        socket, asio::dynamic_buffer(buf, kMaxRequest + 1), '\n', use_tuple);
    deadline.cancel();
    nlohmann::json reply;
    bool close = false;
    if (ec == asio::error::not_found) {
      reply = error_reply("request longer than 64 KiB");
      close = true;
    } else if (ec) {
      co_return;  // EOF, reset, timeout
    } else {
      std::string line = buf.substr(0, n - 1);
      buf.erase(0, n);
      nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
      if (request.is_discarded() || !request.is_object()) {
        reply = error_reply("bad request: not a JSON object");
        close = true;
      } else {
        try {
          reply = co_await handler_(std::move(request));
        } catch (const std::exception& e) {
          reply = error_reply(std::string("internal error: ") + e.what());
        }
      }
    }
    std::string out = json_line(reply);
    auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(out), use_tuple);
    if (wec || close) co_return;
  }
}

AdminCallError admin_call(const std::string& path, const nlohmann::json& request,
                          nlohmann::json* response, std::string* error, int timeout_seconds) {
  asio::io_context io;
  Local::socket socket(io);
  std::error_code ec;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    *error = "no admin socket at " + path;
    return AdminCallError::kNotRunning;
  }
  socket.connect(Local::endpoint(path), ec);
  if (ec == asio::error::connection_refused || ec == asio::error::not_found ||
      ec == std::errc::no_such_file_or_directory) {
    *error = "nobody listens on " + path;
    return AdminCallError::kNotRunning;
  }
  if (ec) {
    *error = "cannot connect to " + path + ": " + ec.message();
    return AdminCallError::kFailed;
  }
  struct timeval tv {};
  tv.tv_sec = timeout_seconds;
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string line = json_line(request);
  asio::write(socket, asio::buffer(line), ec);
  std::string buf;
  size_t n = 0;
  if (!ec) n = asio::read_until(socket, asio::dynamic_buffer(buf), '\n', ec);
  if (ec) {
    *error = "admin socket " + path + ": " + ec.message();
    return AdminCallError::kFailed;
  }
  *response = nlohmann::json::parse(buf.substr(0, n - 1), nullptr, false);
  if (response->is_discarded() || !response->is_object()) {
    *error = "admin socket " + path + ": the server's answer is not JSON";
    return AdminCallError::kFailed;
  }
  return AdminCallError::kNone;
}

}  // namespace tern
