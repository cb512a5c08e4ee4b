// The two runs of `tern bench`, over the client engine
// (client/connection.h): asio coroutines, one per session, on one event
// loop (or --threads loops, sessions spread round-robin).
//
// Load run: each session claims the next message number from a shared
// counter, connects (greeting, EHLO, STARTTLS when asked), then sends one
// message at a time on that connection: MAIL, RCPT..., DATA and the body
// (one pipelined group when the server offers PIPELINING and --pipelining
// is on), until --per-connection messages went over it or none are left;
// then QUIT, and again. A message's latency runs from the moment its MAIL
// is handed to the connection (which is idle then) to the reply after its
// data. The run ends when every message is done, or at --max-seconds (or
// SIGINT/SIGTERM): no new message starts and open connections are aborted
// (their messages count as "aborted"). Every wait has the --timeout
// deadline, so a run ends by max_seconds + timeout.
//
// Idle run: opens --idle sessions, at most --sessions connection attempts
// at once; each waits for its 220 greeting and says EHLO. Once all are up
// (or have failed) it writes "tern bench: holding N sessions (B banners)"
// to stderr, holds them for --hold seconds (or until SIGINT/SIGTERM), then
// says QUIT on each.
//
// Both are blocking calls that own their threads and event loops.
#pragma once

#include <cstdint>

#include "bench/options.h"
#include "bench/report.h"

namespace tern::bench {

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit
// now in force.
uint64_t raise_fd_limit();

// REQUIRES: finish_bench_options(&o) returned "".
LoadReport run_load(const BenchOptions& o, uint64_t fd_limit);
IdleReport run_idle(const BenchOptions& o, uint64_t fd_limit);

}  // namespace tern::bench
