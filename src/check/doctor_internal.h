// What the checks of doctor.cc (MX, hosts, PTR) and doctor_policy.cc (SPF,
// DKIM, DMARC) share while one run_checks() goes on. Internal to src/check.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "check/doctor.h"
#include "dns/lookup.h"

namespace tern::check::internal {

struct State {
  DnsLookup& dns;
  std::string domain;  // lower-case, no trailing dot
  DoctorOptions options;
  std::vector<Finding> findings;
  // The MX hosts (no null MX), in preference order; the domain itself
  // (preference 10) when it has no MX but an address (implicit MX).
  std::vector<MxRecord> mx_hosts;
  bool our_host_is_mx = false;  // options.hostname is one of mx_hosts
  // The addresses of this server (options.hostname), for the SPF check.
  std::vector<asio::ip::address> ours;

  // What the checks learnt that the bulk sender section (doctor_bulk.cc)
  // sums up; counted over this server's own addresses.
  struct Bulk {
    int spf_checked = 0, spf_passed = 0;    // check_host() for each address
    int ptr_checked = 0, ptr_matching = 0;  // FCrDNS and the PTR is hostname
    bool dkim_signing_ok = false;           // a signing key of DOMAIN is published as is
    std::string dmarc_policy;               // of the one parsable record, or ""
  } bulk;

  Finding& add(Level level, std::string topic, std::string summary);
};

// The name mail for the domain should go to: options.hostname, or
// "mail.<domain>" when it is unset.
std::string mail_host(const State& s);

// A zone-file TXT line: `name. IN TXT "text"`, the text cut into strings of
// at most 255 octets (RFC 1035 3.3) with '"' and '\' escaped.
std::string txt_line(std::string_view name, std::string_view text);

// The SPF record to suggest: "v=spf1 mx -all" when this server is an MX
// host of the domain (or nothing is known of it), else its addresses as
// ip4:/ip6: terms.
std::string spf_suggestion(const State& s);

bool same_name(std::string_view a, std::string_view b);

asio::awaitable<void> check_spf(State& s);
asio::awaitable<void> check_dkim(State& s);
asio::awaitable<void> check_dmarc(State& s);
asio::awaitable<void> check_sts(State& s);
asio::awaitable<void> check_tlsrpt(State& s);
asio::awaitable<void> check_dane(State& s);
// The "bulk" section (DoctorOptions::bulk): from what the checks above found.
void check_bulk(State& s);

}  // namespace tern::check::internal
