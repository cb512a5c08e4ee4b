// `tern bench`: a load generator for SMTP servers over tern's client
// engine (src/bench/runner.h says what a run does, docs/PERFORMANCE.md
// how bench/run.sh uses it).
//
//   tern bench --port 2525 --sessions 100 --messages 10000 --size 1K --json
//   tern bench --port 2525 --idle 1000 --hold 30
//
// Exit status: 0 when every message was accepted (idle: every session got
// its banner), 1 otherwise (the report is printed either way), 2 for a bad
// command line.
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "bench/options.h"
#include "bench/runner.h"
#include "commands.h"

namespace tern {

void add_bench_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("bench", "Load generator: messages/s and latency of an SMTP server");
  auto o = std::make_shared<bench::BenchOptions>();
  bench::add_bench_options(*cmd, o.get());
  cmd->callback([o] {
    if (std::string e = bench::finish_bench_options(o.get()); !e.empty()) {
      std::fprintf(stderr, "tern bench: %s\n", e.c_str());
      throw CLI::RuntimeError(2);
    }
    const uint64_t fds = bench::raise_fd_limit();
    std::signal(SIGPIPE, SIG_IGN);
    if (o->idle > 0 && o->idle + 16 > fds) {
      std::fprintf(stderr, "tern bench: %llu sessions need more descriptors than the limit %llu\n",
                   static_cast<unsigned long long>(o->idle), static_cast<unsigned long long>(fds));
    }
    bool all_ok = false;
    try {
      if (o->idle > 0) {
        const bench::IdleReport r = bench::run_idle(*o, fds);
        std::fputs((o->json ? bench::to_json(r) + "\n" : bench::to_text(r)).c_str(), stdout);
        all_ok = r.banners == r.requested;
      } else {
        const bench::LoadReport r = bench::run_load(*o, fds);
        std::fputs((o->json ? bench::to_json(r) + "\n" : bench::to_text(r)).c_str(), stdout);
        all_ok = r.messages_ok == o->messages;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tern bench: %s\n", e.what());
      throw CLI::RuntimeError(1);
    }
    std::fflush(stdout);
    if (!all_ok) throw CLI::RuntimeError(1);
  });
}

}  // namespace tern
