#include "screen/early_checks.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/ascii.h"
#include "core/cidr.h"
#include "core/command.h"
#include "core/domain.h"

namespace tern {

namespace {

// A name as it may appear in a reply: printable ASCII, bounded.
std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 100)) out += (c > 0x20 && c < 0x7f) ? c : '?';
  return out;
}

bool same_address(std::string_view literal, std::string_view client_ip) {
  std::optional<Cidr> a = Cidr::parse(literal);
  std::optional<Cidr> b = Cidr::parse(client_ip);
  return a && b && a->prefix == 128 && b->prefix == 128 && a->addr == b->addr;
}

}  // namespace

const char* reverse_dns_name(ReverseDns r) {
  switch (r) {
    case ReverseDns::kNotChecked:
      return "not_checked";
    case ReverseDns::kFound:
      return "found";
    case ReverseDns::kMissing:
      return "missing";
    case ReverseDns::kTempFail:
      return "temperror";
  }
  return "not_checked";
}

bool helo_acceptable(std::string_view helo, std::string_view client_ip) {
  if (helo.size() >= 2 && helo.front() == '[' && helo.back() == ']') {
    std::string_view lit = helo.substr(1, helo.size() - 2);
    if (lit.size() > 5 && iequals(lit.substr(0, 5), "IPv6:")) {
      lit.remove_prefix(5);
      if (lit.find(':') == std::string_view::npos) return false;
    } else if (lit.find(':') != std::string_view::npos) {
      return false;  // RFC 5321 4.1.3: IPv6 literals carry the "IPv6:" tag
    }
    return same_address(lit, client_ip);
  }
  std::string_view name = helo;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (!valid_domain_name(name, DomainRules{2, false})) return false;
  // A bare IPv4 address ("192.0.2.1") is a valid-looking name with a
  // numeric top label: not a domain.
  std::string_view tld = name.substr(name.rfind('.') + 1);
  return !std::all_of(tld.begin(), tld.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<EarlyRefusal> early_check_mail(const EarlyCheckOptions& options,
                                             const EarlyCheckInput& in) {
  if (options.helo_reject && !helo_acceptable(in.helo, in.client_ip))
    return EarlyRefusal{
        "helo", Reply(550, "5.7.1",
                      fmt::format("HELO/EHLO name \"{}\" rejected: not a fully-qualified domain "
                                  "name or your address literal",
                                  shown(in.helo)))};
  if (options.reverse_dns == EarlyCheckOptions::Rdns::kReject) {
    if (in.rdns == ReverseDns::kMissing)
      return EarlyRefusal{
          "reverse_dns",
          Reply(550, "5.7.25",
                fmt::format("Reverse DNS required: no PTR record for [{}]", shown(in.client_ip)))};
    if (in.rdns == ReverseDns::kTempFail)
      return EarlyRefusal{"reverse_dns",
                          Reply(450, "4.7.25",
                                fmt::format("Reverse DNS lookup for [{}] failed, try again later",
                                            shown(in.client_ip)))};
  }
  if (options.own_domain_reject && in.from_local_domain)
    return EarlyRefusal{
        "own_domain_sender",
        Reply(550, "5.7.1",
              fmt::format("<{}>: Sender address rejected: a local domain; authenticate to "
                          "send as it",
                          shown(in.from)))};
  return std::nullopt;
}

}  // namespace tern
