#include "core/lmtp_address.h"

#include <arpa/inet.h>
#include <sys/un.h>

namespace tern {

std::string LmtpAddress::str() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  const bool v6 = ip.find(':') != std::string::npos;
  return "tcp:" + (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

std::optional<LmtpAddress> parse_lmtp_address(std::string_view text, std::string* error) {
  LmtpAddress a;
  if (text.starts_with("unix:")) {
    a.kind = LmtpAddress::Kind::kUnix;
    a.path = std::string(text.substr(5));
    if (a.path.empty() || a.path.front() != '/') {
      *error = "a unix socket needs an absolute path (\"unix:/run/dovecot/lmtp\")";
      return std::nullopt;
    }
    // sockaddr_un holds the path with its terminating NUL.
    if (a.path.size() >= sizeof(sockaddr_un{}.sun_path) || a.path.find('\0') != std::string::npos) {
      *error = "the socket path is too long or not a path";
      return std::nullopt;
    }
    return a;
  }
  if (!text.starts_with("tcp:")) {
    *error = "must start with \"unix:\" or \"tcp:\"";
    return std::nullopt;
  }
  a.kind = LmtpAddress::Kind::kTcp;
  std::string_view rest = text.substr(4);
  std::string_view host;
  std::string_view port;
  if (rest.starts_with("[")) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos || rest.substr(close + 1).substr(0, 1) != ":") {
      *error = "expected \"tcp:[IPv6]:PORT\"";
      return std::nullopt;
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      *error = "expected \"tcp:IP:PORT\"";
      return std::nullopt;
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      *error = "an IPv6 address goes in brackets: \"tcp:[::1]:24\"";
      return std::nullopt;
    }
  }
  a.ip = std::string(host);
  unsigned char buf[16];
  const bool v6 = a.ip.find(':') != std::string::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, a.ip.c_str(), buf) != 1) {
    *error = "'" + a.ip + "' is not an IP address (LMTP over TCP takes a literal)";
    return std::nullopt;
  }
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || port.size() > 5) {
      value = 0;
      break;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value < 1 || value > 65535) {
    *error = "has a bad or missing port";
    return std::nullopt;
  }
  a.port = static_cast<uint16_t>(value);
  return a;
}

}  // namespace tern
