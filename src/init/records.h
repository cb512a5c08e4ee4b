// What `tern init` prints after writing the config: every DNS record to
// publish for the domain, in zone-file syntax, each under a comment saying
// why, then what to run next.
//
// Records (the MX host is the hostname):
//   MX        DOMAIN. IN MX 10 HOSTNAME.                       RFC 5321 5.1
//   A/AAAA    HOSTNAME. IN A|AAAA ADDRESS, one per address of this machine
//             that the internet could reach (addresses()), else placeholders
//   SPF       DOMAIN. IN TXT "v=spf1 mx -all"                  RFC 7208
//   DKIM      the zone line of the key (dkim::dns_txt_record)   RFC 6376 3.6.2
//   DMARC     _dmarc.DOMAIN. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@DOMAIN"
//             with the way on to quarantine and reject          RFC 7489 6.3
//   PTR       REVERSE. IN PTR HOSTNAME., to ask the address's owner (the
//             hosting provider) for; a placeholder without an address
//   MTA-STS   mta-sts.DOMAIN. IN CNAME HOSTNAME. and _mta-sts.DOMAIN. IN TXT
//             "v=STSv1; id=..." for the policy [mta_sts] serves by default
//             (sts/publish.h)                                  RFC 8461 3
//   TLS-RPT (RFC 8460): a comment that it comes later.
//
// No I/O: the addresses and the DKIM line are inputs. Thread safety: pure.
#pragma once

#include <asio/ip/address.hpp>
#include <string>
#include <vector>

namespace tern::init {

struct RecordInputs {
  std::string domain;                        // lower-case
  std::string hostname;                      // lower-case
  std::vector<asio::ip::address> addresses;  // this machine's; filtered by public_addresses
  std::string dkim_record;                   // dkim::dns_txt_record(...)
  std::string dkim_key_path;                 // where its private half is, for the comment
};

// The addresses worth publishing: not loopback, link-local, multicast or
// unspecified (IPv4 and IPv6), duplicates removed, order kept. Private
// ranges (10/8, 192.168/16, fc00::/7) are kept, but marked by
// render_records as probably behind NAT.
std::vector<asio::ip::address> public_addresses(const std::vector<asio::ip::address>& all);

// True for RFC 1918 / RFC 6598 (100.64/10) IPv4 and RFC 4193 (fc00::/7) IPv6.
bool is_private(const asio::ip::address& a);

// The records above, one block per kind, each line a valid zone-file line
// or a comment starting with ';'.
std::string render_records(const RecordInputs& in);

struct NextSteps {
  std::string domain;
  std::string hostname;
  std::string config_path;
  std::string data_dir;
  std::string run_as;               // the user the server runs as
  bool self_signed = true;          // no certificate configured
  bool default_config_path = true;  // the path the service reads (systemctl applies)
};

// "Next:" and numbered steps: publish, add a user and the dmarc-reports
// alias, start (systemctl or tern serve --config), `tern check DOMAIN`.
std::string render_next_steps(const NextSteps& n);

}  // namespace tern::init
