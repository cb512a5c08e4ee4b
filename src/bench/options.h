// BenchOptions: what `tern bench` is asked to do, and the command line that
// fills them in. Two modes:
//
//   load (default)  --sessions N concurrent sessions send --messages M in
//                   total, --per-connection K per TCP connection, each
//                   message exactly --size octets; bounded by M and by
//                   --max-seconds.
//   idle (--idle N) N sessions are opened (at most --sessions connection
//                   attempts at once), each waits for its 220 banner and
//                   says EHLO; they are then held for --hold seconds (or
//                   until SIGINT/SIGTERM) and closed with QUIT.
//
// add_bench_options() registers the flags on a CLI11 command;
// finish_bench_options() checks what CLI11 cannot (sizes, ranges, how the
// flags combine) and fills in the derived fields. Pure; no I/O.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace tern::bench {

enum class TlsMode { kNone, kStartTls, kImplicit };

// "none", "starttls", "tls".
const char* tls_mode_name(TlsMode mode);

struct BenchOptions {
  std::string host = "127.0.0.1";  // an IP literal: no name lookups in a benchmark
  uint16_t port = 2525;
  int sessions = 10;         // concurrent sessions (idle mode: connection attempts at once)
  uint64_t messages = 1000;  // in total
  std::string size_text = "1K";
  uint64_t size = 1024;  // octets of each message (header and body, CRLF line ends), exact
  // Messages per TCP connection; 1 = a new connection for every message,
  // 0 = no limit (each session keeps one connection).
  uint64_t per_connection = 0;
  bool pipelining = true;
  std::string pipelining_text = "on";
  TlsMode tls = TlsMode::kNone;
  std::string tls_text = "none";
  bool insecure = false;  // do not check the server's certificate
  std::string from = "sender@bench.local";
  std::string to = "bench@bench.test";
  int rcpts = 1;  // recipients per message: to, then local+2@domain, local+3@domain, ...
  std::string helo = "bench.local";
  // AUTH (PLAIN or LOGIN, as offered) on every connection, after TLS; for
  // a submission port.
  std::string user, password;
  int timeout = 30;       // seconds, every connect, reply and write
  int max_seconds = 300;  // the whole run; then connections are aborted
  int threads = 1;        // event loops, each in its own thread
  bool json = false;      // one JSON object on stdout instead of text
  uint64_t idle = 0;      // > 0: idle mode with this many sessions
  int hold = 30;          // idle mode: seconds to hold the sessions open
};

// Registers every flag on `cmd`, writing into *o (which must outlive the
// parse).
void add_bench_options(CLI::App& cmd, BenchOptions* o);

// After parsing: checks the values and how they combine, and sets the
// derived fields (size, pipelining, tls). Returns "" or the problem, for
// "tern bench: <problem>".
std::string finish_bench_options(BenchOptions* o);

}  // namespace tern::bench
