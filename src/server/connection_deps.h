// What a server Connection (connection.h) needs from the rest of the
// server, as narrow interfaces, so that a unit test can give it fakes (a
// spool that fails, a clock set by hand) and an in-memory stream instead
// of the whole Server and a socket. The Server implements ClientLimits and
// MailHandoff, the Directory RecipientPolicy; the queue store, the
// resolver and the clock have interfaces of their own.
//
// Thread safety: as the implementations say; the Connection calls all of
// them from its event loop, except RecipientPolicy::verify_password, which
// it runs on the hashing executor.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "config/config.h"
#include "core/admission.h"
#include "core/envelope.h"
#include "core/server_session.h"
#include "dns/lookup.h"
#include "queue/quarantine.h"
#include "queue/store.h"
#include "server/recipient_policy.h"
#include "tern/reply.h"

namespace tern {

class ClientScreen;

class Connection;

namespace dmarc {
struct AggregateRow;
}

// The limits against abuse across connections (core/admission.h), and the
// connection accounting that goes with them (the Server: server.h).
class ClientLimits {
 public:
  virtual ~ClientLimits() = default;
  // A new connection from `ip`: a refusal (421) or nullopt; detach() ends
  // what admit() and attach() counted.
  virtual std::optional<Reply> admit(Connection* c, const std::string& ip) = 0;
  virtual void attach(Connection* c, const std::string& ip) = 0;
  virtual void detach(Connection* c, const std::string& ip) = 0;
  // Per-hour message and recipient limits: a refusal, or nullopt (counted).
  virtual std::optional<Reply> limit_mail(const std::string& ip, const std::string& user) = 0;
  virtual std::optional<Reply> limit_rcpt(const std::string& ip, const std::string& user,
                                          bool outbound) = 0;
  // Whether the spool lacks room for `declared_size` octets (452 4.3.1).
  virtual bool storage_low(uint64_t declared_size) = 0;
  // How long to wait before answering a failed AUTH from `ip`.
  virtual std::chrono::milliseconds auth_failure_delay(const std::string& ip) = 0;
  // Counted by the connection: timeouts.
  virtual LimitCounters& limit_counters() = 0;
};

// Where accepted mail goes next (the delivery worker: delivery_worker.h).
class MailHandoff {
 public:
  virtual ~MailHandoff() = default;
  // A message committed to the store: deliver it.
  virtual void enqueue(const Envelope& env) = 0;
  // ETRN (RFC 1985): messages made due, or nullopt when the queue cannot
  // be started (shutting down).
  virtual std::optional<size_t> flush_domain(const std::string& domain, bool subdomains) = 0;
  // DMARC's aggregate report data (dmarc/aggregate.h) of one message.
  virtual void record_dmarc(const dmarc::AggregateRow& row) = 0;
};

// Everything a Connection is given. The pointers are not owned and must
// outlive the connection.
struct ConnectionDeps {
  std::shared_ptr<const Config> config;
  // The TLS context for STARTTLS and implicit TLS; null: no TLS offered.
  // A reload gives new connections a new one; sessions keep theirs.
  std::shared_ptr<asio::ssl::context> tls;
  QueueStore* store = nullptr;
  // Where a milter's SMFIR_QUARANTINE puts a message; null: it cannot (451).
  Quarantine* quarantine = nullptr;
  RecipientPolicy* recipients = nullptr;
  ClientLimits* limits = nullptr;
  MailHandoff* handoff = nullptr;
  DnsLookup* dns = nullptr;  // SPF, DKIM, DMARC of mail from outside
  // DNSBL, greylisting, early checks (docs/filtering.md); null: none.
  ClientScreen* screen = nullptr;
  const Clock* clock = &system_clock();
  // Blocking work: spool commits (fsync), and password hashing (kept apart
  // so an AUTH flood does not hold up the spool). Tests may pass the event
  // loop's own executor.
  asio::any_io_executor blocking;
  asio::any_io_executor hashing;
};

}  // namespace tern
