// A small HTTP/1.1 server for tern's own endpoints: Prometheus /metrics,
// ACME HTTP-01 challenges, and (over HTTPS) the MTA-STS policy. It wraps
// cpp-httplib (Debian's libcpp-httplib) rather than parsing HTTP here, and
// adds what an endpoint exposed to the internet (port 80 for ACME) needs:
// a bounded worker pool that pushes back on accept when full, short read
// and write deadlines, small request limits, and no keep-alive beyond a few
// requests.
//
// Handlers run on the server's own threads, never on the SMTP event loop:
// what they read must be thread-safe (atomics, or a mutex of their owner).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;

namespace tern::http {

struct Request {
  std::string method;       // "GET", "HEAD"
  std::string path;         // without the query
  std::string host;         // the Host header, as sent
  std::string remote_addr;  // the client's address, for logs
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Handler = std::function<Response(const Request&)>;

struct ServerLimits {
  std::size_t threads = 4;  // requests served at once
  std::size_t queued = 64;  // accepted connections waiting for a thread
  std::chrono::seconds read_timeout{5};
  std::chrono::seconds write_timeout{5};
  std::size_t max_body = 8192;  // our endpoints take no bodies to speak of
  int keep_alive_requests = 5;
};

// HTTPS: called once with the server's fresh SSL_CTX to load a
// certificate or install a certificate callback; false makes the server
// unusable (bind() throws).
using TlsSetup = std::function<bool(SSL_CTX*)>;

class Server {
 public:
  // Plain HTTP, or HTTPS when `tls` is set (cpp-httplib's SSLServer).
  explicit Server(std::string name, ServerLimits limits = {}, TlsSetup tls = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // GET (and HEAD) of exactly `path`, or of every path under `prefix`
  // (which ends with '/'). Register before start(); anything else is 404.
  void get(const std::string& path, Handler handler);
  void get_prefix(const std::string& prefix, Handler handler);

  // Binds host:port now (port 0 = any free port) so a privileged port can be
  // bound before the privilege drop; throws std::runtime_error naming the
  // address on failure. Returns the bound port.
  std::uint16_t bind(const std::string& host, std::uint16_t port);
  std::uint16_t port() const { return port_; }

  // Serves on its own threads until stop() (or destruction).
  void start();
  void stop();

 private:
  struct Impl;
  std::string name_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Impl> impl_;
};

// "127.0.0.1:9325", "[::1]:80", ":80" (all addresses) → host and port;
// throws std::invalid_argument with the reason.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
HostPort parse_listen_address(const std::string& text);

}  // namespace tern::http
