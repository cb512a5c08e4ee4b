#include "server/relay_settings.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "client/tls_client.h"

namespace tern {

RelaySettings relay_settings(const Config& config,
                             const std::vector<asio::ip::address>& interface_addresses) {
  const RelayConfig& r = config.relay;
  RelaySettings s;
  s.helo_name = config.hostname.empty() ? "localhost" : config.hostname;
  s.self.hostname = config.hostname;
  for (const ListenerConfig& l : config.listeners) {
    if (l.port != r.port) continue;  // another port: not where MX traffic for us would land
    if (l.host.empty()) {
      s.self.any_loopback = true;
      s.self.addresses.insert(s.self.addresses.end(), interface_addresses.begin(),
                              interface_addresses.end());
    } else {
      std::error_code ec;
      const asio::ip::address a = asio::ip::make_address(l.host, ec);
      if (!ec) s.self.addresses.push_back(a);
    }
  }
  s.port = r.port;
  s.connect_timeout = r.connect_timeout;
  s.timeouts.greeting = s.timeouts.command = s.timeouts.mail = s.timeouts.rcpt =
      s.timeouts.data_init = r.command_timeout;
  s.timeouts.data_block = s.timeouts.data_end = r.data_timeout;
  s.max_messages_per_connection = std::max<size_t>(r.max_messages_per_connection, 1);
  s.trace_tls = r.trace_tls;
  s.mx_tls = make_client_tls_context(ClientTlsOptions{});
  // DANE where published (docs/tls.md); without validation no answer is
  // secure, so "may" says the same more plainly.
  s.default_tls_level = config.dns.dnssec ? TlsPolicyLevel::kDane : TlsPolicyLevel::kMay;
  s.record_tls_rpt = config.tls_rpt.enabled;
  for (const TlsPolicyConfig& p : config.tls_policies) {
    TlsPolicyEntry e;
    e.domain = p.domain;
    e.next_hop_host = p.next_hop_host;
    e.next_hop_port = p.next_hop_port;
    e.level = parse_tls_policy_level(p.level).value_or(TlsPolicyLevel::kMay);  // checked at load
    e.match = p.match;
    s.tls_policies.push_back(std::move(e));
  }
  if (!r.smarthost.empty()) {
    s.smarthost = r.smarthost_host;
    s.smarthost_port = r.smarthost_port;
    s.smarthost_implicit_tls = r.security == RelayConfig::Security::kTls;
    if (!r.user.empty()) {
      Credentials c;
      c.user = r.user;
      c.password = r.password_file.empty() ? r.password : read_password_file(r.password_file);
      if (c.password.empty())
        throw std::runtime_error(
            "relay.user is set, but neither relay.password nor "
            "relay.password_file");
      s.auth = std::move(c);
    }
    try {
      s.smarthost_tls = make_client_tls_context(ClientTlsOptions{.ca_file = r.ca_file});
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("relay.ca_file: ") + e.what());
    }
  }
  return s;
}

}  // namespace tern
