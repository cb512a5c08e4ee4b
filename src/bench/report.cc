#include "bench/report.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace tern::bench {

namespace {

double rate(uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0;
}

nlohmann::ordered_json common(const BenchOptions& o, uint64_t fd_limit) {
  nlohmann::ordered_json j;
  j["host"] = o.host;
  j["port"] = o.port;
  j["sessions"] = o.sessions;
  j["threads"] = o.threads;
  j["tls"] = tls_mode_name(o.tls);
  j["fd_limit"] = fd_limit;
  return j;
}

std::string errors_text(const std::map<std::string, uint64_t>& errors) {
  if (errors.empty()) return "none";
  std::string out;
  for (const auto& [k, n] : errors) out += fmt::format("{}{}={}", out.empty() ? "" : " ", k, n);
  return out;
}

}  // namespace

double LoadReport::messages_per_s() const { return rate(messages_ok, elapsed_s); }
double LoadReport::connections_per_s() const { return rate(connections, elapsed_s); }
double LoadReport::tls_handshakes_per_s() const { return rate(tls_handshakes, elapsed_s); }

LoadReport make_load_report(const BenchOptions& options, Stats* stats, double elapsed_s,
                            bool deadline_hit, uint64_t fd_limit) {
  LoadReport r;
  r.options = options;
  r.fd_limit = fd_limit;
  r.elapsed_s = elapsed_s;
  r.deadline_hit = deadline_hit;
  r.messages_ok = stats->messages_ok;
  r.messages_failed = stats->messages_failed;
  const uint64_t done = r.messages_ok + r.messages_failed;
  r.not_attempted = options.messages > done ? options.messages - done : 0;
  r.connections = stats->connections;
  r.tls_handshakes = stats->tls_handshakes;
  r.latency = summarize(&stats->latency_ms);
  r.errors = stats->errors;
  return r;
}

std::string to_json(const LoadReport& r) {
  const BenchOptions& o = r.options;
  nlohmann::ordered_json j;
  j["mode"] = "load";
  j.update(common(o, r.fd_limit));
  j["messages"] = o.messages;
  j["size"] = o.size;
  j["per_connection"] = o.per_connection;
  j["pipelining"] = o.pipelining;
  j["rcpts"] = o.rcpts;
  j["elapsed_s"] = r.elapsed_s;
  j["deadline_hit"] = r.deadline_hit;
  j["messages_ok"] = r.messages_ok;
  j["messages_failed"] = r.messages_failed;
  j["not_attempted"] = r.not_attempted;
  j["messages_per_s"] = r.messages_per_s();
  j["connections"] = r.connections;
  j["connections_per_s"] = r.connections_per_s();
  j["tls_handshakes"] = r.tls_handshakes;
  j["tls_handshakes_per_s"] = r.tls_handshakes_per_s();
  j["latency_ms"] = {{"count", r.latency.count}, {"p50", r.latency.p50}, {"p90", r.latency.p90},
                     {"p99", r.latency.p99},     {"max", r.latency.max}, {"mean", r.latency.mean}};
  j["errors"] = nlohmann::ordered_json::object();
  for (const auto& [k, n] : r.errors) j["errors"][k] = n;
  return j.dump();
}

std::string to_text(const LoadReport& r) {
  const BenchOptions& o = r.options;
  std::string out = fmt::format(
      "tern bench: {}:{}, {} sessions, {} messages of {} octets, {} per connection, "
      "pipelining {}, tls {}, {} thread(s)\n",
      o.host, o.port, o.sessions, o.messages, o.size,
      o.per_connection == 0 ? std::string("all") : std::to_string(o.per_connection),
      o.pipelining ? "on" : "off", tls_mode_name(o.tls), o.threads);
  out += fmt::format("  sent      {} ok, {} failed, {} not attempted{} in {:.3f} s\n",
                     r.messages_ok, r.messages_failed, r.not_attempted,
                     r.deadline_hit ? " (deadline reached)" : "", r.elapsed_s);
  out += fmt::format("  rate      {:.1f} messages/s, {:.1f} connections/s", r.messages_per_s(),
                     r.connections_per_s());
  if (o.tls != TlsMode::kNone) {
    out += fmt::format(", {:.1f} TLS handshakes/s", r.tls_handshakes_per_s());
  }
  out += "\n";
  out += fmt::format(
      "  latency   p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms "
      "(MAIL to the reply after the data)\n",
      r.latency.p50, r.latency.p90, r.latency.p99, r.latency.max);
  out += "  errors    " + errors_text(r.errors) + "\n";
  return out;
}

std::string to_json(const IdleReport& r) {
  nlohmann::ordered_json j;
  j["mode"] = "idle";
  j.update(common(r.options, r.fd_limit));
  j["requested"] = r.requested;
  j["banners"] = r.banners;
  j["ready"] = r.ready;
  j["connect_s"] = r.connect_s;
  j["held_s"] = r.held_s;
  j["errors"] = nlohmann::ordered_json::object();
  for (const auto& [k, n] : r.errors) j["errors"][k] = n;
  return j.dump();
}

std::string to_text(const IdleReport& r) {
  std::string out = fmt::format("tern bench --idle: {}:{}, {} sessions requested\n", r.options.host,
                                r.options.port, r.requested);
  out += fmt::format("  banners   {} of {} in {:.3f} s; {} past EHLO, held {:.1f} s\n", r.banners,
                     r.requested, r.connect_s, r.ready, r.held_s);
  out += "  errors    " + errors_text(r.errors) + "\n";
  return out;
}

}  // namespace tern::bench
