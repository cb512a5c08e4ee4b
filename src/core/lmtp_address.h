// Where an LMTP server listens, as the config writes it (docs/config.md,
// [delivery]):
//
//   "unix:/run/dovecot/lmtp"   a Unix stream socket (an absolute path)
//   "tcp:127.0.0.1:24"         TCP to an IP address and port
//   "tcp:[::1]:24"             the same for IPv6
//
// Only IP literals for TCP: the mailbox server is ours, and a name would
// make local delivery wait on DNS. No I/O. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern {

struct LmtpAddress {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;  // kUnix
  std::string ip;    // kTcp: the literal without brackets
  uint16_t port = 0;

  // The canonical text: "unix:/path", "tcp:1.2.3.4:24", "tcp:[::1]:24".
  std::string str() const;
};

// The address, or nullopt with *error saying why (for the config's message).
std::optional<LmtpAddress> parse_lmtp_address(std::string_view text, std::string* error);

}  // namespace tern
