// Addresses are compared in one 128-bit space: IPv4 a.b.c.d is stored as
// the IPv4-mapped IPv6 address ::ffff:a.b.c.d (RFC 4291 2.5.5.2) and an
// IPv4 prefix /n becomes /(96+n). inet_pton is pure parsing, no I/O.
#include "core/cidr.h"

#include <arpa/inet.h>

#include <string>

namespace tern {
namespace {

constexpr std::array<unsigned char, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Parses an IPv4 or IPv6 literal into the 128-bit space; *is_v4 says which.
// A zone ("fe80::1%eth0") is ignored: the same address on any interface.
bool parse_ip(std::string_view s, std::array<unsigned char, 16>* out, bool* is_v4) {
  if (s.empty() || s.size() > 64) return false;
  if (const size_t pct = s.find('%'); pct != std::string_view::npos) {
    s = s.substr(0, pct);
  }
  const std::string z(s);  // inet_pton wants a NUL-terminated string
  if (z.find('\0') != std::string::npos) return false;
  unsigned char v4[4];
  if (inet_pton(AF_INET, z.c_str(), v4) == 1) {
    out->fill(0);
    for (size_t i = 0; i < kMappedPrefix.size(); ++i) (*out)[i] = kMappedPrefix[i];
    for (size_t i = 0; i < 4; ++i) (*out)[12 + i] = v4[i];
    *is_v4 = true;
    return true;
  }
  if (inet_pton(AF_INET6, z.c_str(), out->data()) == 1) {
    *is_v4 = false;
    return true;
  }
  return false;
}

// True if the first `bits` bits of a and b are equal.
bool same_prefix(const std::array<unsigned char, 16>& a, const std::array<unsigned char, 16>& b,
                 int bits) {
  int i = 0;
  for (; bits >= 8; bits -= 8, ++i) {
    if (a[i] != b[i]) return false;
  }
  if (bits == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xff << (8 - bits));
  return (a[i] & mask) == (b[i] & mask);
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view s) {
  std::string_view ip = s;
  int prefix = -1;
  if (const size_t slash = s.find('/'); slash != std::string_view::npos) {
    ip = s.substr(0, slash);
    std::string_view digits = s.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + (c - '0');
    }
  }
  if (ip.find('%') != std::string_view::npos) return std::nullopt;
  Cidr c;
  bool is_v4 = false;
  if (!parse_ip(ip, &c.addr, &is_v4)) return std::nullopt;
  if (prefix < 0) {
    c.prefix = 128;
  } else if (is_v4) {
    if (prefix > 32) return std::nullopt;
    c.prefix = 96 + prefix;
  } else {
    if (prefix > 128) return std::nullopt;
    c.prefix = prefix;
  }
  // Host bits are cleared: "192.0.2.1/24" is the network 192.0.2.0/24.
  for (int bit = c.prefix; bit < 128; ++bit) {
    c.addr[bit / 8] &= static_cast<unsigned char>(~(0x80 >> (bit % 8)));
  }
  return c;
}

bool Cidr::contains(std::string_view ip) const {
  std::array<unsigned char, 16> a{};
  bool is_v4 = false;
  if (!parse_ip(ip, &a, &is_v4)) return false;
  return same_prefix(addr, a, prefix);
}

bool is_loopback_ip(std::string_view ip) {
  static const Cidr kV4 = *Cidr::parse("127.0.0.0/8");
  static const Cidr kV6 = *Cidr::parse("::1");
  return kV4.contains(ip) || kV6.contains(ip);
}

}  // namespace tern
