#include "http/async_client.h"

#include <curl/curl.h>

#include <asio/async_result.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>

#include "http/transfer.h"

namespace tern::http {

// A socket curl wants watched. The descriptor is curl's: it is released,
// never closed, by the stream_descriptor.
struct AsyncClient::Watch {
  explicit Watch(asio::io_context& io, int fd) : sd(io, fd) {}
  ~Watch() {
    if (sd.is_open()) sd.release();
  }
  asio::posix::stream_descriptor sd;
  int what = 0;  // CURL_POLL_IN / OUT / INOUT
  bool reading = false;
  bool writing = false;
  bool removed = false;
};

struct AsyncClient::Pending {
  Pending(const ClientRequest& req, const ClientLimits& limits) : transfer(req, limits) {}
  Transfer transfer;
  std::function<void(ClientResponse)> done;
};

AsyncClient::AsyncClient(asio::io_context& io)
    : io_(io), multi_((global_init(), curl_multi_init())), timer_(io) {
  CURLM* m = static_cast<CURLM*>(multi_);
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &AsyncClient::on_socket);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &AsyncClient::on_timer);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
}

AsyncClient::~AsyncClient() {
  CURLM* m = static_cast<CURLM*>(multi_);
  auto pending = std::move(pending_);
  for (auto& [easy, p] : pending) {
    curl_multi_remove_handle(m, static_cast<CURL*>(easy));
    ClientResponse r;
    r.error = "client destroyed";
    if (p->done) asio::post(io_, [d = std::move(p->done), r] { d(r); });
  }
  for (auto& [fd, w] : watches_) {
    w->removed = true;
    w->sd.release();
  }
  watches_.clear();
  timer_.cancel();
  curl_multi_cleanup(m);
}

int AsyncClient::on_socket(void*, int fd, int what, void* self, void*) {
  auto* c = static_cast<AsyncClient*>(self);
  if (what == CURL_POLL_REMOVE) {
    if (auto it = c->watches_.find(fd); it != c->watches_.end()) {
      // Released now, before curl closes the descriptor: the reactor must
      // forget it before the number can be reused for another socket.
      // Pending waits end with operation_aborted.
      it->second->removed = true;
      it->second->sd.release();
      c->watches_.erase(it);
    }
    return 0;
  }
  auto& w = c->watches_[fd];
  if (!w) w = std::make_shared<Watch>(c->io_, fd);
  w->what = what;
  c->arm(w);
  return 0;
}

int AsyncClient::on_timer(void*, long timeout_ms, void* self) {
  auto* c = static_cast<AsyncClient*>(self);
  c->timer_.cancel();
  if (timeout_ms < 0) return 0;  // curl asks for no timer
  c->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  c->timer_.async_wait([c](std::error_code ec) {
    if (!ec) c->act(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

// One async wait per direction curl asked for and none already pending;
// each completion tells curl and re-arms while curl still wants it.
void AsyncClient::arm(const std::shared_ptr<Watch>& w) {
  if ((w->what & CURL_POLL_IN) && !w->reading) {
    w->reading = true;
    w->sd.async_wait(asio::posix::stream_descriptor::wait_read, [this, w](std::error_code ec) {
      w->reading = false;
      if (ec || w->removed) return;
      if (w->what & CURL_POLL_IN) act(w->sd.native_handle(), CURL_CSELECT_IN);
      if (!w->removed) arm(w);
    });
  }
  if ((w->what & CURL_POLL_OUT) && !w->writing) {
    w->writing = true;
    w->sd.async_wait(asio::posix::stream_descriptor::wait_write, [this, w](std::error_code ec) {
      w->writing = false;
      if (ec || w->removed) return;
      if (w->what & CURL_POLL_OUT) act(w->sd.native_handle(), CURL_CSELECT_OUT);
      if (!w->removed) arm(w);
    });
  }
}

void AsyncClient::act(int fd, int ev_bitmask) {
  int running = 0;
  curl_multi_socket_action(static_cast<CURLM*>(multi_), fd, ev_bitmask, &running);
  reap();
}

void AsyncClient::reap() {
  CURLM* m = static_cast<CURLM*>(multi_);
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(m, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    const CURLcode rc = msg->data.result;
    curl_multi_remove_handle(m, easy);
    auto it = pending_.find(easy);
    if (it == pending_.end()) continue;
    std::shared_ptr<Pending> p = std::move(it->second);
    pending_.erase(it);
    ClientResponse r = p->transfer.finish(rc);
    // Resumed from the loop, not from inside curl's call stack.
    asio::post(io_, [p, r = std::move(r)]() mutable { p->done(std::move(r)); });
  }
}

asio::awaitable<ClientResponse> AsyncClient::request(ClientRequest req, ClientLimits limits) {
  auto p = std::make_shared<Pending>(req, limits);
  if (p->transfer.handle() == nullptr) co_return p->transfer.finish(CURLE_FAILED_INIT);
  CURL* easy = p->transfer.handle();
  // Added before this coroutine suspends: curl moves only from the loop's
  // socket and timer callbacks (add_handle merely sets its timer), so
  // `done` is set below before anything can complete.
  pending_[easy] = p;
  if (curl_multi_add_handle(static_cast<CURLM*>(multi_), easy) != CURLM_OK) {
    pending_.erase(easy);
    ClientResponse r;
    r.error = "curl_multi_add_handle failed";
    co_return r;
  }
  // The initiation captures a plain pointer, not the shared_ptr: GCC 12
  // destroys some temporaries of a co_await expression twice, and a
  // shared_ptr among them is released once too often (ASan caught it).
  // `p`, in this frame, keeps the Pending alive until it completes.
  Pending* raw = p.get();
  ClientResponse r =
      co_await asio::async_initiate<decltype(asio::use_awaitable), void(ClientResponse)>(
          [raw](auto handler) {
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            // A completion handler is called once, as an rvalue: moved out
            // of the shared holder first (the awaitable's handler owns the
            // coroutine's thread of execution).
            raw->done = [h](ClientResponse response) {
              auto handler = std::move(*h);
              std::move(handler)(std::move(response));
            };
          },
          asio::use_awaitable);
  co_return r;
}

}  // namespace tern::http
