#include "server/listeners.h"

#include <unistd.h>

#include <asio.hpp>
#include <stdexcept>

namespace tern {

BoundListener::~BoundListener() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<BoundListener> bind_listeners(const std::vector<ListenerConfig>& listeners) {
  asio::io_context io;  // only to make the sockets; they leave it released
  std::vector<BoundListener> out;
  for (const ListenerConfig& l : listeners) {
    asio::ip::tcp::acceptor acc(io);
    asio::ip::tcp::endpoint ep;
    try {
      // Empty host: dual-stack "any".
      ep = l.host.empty() ? asio::ip::tcp::endpoint(asio::ip::tcp::v6(), l.port)
                          : asio::ip::tcp::endpoint(asio::ip::make_address(l.host), l.port);
      acc.open(ep.protocol());
      acc.set_option(asio::ip::tcp::acceptor::reuse_address(true));
      if (ep.address().is_v6()) acc.set_option(asio::ip::v6_only(!l.host.empty()));
      acc.bind(ep);  // listen() is the Server's, once it is ready to serve
    } catch (const std::system_error& e) {
      std::string hint;
      if (e.code() == std::errc::permission_denied && l.port < 1024 && ::geteuid() != 0) {
        hint =
            " (ports below 1024 need root, which tern then drops, or CAP_NET_BIND_SERVICE, "
            "e.g. AmbientCapabilities=CAP_NET_BIND_SERVICE in a systemd unit)";
      }
      throw std::runtime_error("listener " + std::string(listener_kind_name(l.kind)) + " " +
                               l.address + ": " + e.code().message() + hint);
    }
    const bool v6 = ep.address().is_v6();
    out.emplace_back(l, acc.release(), v6);
  }
  return out;
}

}  // namespace tern
