// ServerSession: the receiving side of one SMTP connection as a state
// machine with no I/O (RFC 5321, with PIPELINING 2920, SIZE 1870,
// 8BITMIME 6152, CHUNKING 3030, DSN 3461, ENHANCEDSTATUSCODES 2034/3463,
// STARTTLS 3207, AUTH 4954, SMTPUTF8 6531, ETRN 1985).
//
// Bytes from the client go in with receive(); the caller then asks next()
// for what to do, until it says kNeedInput:
//
//   session.start();
//   for (;;) switch (Action a = session.next(); a.kind) {
//     case kSend:         write a.data; break;
//     case kNeedInput:    read; session.receive(bytes) or session.eof(); break;
//     case kStartTls:     handshake; session.tls_started(...) or close; break;
//     case kCheckAuth:    verify session.auth_request(); session.auth_checked(ok),
//                         or session.auth_unavailable() when it cannot be said; break;
//     case kCheckSpf:     evaluate session.spf_request(); session.spf_checked(outcome); break;
//     case kFilter:       ask the milters about session.filter_request();
//                         session.filter_checked(refusal or nullopt); break;
//     case kMessageBegin: open a spool file for session.envelope(); break;
//     case kMessageData:  append a.data to it; break;
//     case kMessageEnd:   make it durable; session.message_stored(status)
//                         (or refuse it: session.message_refused(reply)); break;
//     case kMessageAbort: drop it; break;
//     case kClose:        close the connection; return;
//   }
//
// Replies are batched while pipelined commands remain in the input, as
// RFC 2920 3.2 asks, and go out after a command that ends a group (3.1).
// The connection (helo, TLS, auth, counters) is kept apart from the
// transaction (Tx: MAIL, RCPTs, data), which RSET/EHLO/a message end
// replace as a whole (as OpenSMTPD's smtp_tx).
//
// Commands live in a table (kCommands) with their preconditions (needs
// HELO, needs TLS, not inside a transaction, ...), checked once before the
// handler runs. Every reply passes one function, which counts errors and
// hands each 4xx/5xx to SessionEnv::on_refusal() for the log.
//
// Thread-compatible: one session belongs to one connection.
//
// Implemented in server_session.cc (input, the command table, replies),
// server_session_data.cc (DATA, BDAT, the message's end) and
// server_session_auth.cc (STARTTLS, AUTH).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/command.h"
#include "core/data_reader.h"
#include "core/envelope.h"
#include "core/status.h"
#include "tern/reply.h"

namespace tern {

struct SessionOptions {
  std::string hostname = "localhost";
  std::string listener = "smtp";  // "smtp" | "submission" | "submissions"
  bool tls_available = true;      // STARTTLS can be offered
  bool auth_enabled = false;      // AUTH PLAIN LOGIN offered once TLS is on
  bool auth_required = false;     // MAIL needs AUTH first (and so TLS first)
  uint64_t max_message_size = 50u * 1024 * 1024;
  size_t max_recipients = 100;
  size_t max_errors = 20;
  BareNewline bare_newline = BareNewline::kReject;
  bool vrfy = false;
  bool etrn = false;  // this client may use ETRN (RFC 1985): advertised and served
  // SPF (RFC 7208) of the MAIL FROM identity (HELO's for "<>"), asked for
  // once per transaction at its first RCPT (kCheckSpf), never for an
  // authenticated session. The connection decides who is checked
  // ([spf], the listener, trusted_networks).
  bool spf_check = false;
  bool spf_reject_fail = true;      // fail: 550 5.7.23 (false: accept, mark)
  bool spf_defer_temperror = true;  // temperror: 451 4.7.24 (false: accept, mark)
  // Commands that do not move a message forward (all but RCPT, DATA, BDAT
  // and QUIT) since the last message's data came in: endless NOOP, RSET,
  // VRFY, HELO, or MAIL/RSET loops. The one over the limit gets 421 4.7.0
  // and the session ends (as Postfix's smtpd_junk_command_limit, 100).
  size_t max_commands_without_message = 100;
  // AUTH exchanges whose credentials were wrong (535 5.7.8) on this
  // connection: the last one's reply is followed by 421 4.7.0 and the end
  // of the session, so one connection cannot guess passwords forever.
  // (Malformed or cancelled exchanges count against max_errors.)
  size_t max_auth_failures = 3;
  // Outside filters (milters, server/milter_hooks.h) decide HELO, MAIL,
  // RCPT and DATA after the session's own checks passed (kFilter).
  bool filter = false;
};

// What the session asks the outside filters (kFilter): the stage and what
// the client sent, once the session itself would accept it.
enum class FilterStage { kHelo, kMail, kRcpt, kData };
struct FilterRequest {
  FilterStage stage = FilterStage::kHelo;
  std::string arg;       // HELO: the name; MAIL/RCPT: the text after "FROM:"/"TO:", as sent
  std::string address;   // MAIL/RCPT: the address as parsed, without brackets ("" for <>)
  std::string queue_id;  // MAIL onward: the transaction's queue id
};

// The results of RFC 7208 2.6 (as spf::Result; the session has no DNS).
enum class SpfResult { kNone, kNeutral, kPass, kFail, kSoftFail, kTempError, kPermError };
const char* spf_result_name(SpfResult r);  // "none", "pass", ... (the RFC's words)

// What the session asks the SPF check for.
struct SpfRequest {
  std::string client_ip;
  std::string mail_from;  // without brackets; "" for the null path
  std::string helo;
  bool helo_identity = false;  // MAIL FROM:<> : the HELO identity is checked (RFC 7208 2.4)
};

// The answer: spf::CheckResult's fields that the session uses.
struct SpfOutcome {
  SpfResult result = SpfResult::kNone;
  std::string mechanism;    // the term that decided ("-all"), may be empty
  std::string explanation;  // kFail: the domain's explanation
  std::string problem;      // kNone/kTempError/kPermError: why
};

enum class RcptVerdict {
  kLocal,        // a local mailbox or alias: accept
  kRelay,        // not local, but this client may relay: accept
  kUnknownUser,  // 550 5.1.1
  kRelayDenied,  // 550 5.7.1
  kBadMailbox,   // 550 5.1.3: a local part that can never name a mailbox here
  kTempFail,     // 451 4.3.0 (e.g. a lookup failed)
};

// A recipient decision with what comes with it.
struct RcptCheck {
  RcptVerdict verdict = RcptVerdict::kTempFail;
  // Accepted, but the message goes to this address instead (a bounce to
  // one of our SRS addresses goes back to the original sender); the
  // address as sent is kept in ORCPT.
  std::optional<Address> rewrite;
  // Why, for a refusal the client should understand ("invalid SRS
  // signature"); replaces the usual text of kUnknownUser.
  std::string reason;
};

enum class SenderVerdict {
  kOk,        // may be used
  kNotOwned,  // 553 5.7.1: the authenticated user does not own it
  kTempFail,  // 451 4.3.0
};

// A 4xx/5xx reply, as the session hands it to SessionEnv::on_refusal():
// everything the log needs to answer "why was this refused?". The views
// are valid during the call only.
struct Refusal {
  const Reply& reply;
  // The command line that caused it, with AUTH data redacted ("AUTH PLAIN
  // <redacted>"; SASL response lines never appear). Empty when no command
  // did: the greeting, a timeout, a shutdown.
  std::string_view command;
  // Inside a transaction: its queue id (given at MAIL) and sender; empty
  // outside one.
  std::string_view queue_id;
  std::string_view from;  // the MAIL FROM address, "" for the null path (queue_id set)
  // A refused RCPT: its address ("<bob@example.org>"); a refused message:
  // its recipients, "<a@x>,<b@y>" (the first five, then ",+N"); else empty.
  std::string_view to;
};

// What the session asks of the world; injected so tests need no I/O. The
// calls are synchronous: an implementation answers from memory (or the
// event loop's own state), never waits.
class SessionEnv {
 public:
  virtual ~SessionEnv() = default;
  // Decides a recipient. "<Postmaster>" comes as local "Postmaster", domain "".
  virtual RcptVerdict check_rcpt(const Address& rcpt, const std::string& auth_user) = 0;
  // The full decision, which the session uses. By default check_rcpt()'s
  // verdict and nothing more; an environment that rewrites recipients or
  // explains refusals (the server's, through the Directory) overrides it.
  virtual RcptCheck resolve_rcpt(const Address& rcpt, const std::string& auth_user) {
    return RcptCheck{check_rcpt(rcpt, auth_user), std::nullopt, {}};
  }
  // Asked for MAIL FROM only when a user is authenticated (`auth_user`):
  // may they use `from` ("<>" included)? Default: yes.
  virtual SenderVerdict check_sender(const Address& from, const std::string& auth_user) {
    (void)from;
    (void)auth_user;
    return SenderVerdict::kOk;
  }
  // ETRN (RFC 1985), for a client SessionOptions::etrn allows: makes every
  // queued message with a pending recipient in `domain` (lower-cased; with
  // `subdomains`, also in any domain under it) due now. Returns how many
  // messages that concerns, or nullopt when the queue cannot be started
  // (shutting down). Default: nullopt.
  virtual std::optional<size_t> etrn(const std::string& domain, bool subdomains) {
    (void)domain;
    (void)subdomains;
    return std::nullopt;
  }
  // Rate limits (core/admission.h), asked at MAIL FROM once it is valid and
  // at each RCPT TO the directory accepted (`local`: to a local mailbox):
  // a reply refuses it (451/450 4.7.1), nullopt lets it through and counts
  // it. Default: no limits.
  virtual std::optional<Reply> limit_mail(const std::string& auth_user) {
    (void)auth_user;
    return std::nullopt;
  }
  virtual std::optional<Reply> limit_rcpt(const Address& rcpt, bool local,
                                          const std::string& auth_user) {
    (void)rcpt;
    (void)local;
    (void)auth_user;
    return std::nullopt;
  }
  // The checks before DATA (screen/client_screen.h): asked at MAIL FROM
  // once it is valid (early checks: HELO, reverse DNS, own domain) and at
  // each RCPT TO the directory accepted (greylisting). A reply refuses it;
  // a refused RCPT counts as an error only past max_recipients attempts (a
  // greylisted message with many recipients is not an abusive client).
  // Default: nothing refused.
  virtual std::optional<Reply> screen_mail(const Address& from, const std::string& auth_user) {
    (void)from;
    (void)auth_user;
    return std::nullopt;
  }
  virtual std::optional<Reply> screen_rcpt(const Address& from, const Address& rcpt,
                                           const std::string& auth_user) {
    (void)from;
    (void)rcpt;
    (void)auth_user;
    return std::nullopt;
  }
  // Asked at MAIL FROM: is the spool too full for a message of
  // `declared_size` octets (0 when SIZE was not given)? true: 452 4.3.1.
  // Default: no.
  virtual bool storage_low(uint64_t declared_size) {
    (void)declared_size;
    return false;
  }
  // For VRFY when SessionOptions::vrfy is on: does this local mailbox exist?
  virtual bool mailbox_exists(const Address& addr) = 0;
  virtual std::string new_queue_id() = 0;
  virtual int64_t now() = 0;  // unix seconds, for the Received header
  // Every 4xx/5xx reply, once, as it is queued (the server logs it).
  // Default: nothing.
  virtual void on_refusal(const Refusal& r) { (void)r; }
};

// Why a session ended (see ServerSession::end()).
enum class SessionEnd {
  kOpen,                 // not ended
  kQuit,                 // the client said QUIT
  kClientClosed,         // the client went away (eof())
  kRefused,              // refused at connect (start() with a reply: a limit)
  kTimeout,              // timeout()
  kShutdown,             // shutdown() or draining
  kTooManyErrors,        // SessionOptions::max_errors
  kTooManyCommands,      // SessionOptions::max_commands_without_message
  kTooManyAuthFailures,  // SessionOptions::max_auth_failures
  kHttp,                 // an HTTP request line: another protocol, hung up on
};
// "quit", "client_closed", "refused", "timeout", ... for logs.
const char* session_end_name(SessionEnd e);

// What one connection did, for the log line at its end.
struct SessionCounts {
  size_t commands = 0;    // command lines (SASL responses and message data not counted)
  size_t errors = 0;      // 4xx/5xx replies counted against max_errors
  size_t messages = 0;    // messages accepted (250 after the data)
  size_t recipients = 0;  // recipients of those messages
};

struct SessionTls {
  std::string version;  // "TLSv1.3"
  std::string cipher;
};

struct AuthRequest {
  std::string mechanism;  // "PLAIN" or "LOGIN"
  std::string user;       // authentication identity
  std::string password;
};

class ServerSession {
 public:
  struct Action {
    enum Kind {
      kNeedInput,
      kSend,
      kStartTls,
      kCheckAuth,
      kCheckSpf,
      kFilter,
      kMessageBegin,
      kMessageData,
      kMessageEnd,
      kMessageAbort,
      kClose,
    };
    Kind kind;
    std::string_view data;  // kSend, kMessageData: valid until the next call
  };

  ServerSession(SessionOptions options, SessionEnv* env, std::string client_ip);

  // Queues the greeting. With `refuse`, that reply is sent instead and the
  // session closes (connection limits). `tls` is set for implicit TLS.
  void start(std::optional<Reply> refuse = {}, std::optional<SessionTls> tls = {});

  // Instead of start(): `refusal` (554, the DNS block lists) is the
  // greeting, and every command but QUIT gets 503 5.5.1 until the client
  // quits, as RFC 5321 3.1 asks of a server that refuses at connect
  // (max_errors and the timeouts still end it).
  void start_refused(Reply refusal);

  Action next();

  void receive(std::string_view bytes);
  void eof();  // the client went away
  void tls_started(const SessionTls& tls);
  // After kCheckAuth: 235, or 535 5.7.8 (counted towards max_auth_failures).
  // `user`, when given, is the name the password database knows the user
  // by (Dovecot's user=): it becomes auth_user(), so per-user limits and
  // the sender check count one name, whatever case the client typed.
  void auth_checked(bool ok, std::string user = {});
  // After kCheckAuth: the password could not be checked now (the password
  // database is down): 454 4.7.0 (RFC 4954 6), not counted as a failure.
  void auth_unavailable();
  // After kCheckSpf: decides the RCPT that asked, then goes on with the
  // input that followed it (pipelined commands wait meanwhile).
  void spf_checked(const SpfOutcome& outcome);
  // After kFilter: nullopt lets the command through (its usual reply);
  // a reply refuses it instead (at RCPT that recipient only; a refused
  // MAIL or DATA ends the transaction).
  void filter_checked(std::optional<Reply> refusal);
  // After kMessageEnd: Ok -> 250 with the queue id; else 452 4.3.1 (storage
  // full: Status::storage_full), 451 4.3.0 (other transient) or 554.
  void message_stored(const Status& status);
  // After kMessageEnd, instead: the content was refused (DMARC), with `r`.
  void message_refused(Reply r);
  // 421 4.4.2 and close; `what` ends the text ("... Error: timeout exceeded").
  void timeout(std::string_view what = "timeout exceeded");
  void shutdown();      // 421 4.3.2 and close, now
  void set_draining();  // 421 4.3.2 and close at the next idle point

  // True while a transaction has begun (MAIL accepted) and not ended.
  bool in_transaction() const { return tx_.has_value(); }
  // True while message data is being received (DATA or BDAT chunks).
  bool receiving_data() const { return state_ == State::kData || state_ == State::kBdat; }
  bool closed() const { return state_ == State::kClosed; }
  // True while the session waits for a command (idle for shutdown purposes).
  bool awaiting_command() const;

  // The message of the last kMessageBegin; valid until the next one.
  const Envelope& envelope() const { return env_out_; }
  const AuthRequest& auth_request() const { return auth_; }
  const SpfRequest& spf_request() const { return spf_request_; }
  const FilterRequest& filter_request() const { return filter_request_; }
  const std::optional<SessionTls>& tls() const { return tls_; }
  // This transaction's SPF outcome, once checked.
  const std::optional<SpfOutcome>& spf_outcome() const;
  const std::string& auth_user() const { return auth_user_; }
  const std::string& helo() const { return helo_; }
  bool tls_active() const { return tls_.has_value(); }
  uint64_t last_message_size() const { return last_size_; }
  size_t messages_accepted() const { return counts_.messages; }
  // The last reply sent for a message (for logs).
  const std::string& last_message_result() const { return last_result_; }
  // Why the session ended; kOpen until it has.
  SessionEnd end() const { return end_; }
  const SessionCounts& counts() const { return counts_; }

 private:
  enum class State {
    kGreeting,     // start() not called yet
    kCommand,      // reading command lines
    kDiscardLine,  // an overlong line: dropping octets up to its LF
    kAuthPlain,    // waiting for the PLAIN response line
    kAuthUser,     // LOGIN: waiting for the user name
    kAuthPass,     // LOGIN: waiting for the password
    kData,         // inside DATA
    kBdat,         // inside a BDAT chunk
    kWaiting,      // an asynchronous action is out (TLS, auth, store)
    kClosed,
  };

  // One transaction, from MAIL to the reply after its data (or RSET, EHLO,
  // STARTTLS): replaced as a whole, never field by field.
  struct Tx {
    std::string id;  // queue id, given at MAIL: refusals in the log carry it
    MailArgs mail;
    std::vector<RcptArgs> rcpts;
    size_t rcpt_attempts = 0;
    size_t rcpt_overshoot = 0;  // RCPTs refused with 452 for the recipient limit
    std::optional<DataReader> data;
    bool bdat_used = false;
    uint64_t bdat_size = 0;         // total of this transaction's chunks
    std::optional<SpfOutcome> spf;  // checked at the first RCPT
    std::string spf_rcpt;           // the RCPT argument waiting for the check
  };

  // A BDAT chunk being read. Outside Tx: a chunk without a transaction is
  // read (and dropped) too, to stay in step with the client.
  struct Chunk {
    uint64_t remaining = 0;
    bool last = false;
    bool discard = false;
  };

  // What a command needs before its handler runs; dispatch() checks them in
  // this order and answers the first that fails.
  enum Need : unsigned {
    kNoArgs = 1u << 0,     // 501 5.5.4 "Syntax: RSET (no parameters)"
    kBeforeTls = 1u << 1,  // 503 5.5.1 TLS already active (STARTTLS)
    kOffered = 1u << 2,    // the extension is offered to this client (offered())
    kTls = 1u << 3,        // 530 5.7.0 (RFC 4954 4: AUTH only under TLS here)
    kHelo = 1u << 4,       // 503 5.5.1 (RFC 5321 4.1.4)
    kNotAuthed = 1u << 5,  // 503 5.5.1 Already authenticated (RFC 4954 4)
    kNoTx = 1u << 6,       // 503 5.5.1 (RFC 5321 4.1.4, RFC 3207 4, RFC 4954 4)
    kTx = 1u << 7,         // 503 5.5.1 Need MAIL
    kAuthed = 1u << 8,     // 530 5.7.0 when auth_required (RFC 4954 6)
    // Served while draining (others get 421 4.3.2 outside a transaction).
    kWhileDraining = 1u << 9,
    // RFC 2920 3.1: last in a pipelined group; its reply goes out before
    // the next command is read.
    kEndsGroup = 1u << 10,
    // Not counted against max_commands_without_message: RCPT, DATA and
    // BDAT move a transaction forward (bounded by max_recipients and
    // max_errors), QUIT ends the session.
    kUncounted = 1u << 11,
  };
  struct CommandSpec {
    Verb verb;
    const char* name;  // for syntax replies
    unsigned needs;    // Need bits
    void (ServerSession::*handler)(std::string_view arg);
  };
  static const CommandSpec kCommands[];
  static const CommandSpec& spec_of(Verb verb);

  void process_input();
  bool process_line(std::string_view line);
  void handle_command(std::string_view line);
  std::optional<Reply> unmet(const CommandSpec& spec, std::string_view arg) const;
  std::optional<Reply> offered(Verb verb) const;
  void handle_auth_line(std::string_view line);
  void process_data();
  void process_bdat();
  void finish_message();
  void data_received();
  void end_message(Reply r);

  void cmd_ehlo(std::string_view arg) { cmd_helo(arg, true); }
  void cmd_helo(std::string_view arg) { cmd_helo(arg, false); }
  void cmd_helo(std::string_view arg, bool esmtp);
  void cmd_mail(std::string_view arg);
  void cmd_rcpt(std::string_view arg);
  void cmd_data(std::string_view arg);
  void cmd_bdat(std::string_view arg);
  void cmd_rset(std::string_view arg);
  void cmd_noop(std::string_view arg);
  void cmd_quit(std::string_view arg);
  void cmd_vrfy(std::string_view arg);
  void cmd_expn(std::string_view arg);
  void cmd_help(std::string_view arg);
  void cmd_etrn(std::string_view arg);
  void cmd_starttls(std::string_view arg);
  void cmd_auth(std::string_view arg);
  void cmd_obsolete(std::string_view arg);
  void cmd_unknown(std::string_view arg);
  void auth_plain(std::string_view b64);
  void auth_failed(Reply r);
  std::optional<Reply> spf_refusal(const Address& rcpt, RcptVerdict verdict) const;
  void ask_filter(FilterStage stage, std::string_view arg, std::string address);
  void start_data();

  void begin_message();
  void reset_transaction();
  // Queues a reply; a 4xx/5xx counts against max_errors unless !counts.
  void reply(Reply r, bool counts = true);
  void reply(int code, const char* esc, std::string text) {
    reply(Reply(code, esc, std::move(text)));
  }
  // Queues `r` as the last reply and ends the session for `why`.
  void close_after(Reply r, SessionEnd why, bool by_command = true);
  // The one place replies are queued: the wire, and on_refusal for 4xx/5xx.
  void emit(const Reply& r, bool by_command);
  void set_pending(Action::Kind kind);
  size_t line_limit() const;
  bool auth_offered() const { return options_.auth_enabled && tls_.has_value(); }

  SessionOptions options_;
  SessionEnv* env_;
  std::string client_ip_;
  State state_ = State::kGreeting;
  SessionEnd end_ = SessionEnd::kOpen;

  // Connection.
  std::string helo_;
  bool esmtp_ = false;
  std::optional<SessionTls> tls_;
  std::string auth_user_;
  bool draining_ = false;
  std::string refused_;  // start_refused(): the greeting's text
  bool flush_ = false;   // a group ended: hand the replies out before reading on
  SessionCounts counts_;
  size_t commands_since_message_ = 0;  // against max_commands_without_message
  size_t auth_failures_ = 0;
  // The command being served, AUTH data redacted, and the recipient or
  // recipients a refusal concerns: context for on_refusal().
  std::string command_;
  std::string refused_to_;

  // Transaction.
  std::optional<Tx> tx_;
  Chunk chunk_;
  Envelope env_out_;           // the last message handed out (kMessageBegin)
  bool message_open_ = false;  // kMessageBegin was handed out

  AuthRequest auth_;
  SpfRequest spf_request_;
  // kFilter: what is asked, and what waits for the answer.
  FilterRequest filter_request_;
  bool filter_passed_ = false;  // cmd_helo runs again once the filters agreed
  bool filter_esmtp_ = false;
  RcptArgs filter_rcpt_;
  std::string filter_who_;

  // Buffers.
  std::string in_;
  size_t in_pos_ = 0;
  std::string out_;   // replies not yet handed out
  std::string sent_;  // the bytes of the last kSend
  std::string body_;  // message data not yet handed out
  bool body_handed_ = false;
  std::optional<Action::Kind> pending_;

  uint64_t last_size_ = 0;
  std::string last_result_;
};

}  // namespace tern
