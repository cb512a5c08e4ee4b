#include "bench/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace tern::bench {

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  if (p <= 0) return sorted.front();
  if (p >= 100) return sorted.back();
  // Nearest rank: ceil(p/100 * n), 1-based.
  const double exact = p / 100.0 * static_cast<double>(sorted.size());
  size_t rank = static_cast<size_t>(std::ceil(exact - 1e-9));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencySummary summarize(std::vector<double>* samples) {
  LatencySummary s;
  std::sort(samples->begin(), samples->end());
  s.count = samples->size();
  if (samples->empty()) return s;
  s.p50 = percentile(*samples, 50);
  s.p90 = percentile(*samples, 90);
  s.p99 = percentile(*samples, 99);
  s.max = samples->back();
  s.mean =
      std::accumulate(samples->begin(), samples->end(), 0.0) / static_cast<double>(samples->size());
  return s;
}

std::string error_key(const Failure& failure) {
  if (failure.reply) return std::to_string(failure.reply->code);
  switch (failure.cause) {
    case Failure::Cause::kReply:
      return "reply";
    case Failure::Cause::kLocal:
      return "local";
    case Failure::Cause::kProtocol:
      return "protocol";
    case Failure::Cause::kConnection:
      if (failure.phase == Phase::kConnect) return "connect";
      // The session says "timed out" for a deadline that passed.
      if (failure.detail.find("timed out") != std::string::npos ||
          failure.detail.find("timeout") != std::string::npos) {
        return "timeout";
      }
      return "connection";
    case Failure::Cause::kTls:
      return "tls";
    case Failure::Cause::kPolicy:
      return "policy";
  }
  return "other";
}

void note_exception(std::exception_ptr e, const char* what,
                    std::map<std::string, uint64_t>* errors) {
  if (!e) return;
  ++(*errors)["exception"];
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "tern bench: %s: %s\n", what, ex.what());
  } catch (...) {
    std::fprintf(stderr, "tern bench: %s\n", what);
  }
}

void Stats::merge(Stats&& other) {
  messages_ok += other.messages_ok;
  messages_failed += other.messages_failed;
  connections += other.connections;
  sessions_ready += other.sessions_ready;
  tls_handshakes += other.tls_handshakes;
  for (const auto& [k, n] : other.errors) errors[k] += n;
  latency_ms.insert(latency_ms.end(), other.latency_ms.begin(), other.latency_ms.end());
  other.latency_ms.clear();
}

}  // namespace tern::bench
