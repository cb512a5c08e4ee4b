// What a benchmark run counts: transaction latencies and their
// percentiles, errors by kind, and the totals the rates come from.
// Each event loop of `tern bench` fills its own Stats; merge() adds them
// up at the end, so nothing here needs a lock.
//
// Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "core/client_session.h"

namespace tern::bench {

// The nearest-rank percentile (p in [0, 100]) of `sorted` (ascending):
// the smallest sample such that at least p% of the samples are <= it.
// 0 for no samples; p = 0 gives the smallest.
double percentile(const std::vector<double>& sorted, double p);

struct LatencySummary {
  uint64_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;  // milliseconds
};

// Sorts *samples (milliseconds) and summarises them.
LatencySummary summarize(std::vector<double>* samples);

// The key a failure is counted under: the server's reply code ("451",
// "550") when it answered, else the cause: "connect", "timeout",
// "connection" (lost), "tls", "protocol", "local", "policy".
std::string error_key(const Failure& failure);

// A coroutine that ended by an exception: counted under "exception" in
// *errors and said on stderr with `what` ("session failed"). No-op for null.
void note_exception(std::exception_ptr e, const char* what,
                    std::map<std::string, uint64_t>* errors);

struct Stats {
  uint64_t messages_ok = 0;                // every recipient accepted (the final 250 came)
  uint64_t messages_failed = 0;            // attempted or claimed, and not ok
  uint64_t connections = 0;                // TCP connections made (connect() succeeded)
  uint64_t sessions_ready = 0;             // connections past greeting, EHLO (and STARTTLS)
  uint64_t tls_handshakes = 0;             // connections on which TLS came up
  std::map<std::string, uint64_t> errors;  // error_key -> count
  std::vector<double> latency_ms;          // per ok message: MAIL .. the reply after the data

  void merge(Stats&& other);
};

}  // namespace tern::bench
