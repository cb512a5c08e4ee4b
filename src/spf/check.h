// SPF evaluation: check_host() of RFC 7208 4, over the abstract DnsLookup
// (dns/lookup.h) so that tests run it against a fake. It fetches and
// parses records (record.h), expands macros (macro.h), follows include
// and redirect, enforces the processing limits of RFC 7208 4.6.4 and, for
// a fail, fetches and expands the explanation (exp=, RFC 7208 6.2).
//
// The server calls check_mail_from()/check_helo() at the first RCPT of a
// transaction on the smtp listener (server/connection.cc, [spf] config).
//
// Thread safety: a check runs on the thread of the DnsLookup it is given
// (Resolver: its io_context thread); checks share no state.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <cstdint>
#include <string>

#include "dns/lookup.h"

namespace tern::spf {

// RFC 7208 2.6. A receiver must decide what each one means for it; like
// DnsStatus, kTempError means "try again later".
enum class Result {
  kNone,       // no SPF record, or the domain is not a usable name
  kNeutral,    // the record says nothing about this client ("?", or no match)
  kPass,       // the client is authorised
  kFail,       // the client is not authorised ("-")
  kSoftFail,   // probably not authorised ("~")
  kTempError,  // a DNS failure: try again later (451 4.7.24 for mail)
  kPermError,  // the published records are broken (syntax, limits, include of nothing)
};

// "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"
// (the words of RFC 7208 and of Received-SPF / Authentication-Results).
const char* result_name(Result r);

// The processing limits of RFC 7208 4.6.4.
struct Limits {
  int dns_mechanisms = 10;  // include, a, mx, ptr, exists and redirect= per check
  int void_lookups = 2;     // lookups answering NXDOMAIN or no records
  int mx_names = 10;        // more MX records than this: permerror
  int ptr_names = 10;       // PTR names beyond this are ignored
};

// The text used for a fail when the record has no usable exp= (an
// explain-string: macros allowed).
inline constexpr const char* kDefaultExplanation =
    "%{i} is not one of %{d}'s designated mail servers";

struct CheckOptions {
  Limits limits;
  std::string receiver;   // %{r}: our host name ("unknown" when empty)
  int64_t timestamp = 0;  // %{t}: now, in seconds since the epoch (the caller's clock)
  std::string default_explanation = kDefaultExplanation;
};

struct CheckResult {
  Result result = Result::kNone;
  // The term that decided, as written in the record ("-all",
  // "ip4:192.0.2.0/24", "include:_spf.example.net"); empty when no
  // mechanism matched (the default neutral) or on an error.
  std::string mechanism;
  // The domain whose record gave the result (after redirect=).
  std::string domain;
  // kFail only: the expanded exp= text, or the default explanation.
  std::string explanation;
  // Why, for kNone, kTempError and kPermError ("more than 10 DNS
  // mechanisms", "SERVFAIL looking up TXT of example.org").
  std::string problem;
  int dns_mechanisms = 0;  // DNS-querying terms evaluated
  int void_lookups = 0;
};

// check_host(<ip>, <domain>, <sender>) of RFC 7208 4. `sender` is the
// identity macros see (local@domain; a bare domain or an empty local part
// gets "postmaster"); `helo` is for %{h}. An IPv4-mapped IPv6 `ip` is
// treated as IPv4. Never throws for DNS problems: they are kTempError.
// REQUIRES: `dns` outlives the returned awaitable.
asio::awaitable<CheckResult> check_host(DnsLookup& dns, asio::ip::address ip, std::string domain,
                                        std::string sender, std::string helo,
                                        CheckOptions options = {});

// The MAIL FROM identity (RFC 7208 2.4): `mail_from` without angle
// brackets; the null path ("") checks postmaster@<helo> instead.
asio::awaitable<CheckResult> check_mail_from(DnsLookup& dns, asio::ip::address ip,
                                             std::string mail_from, std::string helo,
                                             CheckOptions options = {});

// The HELO identity (RFC 7208 2.3): postmaster@<helo>.
asio::awaitable<CheckResult> check_helo(DnsLookup& dns, asio::ip::address ip, std::string helo,
                                        CheckOptions options = {});

}  // namespace tern::spf
