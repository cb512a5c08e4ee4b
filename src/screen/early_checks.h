// Early checks that refuse obvious forgeries before any data is sent:
// a HELO name that is neither a fully-qualified domain name nor the
// client's own address literal, a client without reverse DNS, and a MAIL
// FROM in one of our own domains from a client that neither
// authenticated nor sits in trusted_networks. Asked at MAIL FROM (as
// Postfix's smtpd_delay_reject: the client learns why at a command that
// can carry a refusal, and the log has its sender).
//
// No I/O: the reverse DNS answer is looked up at connect (with the DNSBL
// queries) and handed in. Pure functions; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tern/reply.h"

namespace tern {

// What the PTR lookup of the client's address said.
enum class ReverseDns {
  kNotChecked,  // no lookup was made ([checks] reverse_dns = "off")
  kFound,       // at least one PTR record
  kMissing,     // NXDOMAIN or no PTR record
  kTempFail,    // the lookup failed or timed out
};
const char* reverse_dns_name(ReverseDns r);  // "not_checked", "found", "missing", "temperror"

struct EarlyCheckOptions {
  bool helo_reject = false;  // helo = "reject" ("ignore": off)
  enum class Rdns { kOff, kMark, kReject } reverse_dns = Rdns::kOff;
  bool own_domain_reject = false;  // own_domain_sender = "reject" ("off")
};

// True for a HELO name a mail server may give (RFC 5321 4.1.1.1, 2.3.5):
// a domain name of at least two labels whose last is not all digits, or
// an address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]") that is the
// client's own address.
bool helo_acceptable(std::string_view helo, std::string_view client_ip);

struct EarlyRefusal {
  const char* check;  // "helo", "reverse_dns", "own_domain_sender": the metric label
  Reply reply;
};

struct EarlyCheckInput {
  std::string_view client_ip;
  std::string_view helo;
  std::string_view from;  // the MAIL FROM address, "" for the null path
  bool from_local_domain = false;
  ReverseDns rdns = ReverseDns::kNotChecked;
};

// The first check that refuses this MAIL FROM, in the order above, or
// nullopt. The caller has already exempted authenticated, trusted and
// loopback clients.
//   helo:              550 5.7.1 (RFC 5321 4.1.1.1 asks for a FQDN or literal)
//   reverse_dns:       550 5.7.25, or 450 4.7.25 when the lookup failed
//                      (RFC 7372 3.3: "Reverse DNS validation failed")
//   own_domain_sender: 550 5.7.1 (a local domain's mail comes by submission)
std::optional<EarlyRefusal> early_check_mail(const EarlyCheckOptions& options,
                                             const EarlyCheckInput& in);

}  // namespace tern
