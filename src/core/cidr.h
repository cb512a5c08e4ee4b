// CIDR network matching for trusted_networks ("192.0.2.0/24", "2001:db8::/32",
// or a single address). No I/O.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace tern {

struct Cidr {
  std::array<unsigned char, 16> addr{};  // IPv4 stored as IPv4-mapped IPv6
  int prefix = 128;                      // in the 128-bit space

  static std::optional<Cidr> parse(std::string_view s);
  // `ip` textual IPv4 or IPv6 (IPv4-mapped "::ffff:1.2.3.4" matches IPv4 nets).
  bool contains(std::string_view ip) const;
};

// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104.
bool is_loopback_ip(std::string_view ip);

}  // namespace tern
