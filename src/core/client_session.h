// ClientSession: the sending side of one SMTP connection as a state
// machine with no I/O (RFC 5321, with PIPELINING 2920, SIZE 1870,
// 8BITMIME 6152, CHUNKING 3030, DSN 3461, ENHANCEDSTATUSCODES 2034/3463,
// STARTTLS 3207, AUTH 4954, SMTPUTF8 6531). The outbound relay and the
// client library both drive it; one connection may carry many messages.
// With ClientSessionOptions::lmtp it speaks LMTP (RFC 2033) instead: see
// there for what changes.
//
// Messages go in with add(), before or during the session; the caller then
// asks next() what to do until it says kClose:
//
//   ClientSession s(options);
//   uint64_t id = s.add(message);   // any number, at any time before quit()
//   s.start();                      // connected (implicit TLS: and handshaken)
//   for (;;) switch (Action a = s.next(); a.kind) {
//     case kSend:        write a.data; break;
//     case kNeedInput:   read (deadline a.timeout); then s.receive(bytes),
//                        or s.eof() / s.timeout(); break;
//     case kStartTls:    drop every byte read but not yet given to receive();
//                        TLS handshake (and certificate checks); then
//                        s.tls_started() or s.tls_failed(why); break;
//     case kSendBody:    DotEncoder e = s.body_encoder(); std::string buf;
//                        e.encode(a.data, &buf);  // the trace, if any
//                        for each chunk of message a.message's body:
//                          e.encode(chunk, &buf); write buf; buf.clear();
//                        e.finish(&buf); write buf;
//                        then s.body_sent(e), or s.body_failed(why) if the
//                        body could not be read or written; break;
//     case kMessageDone: *a.result says, per recipient, delivered or why
//                        not. add() may queue more here; break;
//     case kIdle:        nothing queued: add() more, or quit(); break;
//     case kClose:       close the connection; return;
//   }
//
// Instead of start(), connect_failed(why) reports a connection that could
// not be made: every message then comes back failed.
//
// Guarantees:
//   * every message add()ed comes back exactly once as kMessageDone, in
//     the order added, before kClose; each recipient is either delivered
//     (the server took responsibility, RFC 5321 4.2.5) or has a typed
//     Failure: the phase, transient or permanent, and the reply if any.
//   * commands go out one at a time, or with PIPELINING (RFC 2920) as one
//     kSend per batch: [RSET] MAIL, every RCPT, DATA. Replies are consumed
//     in order whatever happens, so the session never loses step.
//   * after the 220 to STARTTLS, bytes already received are thrown away
//     (RFC 3207 5; the client side of the STARTTLS injection, see
//     ../shared/refs/suites/smuggling.md); the I/O layer must do the same
//     with its own buffer. Then EHLO is sent again and what was learned
//     before TLS is forgotten (RFC 3207 4.2).
//   * bodies go through DotEncoder, so the end marker appears exactly once.
//   * a 421 at any point ends the connection (RFC 5321 3.8); so do a
//     protocol error, a timeout and a lost connection (all transient).
//     Other refusals of the connection (greeting, EHLO, STARTTLS, AUTH)
//     end it politely with QUIT.
//   * a server that sends more than was asked breaks the protocol; but the
//     reply in hand still counts (a 250 followed by a 421 in one read is a
//     delivery, then a closed connection).
//
// Thread-compatible: one session belongs to one connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dot_encoder.h"
#include "core/params.h"
#include "core/reply_parser.h"
#include "tern/reply.h"

namespace tern {

enum class TlsPolicy {
  kNone,           // never STARTTLS
  kOpportunistic,  // STARTTLS when offered; plaintext when not (see tls_fallback_plain)
  kRequired,       // STARTTLS or fail (Failure::Cause::kTls)
  kImplicit,       // the I/O layer handshakes before start() (port 465, RFC 8314)
};

// What to do with an 8-bit body when the server does not offer 8BITMIME
// (RFC 6152 3: the client must not just send it; it may convert it or
// report a failure).
enum class EightBitPolicy {
  kRefuse,    // fail locally: 554 5.6.3, permanent (the relay bounces)
  kSendAsIs,  // send anyway without BODY=, as many MTAs do in practice
};

struct Credentials {
  std::string user;
  std::string password;     // PLAIN, LOGIN
  std::string oauth_token;  // XOAUTH2; when set, XOAUTH2 is the only mechanism tried
  std::string mechanism;    // "PLAIN", "LOGIN" or "XOAUTH2" forces one; "": best offered
};

// RFC 5321 4.5.3.2 timeouts, handed to the I/O layer with each action.
struct ClientTimeouts {
  std::chrono::seconds greeting{300};
  std::chrono::seconds command{300};  // EHLO, STARTTLS, AUTH, RSET, QUIT; writes
  std::chrono::seconds mail{300};
  std::chrono::seconds rcpt{300};
  std::chrono::seconds data_init{120};   // the 354
  std::chrono::seconds data_block{180};  // each write of the body
  std::chrono::seconds data_end{600};    // the reply after the body
};

enum class TranscriptDir { kSent, kReceived };

struct ClientSessionOptions {
  std::string helo_name = "localhost";  // our FQDN or address literal, for EHLO/HELO
  TlsPolicy tls = TlsPolicy::kOpportunistic;
  // kOpportunistic only: STARTTLS was offered but its reply is not 220.
  // true: go on in plaintext; false: fail like kRequired.
  bool tls_fallback_plain = true;
  // When set, AUTH is required: a server that does not offer a usable
  // mechanism fails the connection (Cause::kPolicy).
  std::optional<Credentials> auth;
  // Credentials never go out before TLS unless this is set.
  bool allow_cleartext_auth = false;
  bool pipelining = true;  // use PIPELINING when offered
  // Use BDAT (RFC 3030) when CHUNKING is offered and the message's size is
  // known (OutboundMessage::mail.size); otherwise DATA.
  bool chunking = false;
  EightBitPolicy eight_bit = EightBitPolicy::kRefuse;
  ClientTimeouts timeouts;
  // LMTP (RFC 2033) instead of SMTP: LHLO instead of EHLO (4.1; no HELO
  // fallback), and after the body one reply per accepted recipient, in
  // RCPT order (4.2), each deciding that recipient alone. A recipient
  // whose reply came stays delivered even if the connection is lost
  // before the others' replies (those fail as the connection did).
  // Everything else (PIPELINING, SIZE, 8BITMIME, RSET between messages)
  // works as for SMTP. Callers normally set tls = kNone (a local socket).
  bool lmtp = false;
  // Called with every line sent and received, without its CRLF. AUTH
  // secrets appear as "<redacted>"; a body as "<N octets of message data>".
  std::function<void(TranscriptDir, std::string_view)> transcript;
};

// Where in the conversation a failure happened.
enum class Phase { kConnect, kGreeting, kEhlo, kStartTls, kAuth, kMail, kRcpt, kData, kBody };
// "connect", "greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "body".
const char* phase_name(Phase phase);

struct Failure {
  enum class Cause {
    kReply,       // the server said no: `reply` is its answer
    kLocal,       // refused here, nothing sent: `reply` is ours (552 5.3.4 size, 553 5.6.7
                  // SMTPUTF8, 554 5.6.3 8-bit, 553 5.1.7/5.1.3 an address that does not parse),
                  // or a body that did not match its announced size
    kProtocol,    // the server broke the protocol: a malformed, unexpected or unsolicited reply
    kConnection,  // connect failed, the connection was lost, or a reply timed out
    kTls,         // TLS required but not offered, or the handshake failed
    kPolicy,      // our own rules or config stopped us: AUTH in cleartext, no usable AUTH
                  // mechanism, an invalid EHLO name
  };

  Phase phase = Phase::kConnect;
  Cause cause = Cause::kConnection;
  // Retrying cannot help (a 5xx reply, or a local refusal of the message
  // itself). Everything else is transient: 4xx, protocol errors, the
  // connection, TLS, policy (a retry may meet another server or config).
  // A permanent failure of the connection (a 554 greeting, a 5xx to EHLO
  // or AUTH) speaks for this server only: whether another MX is tried
  // first is the relay's decision.
  bool permanent = false;
  std::optional<Reply> reply;
  std::string detail;  // for people: what went wrong, when the reply does not say it all

  // One line for logs and bounces: "rcpt: 550 5.1.1 User unknown",
  // "starttls: TLS required but STARTTLS not offered".
  std::string describe() const;
};

// One message for the session: the envelope, not the body (the I/O layer
// streams the body when told). Run the body through a BodyScanner first:
//   mail.size   its size(), or unset. It goes out as SIZE= and is checked
//               against the server's SIZE. BDAT is used only when it is
//               set, and then the body must come to exactly this size (or
//               the connection is closed, see DotEncoder::finish).
//   mail.body   k8BitMime when it has 8-bit octets (body_type()).
//   mail.smtputf8  when the message needs SMTPUTF8 (e.g. UTF-8 headers);
//               a UTF-8 address implies it.
// mail.auth (AUTH=) is not sent.
//
// trace: when set, asked once as the transaction begins (after EHLO,
// STARTTLS and AUTH, so the connection's TLS outcome is known) for header
// fields to put on top of the message, e.g. the relay's Received field of
// the outbound hop (relay/outbound_trace.h). Their length counts in SIZE=
// and "BDAT n LAST"; they go out before the body (kSendBody's data). The
// answer must be whole header fields: printable ASCII and HTAB, each line
// non-empty and ending in CRLF, the first not starting with white space;
// anything else (or "") is dropped, and the message goes without it.
struct OutboundMessage {
  MailArgs mail;
  std::vector<RcptArgs> rcpts;
  std::function<std::string()> trace;
};

struct RecipientResult {
  RcptArgs rcpt;
  // The reply to RCPT TO, when one came; LMTP: the recipient's own reply
  // after the body, once that came.
  std::optional<Reply> reply;
  std::optional<Failure> failure;  // empty: delivered
  bool delivered() const { return !failure; }
};

struct MessageResult {
  uint64_t id = 0;         // from add()
  bool attempted = false;  // some command of this message went out
  // Set when nothing was delivered: the first thing that failed for the
  // message as a whole. When every RCPT was refused it is a kRcpt failure
  // with the first refusal's reply, permanent only if all refusals were.
  std::optional<Failure> failure;
  std::optional<Reply> reply;          // the reply after the body, when one came
  std::vector<RecipientResult> rcpts;  // in the order given
  // The server offered DSN, so NOTIFY/ORCPT/RET/ENVID went with the
  // message. When false, recipients that asked NOTIFY=SUCCESS are owed a
  // "relayed" DSN by the relay (RFC 3461 5.2.2).
  bool dsn_passed = false;
  // The message went by BDAT.
  bool bdat = false;

  size_t delivered_count() const;
};

class ClientSession {
 public:
  struct Action {
    enum Kind { kSend, kNeedInput, kStartTls, kSendBody, kMessageDone, kIdle, kClose };
    Kind kind;
    // kSend: the bytes to write. kSendBody: the message's trace fields
    // (OutboundMessage::trace), to go through the body encoder before the
    // body; usually empty. Valid until the next call.
    std::string_view data;
    const MessageResult* result = nullptr;  // kMessageDone: valid until the next call
    uint64_t message = 0;                   // kSendBody: whose body
    std::chrono::seconds timeout{0};        // kSend, kNeedInput, kSendBody: I/O deadline
  };

  explicit ClientSession(ClientSessionOptions options);

  // Queues a message; returns its id (1, 2, ...). Messages go in the order
  // added. Added once QUIT has gone out or the connection has ended, it
  // comes back failed (not attempted) at once.
  uint64_t add(OutboundMessage message);
  // QUIT once the queued messages are done.
  void quit();

  // The connection is up: wait for the greeting.
  void start();
  // Instead of start(): the connection could not be made.
  void connect_failed(std::string reason);

  // REQUIRES: start() or connect_failed() was called; the last action was
  // dealt with (tls_started/tls_failed after kStartTls, body_sent/
  // body_failed after kSendBody); throws std::logic_error otherwise.
  Action next();

  void receive(std::string_view bytes);
  // The server closed the connection (or reading failed). Replies already
  // received are still read first.
  void eof();
  // The deadline of the last action passed: the connection ends at once.
  void timeout();
  // The completions of kStartTls and kSendBody. Once the session has closed
  // (after timeout(), say) they are ignored.
  void tls_started();
  void tls_failed(std::string reason);  // handshake or certificate check failed

  // After kSendBody: the encoder for this message (DATA or BDAT framing).
  DotEncoder body_encoder() const;
  // After kSendBody: the whole body went out through `encoder`, finished.
  // An encoder that is not ok() (unfinished; BDAT size mismatch) ends the
  // connection without QUIT, as the server is still reading data.
  void body_sent(const DotEncoder& encoder);
  void body_failed(std::string reason);

  const Capabilities& capabilities() const { return caps_; }
  // The name the server gave itself: the first word of its last 2xx
  // EHLO/HELO reply (RFC 5321 4.1.1.1: "250 Domain ..."), else of its 220
  // greeting (4.2: "220 Domain ..."); "" when none was given or it is not
  // printable ASCII of at most 255 octets (TLS-RPT "receiving-mx-helo").
  const std::string& server_name() const { return server_name_; }
  bool tls_active() const { return tls_; }
  bool authenticated() const { return authenticated_; }
  // Why the connection ended early, if it did.
  const std::optional<Failure>& connection_failure() const { return conn_failure_; }
  bool closed() const { return state_ == State::kClosed; }

 private:
  enum class State {
    kInit,      // before start()
    kSetup,     // greeting, EHLO, STARTTLS, AUTH
    kTls,       // kStartTls handed out
    kReady,     // between messages
    kTx,        // a transaction's replies are awaited
    kBody,      // kSendBody handed out
    kQuitting,  // QUIT sent
    kClosed,
  };
  // What the next reply answers.
  enum class Expect {
    kGreeting,
    kEhlo,
    kHelo,
    kStartTls,
    kAuth,
    kRset,
    kMail,
    kRcpt,
    kData,
    kEnd,
    kDiscardDot,
    kQuit
  };
  struct Pending {
    Expect what;
    size_t rcpt = 0;  // kRcpt: which recipient
  };
  enum class AuthStep { kPlain, kLoginStart, kLoginUser, kLoginPass, kXoauth2, kXoauth2Error };
  struct Tx {
    uint64_t id = 0;
    OutboundMessage msg;
    MessageResult result;
    bool pipelined = false;
    bool mail_ok = false;
    size_t accepted = 0;
    std::optional<Failure> failure;  // the message-wide failure so far
    bool ended = false;              // the reply after the body came
    std::string trace;               // OutboundMessage::trace's answer, counted in the size
    // LMTP: the recipients whose own reply after the body was 2xx; they
    // stay delivered whatever happens to the connection afterwards.
    std::vector<bool> confirmed;
  };

  void send(std::string_view line, Expect what, size_t rcpt = 0, std::string_view shown = {});
  void handle(const Reply& r);
  void dispatch(const Pending& p, const Reply& r);
  void on_greeting(const Reply& r);
  void on_ehlo(const Reply& r, bool ehlo);
  void after_ehlo();
  void on_starttls(const Reply& r);
  void begin_auth();
  void on_auth(const Reply& r);
  bool advance();  // kReady: starts the next message or QUIT; false when idle
  void begin_message();
  std::optional<Reply> local_check(const OutboundMessage& m) const;
  void send_mail();
  void send_rcpt(size_t i);
  void after_rcpts();
  void on_rset(const Reply& r);
  void on_mail(const Reply& r);
  void on_rcpt(const Reply& r, size_t i);
  void on_data(const Reply& r);
  void on_end(const Reply& r, size_t rcpt);
  void on_lmtp_end(const Reply& r, size_t rcpt);
  const char* hello_verb() const { return options_.lmtp ? "LHLO " : "EHLO "; }
  // The transaction is over: its result is queued; QUIT if it said so.
  void tx_done();
  void finish_tx();
  // Ends the connection: the current and queued messages fail with `f`.
  // With `quit`, QUIT is sent first (only when no reply is outstanding).
  void fail_connection(Failure f, bool quit);
  Failure reply_failure(Phase phase, const Reply& r, std::string detail = {}) const;
  static Phase phase_of(Expect what);
  Phase current_phase() const;
  std::chrono::seconds reply_timeout() const;
  void note(TranscriptDir dir, std::string_view line) const;

  ClientSessionOptions options_;
  State state_ = State::kInit;
  bool handed_ = false;  // kStartTls / kSendBody was handed out
  ReplyParser parser_;
  std::deque<Pending> expect_;
  bool eof_ = false;

  // Connection.
  Capabilities caps_;
  std::string server_name_;  // server_name()
  bool tls_ = false;
  bool tls_declined_ = false;  // STARTTLS refused, going on in plaintext
  bool authenticated_ = false;
  AuthStep auth_step_ = AuthStep::kPlain;
  std::string auth_detail_;                // XOAUTH2's error challenge, decoded
  bool need_rset_ = false;                 // a transaction is open on the server
  std::optional<Failure> close_after_tx_;  // end the connection after this transaction
  bool quit_requested_ = false;
  std::optional<Failure> conn_failure_;

  // Messages.
  uint64_t next_id_ = 1;
  std::deque<Tx> queue_;
  std::optional<Tx> tx_;
  std::deque<MessageResult> results_;
  MessageResult result_;  // the one handed out with kMessageDone

  std::string out_;   // commands not yet handed out
  std::string sent_;  // the bytes of the last kSend
};

}  // namespace tern
