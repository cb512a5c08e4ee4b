// An HTTPS client on libcurl for tern's own outbound HTTP: the ACME client
// (acme/), later MTA-STS policy fetches. One request, one answer: method,
// URL, headers and body in; status, headers and body out, with limits (the
// response size, a total deadline, no redirects unless asked) and an
// optional CA file (tests trust pebble's CA; otherwise the system store).
//
// Two ways to run a request: request() blocks its thread on a curl easy
// handle (the ACME client, on its own renewal thread: a few requests a day,
// no concurrency needed, the simplest code); AsyncClient (async_client.h)
// runs any number at once on an Asio loop through curl's multi-socket
// interface (for fetches from the event loop, such as MTA-STS policies).
// co_request() below runs the blocking one on a thread pool.
//
// Thread safety: request() may run on any number of threads at once.
// global_init() must have run before any thread starts (curl_global_init is
// not thread-safe); request() calls it once itself, under a lock.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace tern::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ClientRequest {
  std::string method = "GET";  // GET, HEAD, POST
  std::string url;
  HeaderList headers;  // sent as given ("Content-Type", "application/jose+json")
  std::string body;    // POST only
};

struct ClientLimits {
  std::size_t max_response = 1024 * 1024;  // body octets; more is an error
  std::chrono::seconds timeout{30};        // the whole request, connect included
  bool follow_redirects = false;           // ACME never needs them
  std::string ca_file;                     // PEM bundle; "" = the system store
  // CURLOPT_RESOLVE entries ("mta-sts.example.com:443:192.0.2.1,[2001:db8::1]"):
  // names already resolved through tern's own resolver, so curl does not ask
  // the system's (MTA-STS policy fetches, relay/sts_fetch.h).
  std::vector<std::string> resolve;
};

struct ClientResponse {
  // Empty when a response came (any status); else what failed (DNS,
  // connect, TLS, timeout, too large), and status is 0.
  std::string error;
  // With `error`: the server's certificate did not validate (untrusted,
  // expired, another name: CURLE_PEER_FAILED_VERIFICATION and kin), as
  // opposed to DNS, connect, timeout or protocol failures.
  bool certificate_failed = false;
  int status = 0;
  HeaderList headers;  // names lower-cased, in arrival order (last response)
  std::string body;

  bool ok() const { return error.empty(); }
  // The first header named `name` (lower case), or "".
  std::string header(const std::string& name) const;
};

// Calls curl_global_init once; safe to call again.
void global_init();

// Performs `req` on this thread, blocking for at most limits.timeout.
ClientResponse request(const ClientRequest& req, const ClientLimits& limits);

// request() on `pool`, resuming the caller on its own executor.
inline asio::awaitable<ClientResponse> co_request(asio::thread_pool& pool, ClientRequest req,
                                                  ClientLimits limits) {
  auto home = co_await asio::this_coro::executor;
  co_await asio::post(pool, asio::use_awaitable);
  ClientResponse r = request(req, limits);
  co_await asio::post(home, asio::use_awaitable);
  co_return r;
}

}  // namespace tern::http
