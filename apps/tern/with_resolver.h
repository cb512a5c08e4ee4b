// The resolver of the subcommands that ask DNS (`tern resolve`, `spf
// check`, `dkim verify`, `dmarc lookup|evaluate`, `check`): the [dns]
// section's forwarders and timeout, on a one-thread io_context that runs
// the command's work to completion.
#pragma once

#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <cstdio>
#include <exception>
#include <utility>

#include "config/config.h"
#include "dns/resolver.h"

namespace tern {

// [dns] forward and timeout; the rest as ResolverOptions defaults them
// (no trust anchor: these commands do not validate DNSSEC).
inline ResolverOptions cli_resolver_options(const Config& config) {
  ResolverOptions options;
  options.forwarders = config.dns.forward;
  options.timeout = config.dns.timeout;
  return options;
}

// Runs work(dns), an asio::awaitable<T> of a Resolver made from `options`,
// to completion and returns its value (`initial` if it never completed).
// A failure to set the resolver up, or an exception out of the work, is
// printed as "tern: <what>" and ends the command with exit status 2
// (CLI::RuntimeError(2)), as every DNS subcommand does.
template <typename T, typename Work>
T run_with_resolver(const ResolverOptions& options, Work work, T initial = T{}) {
  asio::io_context io(1);
  T out = std::move(initial);
  try {
    Resolver dns(io, options);
    asio::co_spawn(io, work(dns), [&out](std::exception_ptr e, T v) {
      if (e) std::rethrow_exception(e);
      out = std::move(v);
    });
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tern: %s\n", e.what());
    throw CLI::RuntimeError(2);
  }
  return out;
}

}  // namespace tern
