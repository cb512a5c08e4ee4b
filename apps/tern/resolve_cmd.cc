// `tern resolve mx|a|aaaa|txt|ptr NAME [--config FILE]`: asks the resolver
// outbound mail uses (dns/resolver.h, configured by [dns]) and prints what
// it sees, one record a line, as "NAME TTL TYPE DATA" with the canonical
// name (after CNAMEs):
//
//   example.org 300 MX 10 mx1.example.org
//   example.org 300 TXT "v=spf1 " "-all"
//
// For mx, the route follows (dns/mx_route.h): the hosts in the order they
// would be tried, each with its addresses in order, or the reply a message
// would get:
//
//   route mx1.example.org (MX 10): 2001:db8::1 192.0.2.1
//   route example.org (implicit MX): 192.0.2.7
//   route failed: 556 5.1.10 Recipient address has null MX (example.org)
//
// For ptr, NAME is an IP address. Problems go to stderr.
// Exit status: 0 found (mx: a usable route), 1 not found or permanent
// failure (NXDOMAIN, no record, null MX), 2 configuration error or an
// unusable TYPE or NAME, 75 temporary failure (EX_TEMPFAIL: SERVFAIL,
// timeout).
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "config/values.h"
#include "dns/mx_route.h"
#include "dns/resolver.h"
#include "with_resolver.h"

namespace tern {
namespace {

constexpr int kExitFound = 0;
constexpr int kExitNotFound = 1;
constexpr int kExitUsage = 2;
constexpr int kExitTempFail = 75;  // sysexits.h EX_TEMPFAIL

struct ResolveOptions {
  std::string config;
  std::string type;
  std::string name;
};

int exit_code(DnsStatus s) {
  switch (s) {
    case DnsStatus::kOk:
      return kExitFound;
    case DnsStatus::kNoData:
    case DnsStatus::kNxDomain:
      return kExitNotFound;
    case DnsStatus::kTempFail:
      return kExitTempFail;
  }
  return kExitTempFail;
}

int exit_code(RouteStatus s) {
  switch (s) {
    case RouteStatus::kOk:
      return kExitFound;
    case RouteStatus::kFail:
    case RouteStatus::kNullMx:
      return kExitNotFound;
    case RouteStatus::kRetry:
      return kExitTempFail;
  }
  return kExitTempFail;
}

// A character-string in presentation form (RFC 1035 5.1).
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\{:03d}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string text(const MxRecord& r) { return fmt::format("{} {}", r.preference, r.host); }
std::string text(const asio::ip::address& a) { return a.to_string(); }
std::string text(const std::string& name) { return name; }
std::string text(const TxtRecord& t) {
  std::string out;
  for (const std::string& s : t) out += (out.empty() ? "" : " ") + quoted(s);
  return out;
}

// Prints the records; with `report`, a failure also goes to stderr.
// Returns the exit code.
template <typename T>
int print(const std::string& name, const char* type, const DnsResult<T>& r, bool report = true) {
  for (const T& record : r.records) {
    std::printf("%s %u %s %s\n", r.canonical_name.c_str(), r.ttl, type, text(record).c_str());
  }
  if (report && !r.ok()) {
    std::fprintf(stderr, "tern: %s %s: %s\n", name.c_str(), type, r.error.c_str());
  }
  return exit_code(r.status);
}

int print(const Route& route) {
  for (const RouteHost& h : route.hosts) {
    std::string addresses;
    for (const auto& a : h.addresses) addresses += " " + a.to_string();
    const std::string via = route.implicit_mx ? "implicit MX" : fmt::format("MX {}", h.preference);
    std::printf("route %s (%s):%s\n", h.name.c_str(), via.c_str(), addresses.c_str());
  }
  if (route.status != RouteStatus::kOk) {
    std::printf("route failed: %s\n", route.reply.brief().c_str());
    std::fprintf(stderr, "tern: %s: %s\n", route.domain.c_str(), route.reply.brief().c_str());
  }
  return exit_code(route.status);
}

asio::awaitable<int> run_lookup(Resolver& dns, std::string type, std::string name) {
  if (type == "a") co_return print(name, "A", co_await dns.a(name));
  if (type == "aaaa") co_return print(name, "AAAA", co_await dns.aaaa(name));
  if (type == "txt") co_return print(name, "TXT", co_await dns.txt(name));
  if (type == "ptr") {
    std::error_code ec;
    const auto address = asio::ip::make_address(name, ec);
    if (ec) {
      std::fprintf(stderr, "tern: ptr wants an IP address, not '%s'\n", name.c_str());
      co_return kExitUsage;
    }
    co_return print(name, "PTR", co_await dns.ptr(address));
  }
  // mx: the records, then the route.
  if (std::optional<Route> direct = route_without_dns(name)) co_return print(*direct);
  MxResult mx = co_await dns.mx(name);
  print(name, "MX", mx, /*report=*/false);  // the route explains failures
  co_return print(
      co_await resolve_route_from_mx(dns, name, std::move(mx), system_random(), RouteOptions{}));
}

void run_resolve(const ResolveOptions& o) {
  const std::string type = ascii_lower(o.type);
  if (type != "mx" && type != "a" && type != "aaaa" && type != "txt" && type != "ptr") {
    std::fprintf(stderr, "tern: unknown record type '%s'; use mx, a, aaaa, txt or ptr\n",
                 o.type.c_str());
    throw CLI::RuntimeError(kExitUsage);
  }
  const Config config = load_config_or_exit(o.config);
  const int rc = run_with_resolver<int>(
      cli_resolver_options(config), [&](Resolver& dns) { return run_lookup(dns, type, o.name); },
      kExitTempFail);
  std::fflush(stdout);
  if (rc != 0) throw CLI::RuntimeError(rc);
}

}  // namespace

void add_resolve_command(CLI::App& app) {
  auto o = std::make_shared<ResolveOptions>();
  CLI::App* cmd = app.add_subcommand(
      "resolve", "Look up DNS records as outbound mail sees them (for mx: also the route)");
  cmd->add_option("TYPE", o->type, "mx, a, aaaa, txt or ptr")->required();
  cmd->add_option("NAME", o->name, "Domain name (ptr: an IP address)")->required();
  cmd->add_option("-c,--config", o->config, "TOML config file (default: built-in)");
  cmd->footer(
      "Exit status: 0 found, 1 not found or permanent failure, 2 configuration error, "
      "75 temporary failure.");
  cmd->callback([o] { run_resolve(*o); });
}

}  // namespace tern
