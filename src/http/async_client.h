// AsyncClient: client.h's requests on an Asio event loop, through curl's
// multi-socket interface. curl says which sockets it wants watched
// (CURLMOPT_SOCKETFUNCTION) and when to call it back
// (CURLMOPT_TIMERFUNCTION); those become async waits on the loop's reactor
// and one steady_timer, so any number of requests run on the loop's
// thread without a thread of their own. For the MTA-STS policy fetches
// (many domains, from the relay's loop); ACME uses the blocking request().
//
// Thread safety: all calls on the io_context's thread (one-thread loop).
// The client must outlive its requests; destroying it ends those still
// running with an error.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <map>
#include <memory>

#include "http/client.h"

namespace tern::http {

class AsyncClient {
 public:
  explicit AsyncClient(asio::io_context& io);
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  // Performs `req` within `limits`; never throws for network failures
  // (ClientResponse::error says what failed).
  asio::awaitable<ClientResponse> request(ClientRequest req, ClientLimits limits);

 private:
  struct Watch;
  struct Pending;
  static int on_socket(void* easy, int fd, int what, void* self, void* socketp);
  static int on_timer(void* multi, long timeout_ms, void* self);
  void arm(const std::shared_ptr<Watch>& w);
  void act(int fd, int ev_bitmask);
  void reap();

  asio::io_context& io_;
  void* multi_;  // CURLM*
  asio::steady_timer timer_;
  std::map<int, std::shared_ptr<Watch>> watches_;
  std::map<void*, std::shared_ptr<Pending>> pending_;  // by easy handle
};

}  // namespace tern::http
