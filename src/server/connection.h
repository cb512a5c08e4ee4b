// Connection: drives one ServerSession over one ByteStream. All protocol
// decisions are the session's; this file only performs the actions it
// asks for (read, write, TLS, password check, spool) and logs.
//
// It knows the rest of the server only through narrow interfaces
// (connection_deps.h: the queue store, the recipient policy, the client
// limits, the mail handoff, the resolver, the clock, the executors for
// blocking work) and its client only through a ByteStream
// (net/byte_stream.h), so unit tests drive it with fakes and an
// in-memory stream (tests/unit/connection_test.cc).
#pragma once

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "config/config.h"
#include "core/deadline.h"
#include "core/server_session.h"
#include "metrics/registry.h"
#include "net/byte_stream.h"
#include "queue/store.h"
#include "screen/client_screen.h"
#include "server/connection_deps.h"
#include "server/inbound_auth.h"
#include "server/milter_hooks.h"

namespace tern {

class Connection : private SessionEnv {
 public:
  // REQUIRES: deps' pointers set and outliving the connection; `stream`
  // connected (its remote_ip() is the client's).
  Connection(ConnectionDeps deps, std::unique_ptr<ByteStream> stream, ListenerConfig listener);
  ~Connection() override;

  asio::awaitable<void> run();
  // Shutdown: idle sessions get 421 now, busy ones after their message.
  void drain();
  // Grace period over: drop the connection.
  void force_close();
  const ListenerConfig& listener() const { return listener_; }

 private:
  // SessionEnv. Called on the server's event loop, the thread of the
  // delivery worker's scheduler too: etrn() calls it directly, as the
  // admin socket's `tern queue flush` does.
  RcptVerdict check_rcpt(const Address& rcpt, const std::string& auth_user) override;
  RcptCheck resolve_rcpt(const Address& rcpt, const std::string& auth_user) override;
  SenderVerdict check_sender(const Address& from, const std::string& auth_user) override;
  std::optional<size_t> etrn(const std::string& domain, bool subdomains) override;
  std::optional<Reply> limit_mail(const std::string& auth_user) override;
  bool storage_low(uint64_t declared_size) override;
  std::optional<Reply> limit_rcpt(const Address& rcpt, bool local,
                                  const std::string& auth_user) override;
  bool mailbox_exists(const Address& addr) override;
  std::string new_queue_id() override;
  int64_t now() override;
  void on_refusal(const Refusal& r) override;
  // The checks before DATA (connection_screen.cc, screen/client_screen.h).
  std::optional<Reply> screen_mail(const Address& from, const std::string& auth_user) override;
  std::optional<Reply> screen_rcpt(const Address& from, const Address& rcpt,
                                   const std::string& auth_user) override;
  // At connect, for a screened client: the DNSBL greeting refusal or nullopt.
  asio::awaitable<std::optional<Reply>> screen_client();
  // The header field the screen adds to a message, or "" (none).
  std::string screen_header() const;

  asio::awaitable<void> do_send(std::string_view data);
  asio::awaitable<void> do_read();
  // Which limit bounds the next read (core/deadline.h).
  ReadDeadline read_deadline() const;
  void timed_out(const ReadDeadline& d);
  asio::awaitable<void> do_starttls();
  asio::awaitable<void> do_auth();
  asio::awaitable<void> do_spf();
  void do_message_begin();
  void do_message_data(std::string_view data);
  asio::awaitable<void> do_message_end();
  void do_message_abort();
  SessionOptions session_options() const;
  bool sender_checked() const;
  void spool_write(std::string_view data);

  ConnectionDeps deps_;
  std::shared_ptr<const Config> config_;
  ListenerConfig listener_;
  std::unique_ptr<ByteStream> stream_;
  std::string ip_;
  // Mail from outside: SPF, DKIM, DMARC and Authentication-Results apply.
  bool sender_checked_;
  ClientFacts facts_;  // what screen_client() learnt (when sender_checked_)
  ServerSession session_;
  std::unique_ptr<SpoolWriter> spool_;
  std::unique_ptr<InboundAuth> inbound_;  // the message's checks, when sender_checked_
  std::unique_ptr<MilterHooks> milters_;  // [[milter]]s of this listener, or null
  Status spool_status_;
  bool reading_ = false;
  bool closing_ = false;
  bool draining_ = false;  // drain() was called: the server shuts down
  std::chrono::steady_clock::time_point started_;
  // When our last reply went out: a command line must be complete
  // limits.command_timeout after it, however slowly its bytes drip in.
  std::chrono::steady_clock::time_point last_reply_;
  // For the log: this connection's id on every line, the bytes each way,
  // why it ended when the session cannot know (I/O, TLS), and what a
  // refusal of the message at its end adds (checks, the storage error).
  std::string session_id_;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  std::string end_reason_;
  std::string message_note_;
  // This listener's byte counters (metrics/server_metrics.h), looked up once.
  metrics::Counter& metric_bytes_in_;
  metrics::Counter& metric_bytes_out_;
};

}  // namespace tern
