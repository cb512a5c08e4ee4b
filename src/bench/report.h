// The results of `tern bench`, as a few lines for people or one JSON
// object for bench/run.sh (the key names are part of that contract; see
// docs/PERFORMANCE.md).
//
// Pure; value types.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "bench/options.h"
#include "bench/stats.h"

namespace tern::bench {

struct LoadReport {
  BenchOptions options;
  uint64_t fd_limit = 0;
  double elapsed_s = 0;  // from the first connect to the last reply
  bool deadline_hit = false;
  uint64_t messages_ok = 0;
  uint64_t messages_failed = 0;
  uint64_t not_attempted = 0;  // left when the deadline passed
  uint64_t connections = 0;
  uint64_t tls_handshakes = 0;
  LatencySummary latency;
  std::map<std::string, uint64_t> errors;

  double messages_per_s() const;
  double connections_per_s() const;
  double tls_handshakes_per_s() const;
};

// Everything from `stats` (its latencies are sorted in passing).
LoadReport make_load_report(const BenchOptions& options, Stats* stats, double elapsed_s,
                            bool deadline_hit, uint64_t fd_limit);

struct IdleReport {
  BenchOptions options;
  uint64_t fd_limit = 0;
  uint64_t requested = 0;
  uint64_t banners = 0;  // 220 greetings received
  uint64_t ready = 0;    // sessions past EHLO, then held
  double connect_s = 0;  // until every session was ready or had failed
  double held_s = 0;
  std::map<std::string, uint64_t> errors;
};

std::string to_json(const LoadReport& r);
std::string to_text(const LoadReport& r);
std::string to_json(const IdleReport& r);
std::string to_text(const IdleReport& r);

}  // namespace tern::bench
