// DNS wire format (RFC 1035 3.1, 3.3, 3.4; RFC 3596 2.2) decoded into the
// record types of dns/lookup.h: the RDATA of each record as libunbound
// hands it over (uncompressed, network order). Also the names PTR queries
// use. Pure functions, no I/O.
#pragma once

#include <asio/ip/address.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "dns/lookup.h"

namespace tern {

// Reads an uncompressed domain name (a sequence of length-prefixed labels
// ending with the empty label) from `data` at *pos and advances *pos past
// it. The name comes back in presentation form (RFC 1035 5.1), lower-cased,
// without the trailing dot, "." for the root. Octets other than letters,
// digits, '-' and '_' are written "\DDD" (a '.' inside a label "\."), so
// an odd name can be printed safely and never passes for a host name.
// nullopt when the data is truncated, holds a compression pointer or an
// unknown label type, or the name exceeds 255 octets.
std::optional<std::string> read_name(std::string_view data, size_t* pos);

// Each parser takes one record's whole RDATA and returns nullopt when it is
// malformed: too short, too long, or trailing octets.
std::optional<MxRecord> parse_mx(std::string_view rdata);             // preference, exchange
std::optional<TxtRecord> parse_txt(std::string_view rdata);           // >= 1 <length><octets>
std::optional<asio::ip::address> parse_a(std::string_view rdata);     // 4 octets
std::optional<asio::ip::address> parse_aaaa(std::string_view rdata);  // 16 octets
std::optional<std::string> parse_ptr(std::string_view rdata);         // one name
// RFC 6698 2.1: usage, selector, matching type (one octet each), then the
// association data (at least one octet). Any values are accepted here:
// which are usable is DANE's business (relay/dane.h).
std::optional<TlsaRecord> parse_tlsa(std::string_view rdata);

// The name to query for the PTR records of `address`: "4.3.2.1.in-addr.arpa"
// for 1.2.3.4 (RFC 1035 3.5), 32 nibbles then "ip6.arpa" for IPv6 (RFC 3596
// 2.5). An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is looked up as IPv4.
std::string reverse_name(const asio::ip::address& address);

// ASCII lower-case, one trailing dot removed (the root "." stays ".").
std::string normalize_name(std::string_view name);

}  // namespace tern
