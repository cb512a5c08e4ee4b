#include "http/server.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace tern::http {

namespace {

// A fixed pool with a bounded queue. When both are full the accepting
// thread runs the connection itself: it stops accepting until a slot frees,
// so a flood waits in the kernel's backlog instead of holding one of our
// file descriptors each (httplib's own pool queues without bound).
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(std::size_t threads, std::size_t queued) : max_queued_(queued) {
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }

  void enqueue(std::function<void()> fn) override {
    {
      std::unique_lock lock(mutex_);
      if (jobs_.size() < max_queued_) {
        jobs_.push_back(std::move(fn));
        cond_.notify_one();
        return;
      }
    }
    fn();  // back-pressure: see above
  }

  void shutdown() override {
    {
      std::unique_lock lock(mutex_);
      shutdown_ = true;
    }
    cond_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mutex_);
        cond_.wait(lock, [this] { return shutdown_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // shut down and drained
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }

  std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable cond_;
  std::deque<std::function<void()>> jobs_;
  bool shutdown_ = false;
  std::vector<std::thread> workers_;
};

Request to_request(const httplib::Request& req) {
  return Request{req.method, req.path, req.get_header_value("Host"), req.remote_addr};
}

// httplib matches paths as regular expressions: ours are literal.
std::string literal_pattern(const std::string& path) {
  std::string pattern;
  for (char c : path) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) pattern += '\\';
    pattern += c;
  }
  return pattern;
}

void apply(const Response& from, httplib::Response& to) {
  to.status = from.status;
  to.set_content(from.body, from.content_type.c_str());
}

}  // namespace

struct Server::Impl {
  explicit Impl(const TlsSetup& tls)
      : owned(tls ? std::make_unique<httplib::SSLServer>([&tls](SSL_CTX& ctx) { return tls(&ctx); })
                  : std::make_unique<httplib::Server>()),
        server(*owned) {}
  std::unique_ptr<httplib::Server> owned;
  httplib::Server& server;
  std::thread thread;
  bool bound = false;
};

Server::Server(std::string name, ServerLimits limits, TlsSetup tls)
    : name_(std::move(name)), impl_(std::make_unique<Impl>(tls)) {
  auto& s = impl_->server;
  s.new_task_queue = [limits] { return new BoundedPool(limits.threads, limits.queued); };
  s.set_read_timeout(limits.read_timeout);
  s.set_write_timeout(limits.write_timeout);
  s.set_payload_max_length(limits.max_body);
  s.set_keep_alive_max_count(static_cast<std::size_t>(limits.keep_alive_requests));
  s.set_keep_alive_timeout(limits.read_timeout.count());
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) res.set_content(std::to_string(res.status) + "\n", "text/plain");
  });
}

Server::~Server() { stop(); }

void Server::get(const std::string& path, Handler handler) {
  impl_->server.Get(literal_pattern(path),
                    [h = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
                      apply(h(to_request(req)), res);
                    });
}

void Server::get_prefix(const std::string& prefix, Handler handler) {
  impl_->server.Get(literal_pattern(prefix) + "[^/]+",
                    [h = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
                      apply(h(to_request(req)), res);
                    });
}

std::uint16_t Server::bind(const std::string& host, std::uint16_t port) {
  auto& s = impl_->server;
  if (!s.is_valid()) throw std::runtime_error(name_ + ": the TLS set-up failed");
  int bound = port == 0 ? s.bind_to_any_port(host) : (s.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    throw std::runtime_error(name_ + ": cannot listen on " + host + ":" + std::to_string(port) +
                             " (in use, or a privileged port without root or "
                             "CAP_NET_BIND_SERVICE)");
  }
  impl_->bound = true;
  port_ = static_cast<std::uint16_t>(bound);
  return port_;
}

void Server::start() {
  if (!impl_->bound || impl_->thread.joinable()) return;
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  // cpp-httplib's stop() does nothing until the listening thread has marked
  // itself running, and that thread would then serve forever (stop() right
  // after start() hung the join). Its first step sets the flag, so this is
  // a short wait; bounded anyway.
  for (int i = 0; i < 5000 && !impl_->server.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void Server::stop() {
  if (!impl_) return;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

HostPort parse_listen_address(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    throw std::invalid_argument("\"" + text + "\": expected HOST:PORT, [IPV6]:PORT or :PORT");
  }
  HostPort out;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  out.host = host.empty() ? "0.0.0.0" : host;
  std::string port = text.substr(colon + 1);
  unsigned long value = 0;
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      (value = std::stoul(port)) > 65535) {
    throw std::invalid_argument("\"" + text + "\": the port must be a number from 0 to 65535");
  }
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

}  // namespace tern::http
