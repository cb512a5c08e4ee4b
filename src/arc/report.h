// What ARC chain validation says in our Authentication-Results field
// (RFC 8617 10.1, 10.2 registered "arc" with the properties
// header.oldest-pass and smtp.remote-ip; RFC 8601 2.7):
//
//   arc=pass (i=2) header.oldest-pass=0 smtp.remote-ip=192.0.2.1
//       arc.chain="lists.example.org:mx.example.net"
//
// arc.chain lists the sealers (AS d=) from the first to the most recent,
// as Gmail and others write it, for people reading the header. fail
// carries the reason.
//
// Pure functions; thread-compatible; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "arc/verifier.h"
#include "authres/header.h"

namespace tern::arc {

authres::MethodResult arc_result(const ChainResult& chain, std::string_view client_ip);

// The trusted sealer that vouches for a message DMARC fails (RFC 8617
// 7.2.1, a local policy): the most recent set whose sealer (AS d=, ASCII
// case ignored) is in `trusted` and whose ARC-Authentication-Results say
// dmarc=pass, in a chain that passes. Empty when there is none.
std::string vouching_sealer(const ChainResult& chain, const std::vector<std::string>& trusted);

}  // namespace tern::arc
