// Listening sockets, bound before the server gives up root (ports below
// 1024 need it) and handed to the Server, which accepts on them as the
// unprivileged user (server/privileges.h).
//
// Thread safety: none needed; used at start-up only.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace tern {

// One bound socket; closes it unless released.
class BoundListener {
 public:
  BoundListener(ListenerConfig config, int fd, bool v6)
      : config_(std::move(config)), fd_(fd), v6_(v6) {}
  BoundListener(BoundListener&& o) noexcept
      : config_(std::move(o.config_)), fd_(o.fd_), v6_(o.v6_) {
    o.fd_ = -1;
  }
  BoundListener& operator=(BoundListener&&) = delete;
  ~BoundListener();

  const ListenerConfig& config() const { return config_; }
  bool v6() const { return v6_; }
  // The descriptor, now the caller's.
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  ListenerConfig config_;
  int fd_;
  bool v6_;
};

// Binds every listener (SO_REUSEADDR; an IPv6 address other than "any" is
// v6-only), without listening yet: until the server is ready, a client's
// connect is refused rather than left waiting, and tests may take an open
// port to mean a ready server. Throws std::runtime_error naming the listener,
// with a hint when a port below 1024 is refused to an ordinary user.
std::vector<BoundListener> bind_listeners(const std::vector<ListenerConfig>& listeners);

}  // namespace tern
