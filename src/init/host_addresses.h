// The addresses of this machine's interfaces (getifaddrs(3)), for the A and
// AAAA hint of `tern init` (records.h filters them).
//
// Thread safety: reads the kernel's interface list only.
#pragma once

#include <asio/ip/address.hpp>
#include <vector>

namespace tern::init {

// Every IPv4 and IPv6 address of every interface that is up, loopback
// included (records.h decides what is worth publishing). Empty when the
// list cannot be read.
std::vector<asio::ip::address> host_addresses();

}  // namespace tern::init
