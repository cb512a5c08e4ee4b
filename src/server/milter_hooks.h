// MilterHooks: the milters ([[milter]], docs/filtering.md) of one SMTP
// connection, between Connection and milter::Client. One milter
// connection per SMTP session, opened at the client's connect, reused for
// each transaction (SMFIC_ABORT between messages that did not reach their
// end) and closed with SMFIC_QUIT.
//
// Each stage goes to every milter in turn; the first refusal wins:
//   connect()  SMFIC_CONNECT before the greeting (a refusal replaces it)
//   stage()    HELO, MAIL, RCPT, DATA (ServerSession's kFilter)
//   begin()    the message's spool: a MilterSpool (server/milter_spool.h)
//   end()      header fields, EOH, body chunks, EOM; the modifications
//              are applied to the spool (and to its envelope) in order,
//              each milter seeing what the one before left.
// A milter that cannot be reached, times out or breaks the protocol gets
// its default_action: "accept" goes on without it; "tempfail" answers
// every later MAIL, RCPT, DATA and message end with 451 4.7.1 (as
// Postfix's milter_default_action).
//
// Thread-compatible: belongs to one Connection, on its strand.
#pragma once

#include <asio.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/server_session.h"
#include "dns/lookup.h"
#include "milter/client.h"
#include "milter/client_name.h"
#include "net/byte_stream.h"
#include "queue/quarantine.h"
#include "queue/store.h"
#include "screen/early_checks.h"
#include "server/milter_spool.h"

namespace tern {

// True when a [[milter]] applies to listeners of this kind.
bool milters_apply(const Config& config, ListenerKind kind);

class MilterHooks {
 public:
  // nullptr when no [[milter]] applies to this listener. `quarantine`
  // (may be null: SMFIR_QUARANTINE then fails the message with 451) takes
  // quarantined messages.
  static std::unique_ptr<MilterHooks> make(std::shared_ptr<const Config> config, ListenerKind kind,
                                           std::string session_id, ByteStream& stream,
                                           Quarantine* quarantine = nullptr);
  ~MilterHooks();

  // Before connect(): the client's names for {client_name}, {client_ptr},
  // {client_resolve} and `_` (milter/client_name.h). The PTR answer of the
  // early checks is reused when they made one (`known` other than
  // kNotChecked, `known_ptr` its first name); otherwise it is looked up
  // here, then the forward lookup of the name, all within
  // kClientNameTimeout. No `dns`, a failure or the time running out:
  // "unknown", as Postfix says.
  asio::awaitable<void> resolve_client(DnsLookup* dns, ReverseDns known, std::string known_ptr);
  static constexpr std::chrono::seconds kClientNameTimeout{5};
  const milter::ClientNames& client_names() const { return names_; }

  // SMFIC_CONNECT: a refusal for the greeting (421 or 554), or nullopt.
  asio::awaitable<std::optional<Reply>> connect();
  // The kFilter stage of `s` (s.filter_request()): a refusal, or nullopt.
  asio::awaitable<std::optional<Reply>> stage(const ServerSession& s);
  // Opens the message's spool in place of store.begin().
  Status begin(QueueStore& store, const Envelope& env, std::unique_ptr<SpoolWriter>* out);

  // How the message's end went.
  struct End {
    std::optional<Reply> refuse;  // refused: this reply, nothing stored
    bool discard = false;         // 250, but nothing is stored or delivered
    bool quarantine = false;      // stored in the quarantine, not delivered
    std::string note;             // for the log line: " milter=..."
  };
  // After the data (and the inbound checks' prepend): the milters' say,
  // with their changes applied to the spool. REQUIRES: begin() made `spool`.
  asio::awaitable<End> end(const ServerSession& s, SpoolWriter* spool);
  // The envelope as the milters left it (after end()).
  const Envelope& envelope() const { return envelope_; }
  // SMFIC_QUIT to each milter (ABORT first when a message is open).
  asio::awaitable<void> quit();
  // Closes every milter connection now: a stage in progress ends at once
  // (the shutdown grace period is over).
  void cancel();

 private:
  struct Milter {
    std::unique_ptr<milter::Client> client;
    bool off = false;  // accepted the connection, or failed with default_action accept
  };
  MilterHooks(std::shared_ptr<const Config> config, ListenerKind kind, std::string session_id);

  milter::MacroMap macros(const ServerSession* s) const;
  // Runs one step on `m`; false when the milter failed (its default
  // action then applies: logged, m.off or tempfail_ set).
  asio::awaitable<bool> run(Milter& m, milter::Session::Step step, bool eom = false);
  void failed(Milter& m);
  bool usable(const Milter& m) const;
  asio::awaitable<void> abort_all();
  asio::awaitable<std::optional<Reply>> data_stage(const milter::MacroMap& mm);
  asio::awaitable<std::optional<Reply>> content(Milter& m, MilterSpool& spool, End* end);
  std::optional<Reply> apply(Milter& m, MilterSpool& spool, End* end);

  std::shared_ptr<const Config> config_;
  std::string session_id_;
  std::string listener_;
  std::string client_ip_, local_ip_;
  uint16_t client_port_ = 0;
  milter::ClientNames names_;  // "unknown" until resolve_client()
  Quarantine* quarantine_ = nullptr;
  std::vector<Milter> milters_;
  bool tempfail_ = false;   // a milter with default_action tempfail failed
  bool data_sent_ = false;  // this transaction's DATA stage went out
  bool discard_ = false;    // a milter said DISCARD before the end
  std::string queue_id_;
  Envelope envelope_;
  MilterSpool* spool_ = nullptr;
};

}  // namespace tern
