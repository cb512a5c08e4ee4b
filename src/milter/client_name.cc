#include "milter/client_name.h"

#include <asio/ip/address.hpp>
#include <optional>

#include "core/command.h"
#include "core/domain.h"

namespace tern::milter {

namespace {

// The address as the forward answer would hold it: an IPv4-mapped IPv6
// client ("::ffff:192.0.2.1") is the IPv4 one.
std::optional<asio::ip::address> client_address(std::string_view ip) {
  std::error_code ec;
  asio::ip::address a = asio::ip::make_address(std::string(ip), ec);
  if (ec) return std::nullopt;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

}  // namespace

ClientNames client_names(std::string_view client_ip, const NameResult* ptr,
                         const AddressResult* forward) {
  ClientNames n;
  if (!ptr || ptr->status == DnsStatus::kTempFail) {
    n.resolve = "TEMP";
    return n;
  }
  if (!ptr->ok() || ptr->records.empty()) return n;  // FAIL: no PTR name
  std::string name = ptr->records.front();
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (!valid_domain_name(name, DomainRules{1, false})) return n;  // FAIL, as Postfix
  n.ptr = name;
  std::optional<asio::ip::address> want = client_address(client_ip);
  if (!forward || forward->status == DnsStatus::kTempFail) {
    n.resolve = "TEMP";
    return n;
  }
  for (const asio::ip::address& a : forward->records) {
    if (want && a == *want) {
      n.name = name;
      n.resolve = "OK";
      return n;
    }
  }
  n.resolve = "FORGED";
  return n;
}

std::string client_host_macro(const ClientNames& n, std::string_view client_ip) {
  std::string out = n.ptr + " [" + std::string(client_ip) + "]";
  if (!iequals(n.name, n.ptr)) out += " (may be forged)";
  return out;
}

}  // namespace tern::milter
