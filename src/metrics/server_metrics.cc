#include "metrics/server_metrics.h"

#include <array>

#include "core/ascii.h"

namespace tern::metrics {

ServerMetrics& server() {
  static ServerMetrics* m = [] {
    Registry& r = registry();
    return new ServerMetrics{
        r.counter("tern_connections_total",
                  "SMTP connections by listener kind and outcome (accepted, refused_limit, "
                  "refused_busy, refused_shutdown, refused_descriptors, tls_failed).",
                  {"listener", "outcome"}),
        r.gauge("tern_connections_open", "SMTP connections open now.", {"listener"}),
        r.counter("tern_received_bytes_total", "Bytes read from SMTP clients.", {"listener"}),
        r.counter("tern_sent_bytes_total", "Bytes written to SMTP clients.", {"listener"}),
        r.counter("tern_messages_accepted_total",
                  "Messages accepted into the queue (250 at the "
                  "end of DATA or BDAT LAST).",
                  {"listener"}),
        r.counter("tern_smtp_refusals_total",
                  "4xx and 5xx replies sent, by listener, command and reply code.",
                  {"listener", "command", "code"}),
        r.gauge("tern_queue_messages",
                "Messages in the queue by state (active: being delivered; ready: due, waiting "
                "for a delivery slot; deferred: waiting for a retry).",
                {"state"}),
        r.gauge("tern_queue_oldest_message_age_seconds",
                "Age of the oldest message in each queue state (0 when none).", {"state"}),
        r.counter("tern_deliveries_total",
                  "Delivery results per recipient (delivered, expanded, deferred, bounced) by "
                  "destination class (local, remote, smarthost).",
                  {"result", "destination"}),
        r.histogram(
            "tern_delivery_latency_seconds",
            "Time from acceptance to delivery per recipient (whole seconds: the queue "
            "keeps unix seconds).",
            {"destination"},
            {1, 2, 5, 10, 30, 60, 300, 900, 1800, 3600, 14400, 43200, 86400, 259200, 432000}),
        r.counter("tern_tls_handshakes_total",
                  "TLS handshakes completed by direction (inbound, outbound) and protocol.",
                  {"direction", "version"}),
        r.counter("tern_tls_handshake_failures_total", "TLS handshakes that failed.",
                  {"direction"}),
        r.counter("tern_tls_peer_verification_total",
                  "Certificate verification of the peer after a handshake (outbound: the next "
                  "hop's certificate, verified or unverified).",
                  {"direction", "result"}),
        r.counter("tern_spf_results_total", "SPF checks of incoming mail by result.", {"result"}),
        r.counter("tern_dkim_results_total",
                  "DKIM signatures of incoming mail by result (none: a message with no "
                  "signature).",
                  {"result"}),
        r.counter("tern_dmarc_results_total", "DMARC evaluations of incoming mail by result.",
                  {"result"}),
        r.counter("tern_auth_attempts_total", "SMTP AUTH attempts by mechanism and result.",
                  {"mechanism", "result"}),
        r.counter("tern_limit_refusals_total",
                  "Refusals by a connection, message or recipient "
                  "limit ([limits]).",
                  {"limit"}),
        r.counter("tern_timeouts_total",
                  "Sessions closed for a timeout, by what was awaited (command, data, session).",
                  {"waiting"}),
        r.gauge("tern_tls_certificate_expiry_timestamp_seconds",
                "notAfter of the served certificate, unix seconds (set at start and reload)."),
        r.gauge("tern_start_time_seconds", "When tern serve started, unix seconds."),
        r.gauge("tern_acme_last_success_timestamp_seconds",
                "When the ACME client last obtained a certificate, unix seconds (0: never)."),
        r.gauge("tern_acme_last_failure_timestamp_seconds",
                "When an ACME attempt last failed, unix seconds (0: never)."),
        r.gauge("tern_acme_consecutive_failures",
                "ACME attempts failed since the last success (0: healthy)."),
        r.gauge("tern_acme_next_attempt_timestamp_seconds",
                "When the ACME client tries next (renewal or retry), unix seconds."),
    };
  }();
  return *m;
}

std::string_view command_label(std::string_view line) {
  if (line.empty()) return "none";
  const size_t end = line.find(' ');
  const std::string verb = ascii_lower(line.substr(0, end));
  static constexpr std::array<std::string_view, 16> kVerbs = {
      "HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT",     "RSET", "NOOP",
      "QUIT", "VRFY", "EXPN", "HELP", "AUTH", "STARTTLS", "ETRN", "."};
  for (std::string_view v : kVerbs)
    if (verb == ascii_lower(v)) return v;
  return "other";
}

void delivery_result(std::string_view result, std::string_view destination,
                     double latency_seconds) {
  ServerMetrics& m = server();
  m.deliveries.with({result, destination}).inc();
  if (result == "delivered") m.delivery_latency.with({destination}).observe(latency_seconds);
}

namespace {

// A count that went back came from another Admission: it starts afresh.
uint64_t gained(uint64_t now, uint64_t before) { return now >= before ? now - before : now; }

}  // namespace

void publish_limits(const LimitCounters& counters) {
  static LimitCounters published;  // the loop's; see REQUIRES
  ServerMetrics& m = server();
  for (size_t i = 0; i < kLimitCount; ++i) {
    const Limit l = static_cast<Limit>(i);
    const uint64_t now = counters.refused[i];
    m.limits.with({limit_name(l)}).inc(gained(now, published.refused[i]));
    published.refused[i] = now;
  }
  const std::pair<const char*, uint64_t LimitCounters::*> timeouts[] = {
      {"command", &LimitCounters::command_timeouts},
      {"data", &LimitCounters::data_timeouts},
      {"session", &LimitCounters::session_timeouts}};
  for (const auto& [name, field] : timeouts) {
    m.timeouts.with({name}).inc(gained(counters.*field, published.*field));
    published.*field = counters.*field;
  }
}

}  // namespace tern::metrics
