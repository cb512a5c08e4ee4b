// tern's own metrics (docs/metrics.md lists them with their labels), made
// once in the process registry (metrics/registry.h). Instrumented code
// takes a family here and a child by its label values:
//
//   metrics::server().auth.with({"PLAIN", "success"}).inc();
//
// A module that needs a metric of its own registers it by name where it
// needs it, e.g. the ACME client:
//
//   auto& renewals = metrics::registry().counter(
//       "tern_acme_renewals_total", "Certificate renewals by result.", {"result"});
//   renewals.with({"success"}).inc();
//
// Thread safety: as the registry's (any thread).
#pragma once

#include <string_view>

#include "core/admission.h"
#include "metrics/registry.h"

namespace tern::metrics {

struct ServerMetrics {
  Family<Counter>& connections;            // listener, outcome
  Family<Gauge>& connections_open;         // listener
  Family<Counter>& received_bytes;         // listener
  Family<Counter>& sent_bytes;             // listener
  Family<Counter>& messages_accepted;      // listener
  Family<Counter>& refusals;               // listener, command, code
  Family<Gauge>& queue_messages;           // state
  Family<Gauge>& queue_oldest_age;         // state
  Family<Counter>& deliveries;             // result, destination
  Family<Histogram>& delivery_latency;     // destination
  Family<Counter>& tls_handshakes;         // direction, version
  Family<Counter>& tls_failures;           // direction
  Family<Counter>& tls_peer_verification;  // direction, result
  Family<Counter>& spf;                    // result
  Family<Counter>& dkim;                   // result
  Family<Counter>& dmarc;                  // result
  Family<Counter>& auth;                   // mechanism, result
  Family<Counter>& limits;                 // limit
  Family<Counter>& timeouts;               // waiting
  Family<Gauge>& certificate_expiry;       // (none)
  Family<Gauge>& start_time;               // (none)
  // [acme] (acme/manager.h), published at each scrape; absent without it.
  Family<Gauge>& acme_last_success;  // (none)
  Family<Gauge>& acme_last_failure;  // (none)
  Family<Gauge>& acme_failures;      // (none): consecutive failed attempts
  Family<Gauge>& acme_next_attempt;  // (none)
};

// Made (and registered) on first call.
ServerMetrics& server();

// The command verb of a refused command line, for the `command` label:
// one of the SMTP verbs tern knows ("MAIL", "RCPT", "DATA", ...), "none" when
// no command caused the refusal (greeting, timeout), "other" for anything
// else, so a client cannot invent label values.
std::string_view command_label(std::string_view command_line);

// One delivery result of one recipient, as the scheduler records it:
// result "delivered", "expanded", "deferred" or "bounced"; destination
// "local", "remote" or "smarthost"; latency_seconds (accepted to
// delivered) only for "delivered".
void delivery_result(std::string_view result, std::string_view destination, double latency_seconds);

// Brings tern_limit_refusals_total and tern_timeouts_total up to the
// admission's counters (core/admission.h), which the event loop owns.
// REQUIRES: called on that loop only (it keeps what it published).
void publish_limits(const LimitCounters& counters);

}  // namespace tern::metrics
