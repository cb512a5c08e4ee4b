// The client's host names as Postfix hands them to milters (Postfix
// MILTER_README, "Sendmail macro emulation"; smtpd_milter.c):
//
//   {client_name}     the verified name: the PTR name whose forward lookup
//                     gives back the client's address; "unknown" when the
//                     address -> name lookup or the name -> address
//                     verification fails (a temporary failure included)
//   {client_ptr}      the PTR name, unverified; "unknown" when the
//                     address -> name lookup fails
//   {client_resolve}  OK, FORGED (PTR name does not map back), TEMP (a
//                     lookup failed temporarily), FAIL (no PTR name)
//   _                 "{client_ptr} [{client_addr}]", plus " (may be
//                     forged)" when the two names differ (smtpd_milter.c)
//
// No I/O: the lookups are made by MilterHooks (server/milter_hooks.h) and
// their answers handed in. Pure functions; thread-compatible.
#pragma once

#include <string>
#include <string_view>

#include "dns/lookup.h"

namespace tern::milter {

struct ClientNames {
  std::string name = "unknown";
  std::string ptr = "unknown";
  std::string resolve = "FAIL";
};

// From the PTR answer for `client_ip` (null: no answer in time) and the
// forward answer (A for an IPv4 client, AAAA for IPv6) for the first PTR
// name (null: not asked, or no answer in time). A PTR name that is not a
// plausible host name (RFC 1123 2.1 letters, digits, '-', '.') counts as
// none, as Postfix's valid_hostname() check does.
ClientNames client_names(std::string_view client_ip, const NameResult* ptr,
                         const AddressResult* forward);

// The `_` macro.
std::string client_host_macro(const ClientNames& n, std::string_view client_ip);

}  // namespace tern::milter
