#include "core/client_session.h"

#include <algorithm>
#include <stdexcept>

#include "core/base64.h"

namespace tern {

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool needs_utf8(const OutboundMessage& m) {
  if (m.mail.smtputf8 || m.mail.from.needs_utf8()) return true;
  return std::any_of(m.rcpts.begin(), m.rcpts.end(),
                     [](const RcptArgs& r) { return r.to.needs_utf8(); });
}

// RFC 3461 4.1: NEVER, or a comma list of SUCCESS, FAILURE, DELAY.
std::string notify_value(unsigned bits) {
  if (bits & kNotifyNever) return "NEVER";
  std::string out;
  for (auto [bit, name] :
       {std::pair{kNotifySuccess, "SUCCESS"}, std::pair{kNotifyFailure, "FAILURE"},
        std::pair{kNotifyDelay, "DELAY"}}) {
    if (!(bits & bit)) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

// The address must read back as itself through the server-side parser, so
// nothing a caller put in an Address (a CRLF, a ">") can leave its "<...>".
bool valid_path(const Address& a, bool sender) {
  return parse_path("<" + a.str() + ">", sender, !sender, true).has_value();
}

// RFC 3461 4.2: ORCPT=addr-type ";" xtext, addr-type an atom; we accept
// letters, digits and "-" (what registered types use, e.g. "rfc822", "utf-8").
bool valid_addr_type(std::string_view t) {
  return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// The first word of a greeting or EHLO/HELO reply: the server's name
// (RFC 5321 4.1.1.1, 4.2), or "" when it is missing or not a plausible
// name (hostile bytes stop here, though they are escaped later too).
std::string first_word(const Reply& r) {
  if (r.lines.empty()) return "";
  const std::string& line = r.lines.front();
  const std::string word = line.substr(0, line.find(' '));
  if (word.empty() || word.size() > 255) return "";
  for (char c : word) {
    if (c < 0x21 || c > 0x7e) return "";
  }
  return word;
}

// OutboundMessage::trace's contract: whole header fields, 7-bit, CRLF.
// Anything else could break the header section (an empty line ends it),
// change the message's size after SIZE= went out, or make it 8-bit.
bool valid_trace(std::string_view t) {
  if (t.empty() || t.front() == ' ' || t.front() == '\t') return false;
  if (!t.ends_with("\r\n")) return false;
  size_t line_start = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(t[i]);
    if (c == '\r') {
      if (i + 1 >= t.size() || t[i + 1] != '\n' || i == line_start) return false;
      line_start = ++i + 1;
    } else if ((c < 0x20 && c != '\t') || c >= 0x7f) {
      return false;
    }
  }
  return true;
}

Failure make_failure(Phase phase, Failure::Cause cause, std::string detail) {
  Failure f;
  f.phase = phase;
  f.cause = cause;
  f.detail = std::move(detail);
  return f;
}

}  // namespace

// --- Results ----------------------------------------------------------------

const char* phase_name(Phase phase) {
  static constexpr const char* kNames[] = {"connect", "greeting", "ehlo", "starttls", "auth",
                                           "mail",    "rcpt",     "data", "body"};
  return kNames[static_cast<int>(phase)];
}

std::string Failure::describe() const {
  std::string out = phase_name(phase);
  out += ": ";
  if (reply) {
    out += reply->brief();
    if (!detail.empty()) out += " (" + detail + ")";
  } else {
    out += detail;
  }
  return out;
}

size_t MessageResult::delivered_count() const {
  return static_cast<size_t>(std::count_if(rcpts.begin(), rcpts.end(),
                                           [](const RecipientResult& r) { return r.delivered(); }));
}

// --- The session ------------------------------------------------------------

ClientSession::ClientSession(ClientSessionOptions options) : options_(std::move(options)) {}

uint64_t ClientSession::add(OutboundMessage message) {
  Tx t;
  t.id = next_id_++;
  t.result.id = t.id;
  for (const RcptArgs& r : message.rcpts) t.result.rcpts.push_back(RecipientResult{r, {}, {}});
  t.msg = std::move(message);
  const uint64_t id = t.id;
  if (state_ == State::kQuitting || state_ == State::kClosed) {
    t.failure = conn_failure_ ? *conn_failure_
                              : make_failure(Phase::kConnect, Failure::Cause::kConnection,
                                             "the connection is closed");
    tx_.emplace(std::move(t));
    finish_tx();
  } else {
    queue_.push_back(std::move(t));
  }
  return id;
}

void ClientSession::quit() { quit_requested_ = true; }

void ClientSession::start() {
  if (state_ != State::kInit) throw std::logic_error("ClientSession::start() called twice");
  tls_ = options_.tls == TlsPolicy::kImplicit;
  state_ = State::kSetup;
  expect_.push_back({Expect::kGreeting});
  // RFC 5321 4.1.1.1: a domain or an address literal; never a line break.
  const std::string& name = options_.helo_name;
  if (name.empty() || name.find_first_of(std::string_view(" \r\n\0", 4)) != std::string::npos) {
    expect_.clear();
    fail_connection(make_failure(Phase::kEhlo, Failure::Cause::kPolicy, "invalid EHLO name"),
                    false);
  }
}

void ClientSession::connect_failed(std::string reason) {
  if (state_ != State::kInit) throw std::logic_error("ClientSession::connect_failed() too late");
  fail_connection(make_failure(Phase::kConnect, Failure::Cause::kConnection, std::move(reason)),
                  false);
}

ClientSession::Action ClientSession::next() {
  sent_.clear();
  for (;;) {
    if (!results_.empty()) {
      result_ = std::move(results_.front());
      results_.pop_front();
      Action a{Action::kMessageDone};
      a.result = &result_;
      return a;
    }
    if (!out_.empty()) {
      sent_.swap(out_);
      Action a{Action::kSend, sent_};
      a.timeout = options_.timeouts.command;
      return a;
    }
    switch (state_) {
      case State::kClosed:
        return {Action::kClose};
      case State::kInit:
        throw std::logic_error("ClientSession::next() before start()");
      case State::kTls:
      case State::kBody: {
        if (handed_) throw std::logic_error("ClientSession::next() while an action is outstanding");
        handed_ = true;
        if (state_ == State::kTls) return {Action::kStartTls};
        Action a{Action::kSendBody};
        a.data = tx_->trace;
        a.message = tx_->id;
        a.timeout = options_.timeouts.data_block;
        return a;
      }
      default:
        break;
    }
    if (!expect_.empty()) {
      if (std::optional<Reply> r = parser_.next()) {
        handle(*r);
        continue;
      }
      if (state_ == State::kQuitting && (eof_ || parser_.error() != ReplyParser::Error::kNone)) {
        state_ = State::kClosed;  // a connection closed after QUIT is fine
        continue;
      }
      if (parser_.error() != ReplyParser::Error::kNone) {
        static constexpr const char* kWhat[] = {"", "malformed reply", "reply code changed",
                                                "reply line too long", "too many reply lines"};
        Failure f = make_failure(
            current_phase(), Failure::Cause::kProtocol,
            std::string(kWhat[static_cast<int>(parser_.error())]) + ": " + parser_.error_detail());
        fail_connection(std::move(f), false);
        continue;
      }
      if (eof_) {
        fail_connection(make_failure(current_phase(), Failure::Cause::kConnection,
                                     "connection closed by the server"),
                        false);
        continue;
      }
      Action a{Action::kNeedInput};
      a.timeout = reply_timeout();
      return a;
    }
    if (eof_) {
      fail_connection(make_failure(current_phase(), Failure::Cause::kConnection,
                                   "connection closed by the server"),
                      false);
      continue;
    }
    if (state_ == State::kReady) {
      if (advance()) continue;
      return {Action::kIdle};
    }
    throw std::logic_error("ClientSession: nothing to wait for");  // a bug here
  }
}

void ClientSession::receive(std::string_view bytes) {
  // Between the 220 to STARTTLS and the handshake, plaintext is dropped.
  if (state_ == State::kTls || state_ == State::kClosed || eof_) return;
  parser_.feed(bytes);
}

void ClientSession::eof() { eof_ = true; }

void ClientSession::timeout() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kQuitting) {
    expect_.clear();
    state_ = State::kClosed;
    return;
  }
  fail_connection(make_failure(current_phase(), Failure::Cause::kConnection,
                               "timed out waiting for the server"),
                  false);
}

void ClientSession::tls_started() {
  if (state_ == State::kClosed) return;  // timeout() or a failure came first
  if (state_ != State::kTls || !handed_) throw std::logic_error("ClientSession::tls_started()");
  handed_ = false;
  tls_ = true;
  // RFC 3207 4.2: forget what was learned in plaintext, and EHLO again.
  caps_ = Capabilities{};
  parser_.discard();
  state_ = State::kSetup;
  send(hello_verb() + options_.helo_name, Expect::kEhlo);
}

void ClientSession::tls_failed(std::string reason) {
  if (state_ == State::kClosed) return;  // timeout() or a failure came first
  if (state_ != State::kTls) throw std::logic_error("ClientSession::tls_failed()");
  handed_ = false;
  fail_connection(
      make_failure(Phase::kStartTls, Failure::Cause::kTls, "TLS handshake failed: " + reason),
      false);
}

DotEncoder ClientSession::body_encoder() const {
  if (state_ != State::kBody || !tx_) throw std::logic_error("ClientSession::body_encoder()");
  // mail.size includes the trace (begin_message), as SIZE= and BDAT said.
  return tx_->result.bdat ? DotEncoder::Bdat(*tx_->msg.mail.size) : DotEncoder::Data();
}

void ClientSession::body_sent(const DotEncoder& encoder) {
  if (state_ == State::kClosed) return;  // timeout() or a failure came first
  if (state_ != State::kBody || !handed_) throw std::logic_error("ClientSession::body_sent()");
  handed_ = false;
  note(TranscriptDir::kSent,
       "<" + std::to_string(encoder.body_size()) + " octets of message data>");
  if (!encoder.ok()) {
    // The server is still inside DATA or the BDAT chunk: only closing the
    // connection keeps the rest of the stream from being read as commands.
    std::string why = !encoder.finished()
                          ? "the body was not finished"
                          : "the body came to " + std::to_string(encoder.body_size()) +
                                " octets, not the " + std::to_string(*tx_->msg.mail.size) +
                                " announced";
    return fail_connection(make_failure(Phase::kBody, Failure::Cause::kLocal, std::move(why)),
                           false);
  }
  state_ = State::kTx;
  if (!options_.lmtp) return expect_.push_back({Expect::kEnd});
  // RFC 2033 4.2: one reply for each RCPT that was accepted, in order.
  const MessageResult& res = tx_->result;
  for (size_t i = 0; i < res.rcpts.size(); ++i) {
    if (!res.rcpts[i].failure) expect_.push_back({Expect::kEnd, i});
  }
}

void ClientSession::body_failed(std::string reason) {
  if (state_ == State::kClosed) return;  // timeout() or a failure came first
  if (state_ != State::kBody) throw std::logic_error("ClientSession::body_failed()");
  handed_ = false;
  fail_connection(make_failure(Phase::kBody, Failure::Cause::kConnection, std::move(reason)),
                  false);
}

// --- Sending and dispatching ------------------------------------------------

void ClientSession::note(TranscriptDir dir, std::string_view line) const {
  if (options_.transcript) options_.transcript(dir, line);
}

void ClientSession::send(std::string_view line, Expect what, size_t rcpt, std::string_view shown) {
  out_.append(line);
  out_ += "\r\n";
  note(TranscriptDir::kSent, shown.empty() ? line : shown);
  expect_.push_back({what, rcpt});
}

Phase ClientSession::phase_of(Expect what) {
  switch (what) {
    case Expect::kGreeting:
      return Phase::kGreeting;
    case Expect::kEhlo:
    case Expect::kHelo:
      return Phase::kEhlo;
    case Expect::kStartTls:
      return Phase::kStartTls;
    case Expect::kAuth:
      return Phase::kAuth;
    case Expect::kRcpt:
      return Phase::kRcpt;
    case Expect::kData:
    case Expect::kDiscardDot:
      return Phase::kData;
    case Expect::kEnd:
      return Phase::kBody;
    case Expect::kRset:
    case Expect::kMail:
    case Expect::kQuit:
      break;
  }
  return Phase::kMail;
}

Phase ClientSession::current_phase() const {
  if (!expect_.empty()) return phase_of(expect_.front().what);
  switch (state_) {
    case State::kInit:
      return Phase::kConnect;
    case State::kTls:
      return Phase::kStartTls;
    case State::kBody:
      return Phase::kBody;
    case State::kSetup:
      return Phase::kGreeting;
    default:
      return Phase::kMail;
  }
}

std::chrono::seconds ClientSession::reply_timeout() const {
  const ClientTimeouts& t = options_.timeouts;
  switch (expect_.front().what) {
    case Expect::kGreeting:
      return t.greeting;
    case Expect::kMail:
      return t.mail;
    case Expect::kRcpt:
      return t.rcpt;
    case Expect::kData:
      return t.data_init;
    case Expect::kEnd:
    case Expect::kDiscardDot:
      return t.data_end;
    default:
      return t.command;
  }
}

Failure ClientSession::reply_failure(Phase phase, const Reply& r, std::string detail) const {
  Failure f = make_failure(phase, Failure::Cause::kReply, std::move(detail));
  f.permanent = r.code >= 500;
  f.reply = r;
  return f;
}

void ClientSession::handle(const Reply& r) {
  for (const std::string& line : parser_.raw_lines()) note(TranscriptDir::kReceived, line);
  const Pending p = expect_.front();
  expect_.pop_front();
  const Phase phase = phase_of(p.what);
  if (p.what == Expect::kQuit) {
    state_ = State::kClosed;
    return;
  }
  // RFC 5321 3.8: 421 means the server is closing the connection.
  if (r.code == 421) {
    expect_.clear();
    return fail_connection(reply_failure(phase, r), false);
  }
  // A reply must answer a command: once every command sent is answered,
  // nothing more may have come (except after STARTTLS, which drops it).
  // The reply in hand still counts (a 250 after the body is a delivery);
  // what follows it is judged after it.
  const bool extra = expect_.empty() && p.what != Expect::kStartTls && parser_.buffered() > 0;
  dispatch(p, r);
  if (!extra || state_ == State::kClosed || state_ == State::kQuitting) return;
  // RFC 5321 3.8: a server may announce 421 at any time, e.g. when it
  // shuts down right after a reply.
  std::optional<Reply> more = parser_.next();
  if (more && more->code == 421) {
    for (const std::string& line : parser_.raw_lines()) note(TranscriptDir::kReceived, line);
    return fail_connection(reply_failure(phase, *more), false);
  }
  fail_connection(
      make_failure(phase, Failure::Cause::kProtocol, "the server sent more than was asked"), false);
}

void ClientSession::dispatch(const Pending& p, const Reply& r) {
  const Phase phase = phase_of(p.what);
  // Each command expects one class of positive reply; 4xx/5xx are refusals
  // handled below; anything else means the server is not following along.
  int want = 2;
  if (p.what == Expect::kData || (p.what == Expect::kAuth && r.code == 334)) want = 3;
  if (r.code / 100 != want && r.code < 400) {
    return fail_connection(
        make_failure(phase, Failure::Cause::kProtocol, "unexpected reply " + r.brief()), false);
  }
  switch (p.what) {
    case Expect::kGreeting:
      return on_greeting(r);
    case Expect::kEhlo:
      return on_ehlo(r, true);
    case Expect::kHelo:
      return on_ehlo(r, false);
    case Expect::kStartTls:
      return on_starttls(r);
    case Expect::kAuth:
      return on_auth(r);
    case Expect::kRset:
      return on_rset(r);
    case Expect::kMail:
      return on_mail(r);
    case Expect::kRcpt:
      return on_rcpt(r, p.rcpt);
    case Expect::kData:
      return on_data(r);
    case Expect::kEnd:
      return on_end(r, p.rcpt);
    case Expect::kDiscardDot:
      need_rset_ = false;
      return tx_done();
    case Expect::kQuit:
      return;
  }
}

void ClientSession::fail_connection(Failure f, bool quit) {
  if (!conn_failure_) conn_failure_ = f;
  const bool can_quit = quit && expect_.empty() && state_ != State::kBody && state_ != State::kTls;
  expect_.clear();
  out_.clear();  // commands not yet handed out will never be answered
  if (tx_) {
    if (!tx_->failure) tx_->failure = f;
    finish_tx();
  }
  while (!queue_.empty()) {
    tx_.emplace(std::move(queue_.front()));
    queue_.pop_front();
    tx_->failure = f;
    finish_tx();
  }
  parser_.discard();
  handed_ = false;
  if (can_quit) {
    state_ = State::kQuitting;
    send("QUIT", Expect::kQuit);
  } else {
    state_ = State::kClosed;
  }
}

// --- Connection setup -------------------------------------------------------

void ClientSession::on_greeting(const Reply& r) {
  // RFC 5321 3.1: after a 554 (or any refusal) the client still sends QUIT.
  if (r.code / 100 != 2) return fail_connection(reply_failure(Phase::kGreeting, r), true);
  server_name_ = first_word(r);
  send(hello_verb() + options_.helo_name, Expect::kEhlo);
}

void ClientSession::on_ehlo(const Reply& r, bool ehlo) {
  if (r.code / 100 == 2) {
    caps_ = ehlo ? parse_ehlo_reply(r) : Capabilities{};
    if (std::string name = first_word(r); !name.empty()) server_name_ = std::move(name);
    return after_ehlo();
  }
  // RFC 5321 3.2: "command not recognized" to EHLO -> HELO. Not on 4xx:
  // that is a temporary refusal of the session, not an old server.
  // RFC 2033 4.1: an LMTP server must know LHLO; HELO is not LMTP.
  if (ehlo && !options_.lmtp && (r.code == 500 || r.code == 502)) {
    return send("HELO " + options_.helo_name, Expect::kHelo);
  }
  fail_connection(reply_failure(Phase::kEhlo, r), true);
}

void ClientSession::after_ehlo() {
  const bool want_tls =
      options_.tls == TlsPolicy::kOpportunistic || options_.tls == TlsPolicy::kRequired;
  if (!tls_ && !tls_declined_ && want_tls) {
    if (caps_.starttls) return send("STARTTLS", Expect::kStartTls);
    if (options_.tls == TlsPolicy::kRequired) {
      return fail_connection(make_failure(Phase::kStartTls, Failure::Cause::kTls,
                                          "TLS required but STARTTLS not offered"),
                             true);
    }
  }
  if (options_.auth && !authenticated_) return begin_auth();
  state_ = State::kReady;
}

void ClientSession::on_starttls(const Reply& r) {
  if (r.code == 220) {
    // Whatever came after the 220 was sent in plaintext and could be an
    // attacker's: it must not be read as the first reply under TLS.
    parser_.discard();
    state_ = State::kTls;
    handed_ = false;
    return;
  }
  if (options_.tls == TlsPolicy::kOpportunistic && options_.tls_fallback_plain) {
    tls_declined_ = true;
    return after_ehlo();
  }
  fail_connection(reply_failure(Phase::kStartTls, r, "STARTTLS refused"), true);
}

void ClientSession::begin_auth() {
  const Credentials& c = *options_.auth;
  if (!tls_ && !options_.allow_cleartext_auth) {
    return fail_connection(make_failure(Phase::kAuth, Failure::Cause::kPolicy,
                                        "refusing to send credentials without TLS"),
                           true);
  }
  std::string mech = upper(c.mechanism);
  if (mech.empty()) {
    if (!c.oauth_token.empty()) {
      mech = "XOAUTH2";
    } else if (caps_.offers_auth("PLAIN")) {
      mech = "PLAIN";
    } else if (caps_.offers_auth("LOGIN")) {
      mech = "LOGIN";
    }
  }
  if (mech.empty() || !caps_.offers_auth(mech)) {
    std::string offered;
    for (const std::string& m : caps_.auth) offered += (offered.empty() ? "" : " ") + m;
    std::string why = caps_.auth.empty() ? "the server does not offer AUTH"
                      : mech.empty() ? "no usable AUTH mechanism (server offers " + offered + ")"
                                     : "the server does not offer AUTH " + mech;
    return fail_connection(make_failure(Phase::kAuth, Failure::Cause::kPolicy, why), true);
  }
  auth_detail_.clear();
  if (mech == "PLAIN") {
    // RFC 4616 2: authzid NUL authcid NUL passwd; sent as the initial
    // response (RFC 4954 4).
    auth_step_ = AuthStep::kPlain;
    std::string creds = std::string(1, '\0') + c.user + '\0' + c.password;
    send("AUTH PLAIN " + base64_encode(creds), Expect::kAuth, 0, "AUTH PLAIN <redacted>");
  } else if (mech == "LOGIN") {
    auth_step_ = AuthStep::kLoginStart;
    send("AUTH LOGIN", Expect::kAuth);
  } else if (mech == "XOAUTH2") {
    // Google's and Microsoft's XOAUTH2: "user=" u ^A "auth=Bearer " token ^A ^A.
    auth_step_ = AuthStep::kXoauth2;
    std::string creds = "user=" + c.user + "\x01" + "auth=Bearer " + c.oauth_token + "\x01\x01";
    send("AUTH XOAUTH2 " + base64_encode(creds), Expect::kAuth, 0, "AUTH XOAUTH2 <redacted>");
  } else {
    fail_connection(make_failure(Phase::kAuth, Failure::Cause::kPolicy,
                                 "AUTH " + mech + " is not supported by this client"),
                    true);
  }
}

void ClientSession::on_auth(const Reply& r) {
  if (r.code / 100 == 2) {
    authenticated_ = true;
    state_ = State::kReady;
    return;
  }
  if (r.code == 334) {
    const Credentials& c = *options_.auth;
    switch (auth_step_) {
      case AuthStep::kLoginStart:  // "Username:"
        auth_step_ = AuthStep::kLoginUser;
        return send(base64_encode(c.user), Expect::kAuth, 0, "<redacted>");
      case AuthStep::kLoginUser:  // "Password:"
        auth_step_ = AuthStep::kLoginPass;
        return send(base64_encode(c.password), Expect::kAuth, 0, "<redacted>");
      case AuthStep::kXoauth2: {
        // The token was refused: the challenge is a JSON error, and an
        // empty response gets the final (failure) reply.
        auto json = base64_decode(r.lines.empty() ? "" : r.lines[0]);
        if (json) auth_detail_ = *json;
        auth_step_ = AuthStep::kXoauth2Error;
        return send("", Expect::kAuth);
      }
      default:
        return fail_connection(make_failure(Phase::kAuth, Failure::Cause::kProtocol,
                                            "unexpected challenge " + r.brief()),
                               false);
    }
  }
  fail_connection(reply_failure(Phase::kAuth, r, auth_detail_), true);
}

// --- Transactions -----------------------------------------------------------

bool ClientSession::advance() {
  if (!queue_.empty()) {
    begin_message();
    return true;
  }
  if (quit_requested_) {
    state_ = State::kQuitting;
    send("QUIT", Expect::kQuit);
    return true;
  }
  return false;
}

std::optional<Reply> ClientSession::local_check(const OutboundMessage& m) const {
  const MailArgs& mail = m.mail;
  if (m.rcpts.empty()) return Reply(554, "5.5.1", "The message has no recipients");
  if (!valid_path(mail.from, true)) return Reply(553, "5.1.7", "Invalid sender address");
  for (const RcptArgs& r : m.rcpts) {
    if (!valid_path(r.to, false)) return Reply(553, "5.1.3", "Invalid recipient address");
  }
  // RFC 6531 3.2: no downgrade here; the message cannot go to this server.
  if (needs_utf8(m) && !caps_.smtputf8)
    return Reply(553, "5.6.7", "The message needs SMTPUTF8, which the server does not offer");
  // RFC 8689 4.2.1: a REQUIRETLS message goes only over TLS, to a server
  // that offers REQUIRETLS (whether the TLS was authenticated enough is
  // the caller's to decide before the session starts: relay/requiretls).
  if (mail.requiretls && (!tls_ || !caps_.requiretls)) {
    return Reply(550, "5.7.30",
                 !tls_ ? "REQUIRETLS support required: the session is not encrypted"
                       : "REQUIRETLS support required: the server does not offer REQUIRETLS");
  }
  // RFC 1870 6: a message known to exceed the announced limit is not sent.
  if (caps_.size && caps_.max_size > 0 && mail.size && *mail.size > caps_.max_size) {
    return Reply(552, "5.3.4",
                 "Message size " + std::to_string(*mail.size) + " exceeds the server's limit of " +
                     std::to_string(caps_.max_size));
  }
  // RFC 6152 3: 8-bit data only to a server that announced 8BITMIME. We do
  // not convert (left to the MIME layer), so the default is to refuse.
  if (mail.body == BodyType::kBinaryMime)
    return Reply(554, "5.6.3", "Conversion required: BINARYMIME is not sent by this client");
  if (mail.body == BodyType::k8BitMime && !caps_.eightbitmime &&
      options_.eight_bit == EightBitPolicy::kRefuse) {
    return Reply(554, "5.6.3",
                 "Conversion required: 8-bit message, and the server does not offer 8BITMIME");
  }
  return std::nullopt;
}

void ClientSession::begin_message() {
  tx_.emplace(std::move(queue_.front()));
  queue_.pop_front();
  Tx& t = *tx_;
  if (t.msg.trace) {
    // Asked now, not at add(): only the set-up connection knows its TLS.
    std::string trace = t.msg.trace();
    if (valid_trace(trace)) {
      t.trace = std::move(trace);
      if (t.msg.mail.size) *t.msg.mail.size += t.trace.size();
    }
  }
  if (std::optional<Reply> refusal = local_check(t.msg)) {
    t.failure = make_failure(Phase::kMail, Failure::Cause::kLocal, "");
    t.failure->permanent = refusal->code >= 500;
    t.failure->reply = std::move(refusal);
    return tx_done();
  }
  t.pipelined = caps_.pipelining && options_.pipelining;
  t.result.attempted = true;
  t.result.dsn_passed = caps_.dsn;
  t.result.bdat = options_.chunking && caps_.chunking && t.msg.mail.size.has_value();
  state_ = State::kTx;
  // RFC 2920 3.1: RSET, MAIL and RCPT may be anywhere in a batch; DATA
  // must be last. Without PIPELINING each command waits for its reply.
  if (need_rset_) {
    send("RSET", Expect::kRset);
    if (!t.pipelined) return;
  }
  send_mail();
  if (!t.pipelined) return;
  for (size_t i = 0; i < t.msg.rcpts.size(); ++i) send_rcpt(i);
  if (!t.result.bdat) send("DATA", Expect::kData);
}

void ClientSession::send_mail() {
  const MailArgs& m = tx_->msg.mail;
  std::string line = "MAIL FROM:<" + m.from.str() + ">";
  if (caps_.size && m.size) line += " SIZE=" + std::to_string(*m.size);               // RFC 1870 6
  if (m.body == BodyType::k8BitMime && caps_.eightbitmime) line += " BODY=8BITMIME";  // RFC 6152
  if (needs_utf8(tx_->msg)) line += " SMTPUTF8";  // RFC 6531 3.4; offered, or local_check refused
  if (m.requiretls)
    line += " REQUIRETLS";  // RFC 8689 4.2.1; offered over TLS, or local_check refused
  if (caps_.dsn) {          // RFC 3461 4.3, 4.4: only to a server that offers DSN
    if (m.ret == DsnRet::kFull) line += " RET=FULL";
    if (m.ret == DsnRet::kHdrs) line += " RET=HDRS";
    if (!m.envid.empty()) line += " ENVID=" + xtext_encode(m.envid);
  }
  send(line, Expect::kMail);
}

void ClientSession::send_rcpt(size_t i) {
  const RcptArgs& r = tx_->msg.rcpts[i];
  std::string line = "RCPT TO:<" + r.to.str() + ">";
  if (caps_.dsn) {  // RFC 3461 4.1, 4.2
    if (r.notify != kNotifyNone) line += " NOTIFY=" + notify_value(r.notify);
    if (size_t semi = r.orcpt.find(';');
        semi != std::string::npos && valid_addr_type(std::string_view(r.orcpt).substr(0, semi))) {
      line += " ORCPT=" + r.orcpt.substr(0, semi + 1) + xtext_encode(r.orcpt.substr(semi + 1));
    }
  }
  send(line, Expect::kRcpt, i);
}

void ClientSession::on_rset(const Reply& r) {
  Tx& t = *tx_;
  if (r.code / 100 == 2) {
    need_rset_ = false;
    if (!t.pipelined) send_mail();
    return;
  }
  // A server that will not reset cannot be trusted with another message.
  Failure f = reply_failure(Phase::kMail, r, "RSET refused");
  f.permanent = false;
  if (!t.failure) t.failure = f;
  close_after_tx_ = f;
  if (!t.pipelined) tx_done();
}

void ClientSession::on_mail(const Reply& r) {
  Tx& t = *tx_;
  if (r.code / 100 == 2) {
    need_rset_ = true;  // a transaction is open on the server until its end
    if (!t.failure) t.mail_ok = true;
    if (!t.pipelined) send_rcpt(0);
    return;
  }
  if (!t.failure) t.failure = reply_failure(Phase::kMail, r);
  if (!t.pipelined) tx_done();
}

void ClientSession::on_rcpt(const Reply& r, size_t i) {
  Tx& t = *tx_;
  RecipientResult& rr = t.result.rcpts[i];
  rr.reply = r;
  // After a refused MAIL, RCPT replies (503) say nothing about the recipient.
  if (t.mail_ok) {
    if (r.code / 100 == 2) {
      ++t.accepted;
    } else {
      rr.failure = reply_failure(Phase::kRcpt, r);
    }
  }
  const bool last = i + 1 == t.msg.rcpts.size();
  if (!t.pipelined && !last) return send_rcpt(i + 1);
  if (last && (!t.pipelined || t.result.bdat)) after_rcpts();
}

void ClientSession::after_rcpts() {
  Tx& t = *tx_;
  // No recipient: no DATA (the open transaction is RSET before the next one).
  if (t.failure || !t.mail_ok || t.accepted == 0) return tx_done();
  if (!t.result.bdat) return send("DATA", Expect::kData);
  // RFC 3030 2: one chunk with the whole body; its reply comes after it.
  std::string line = "BDAT " + std::to_string(*t.msg.mail.size) + " LAST";
  out_ += line + "\r\n";
  note(TranscriptDir::kSent, line);
  state_ = State::kBody;
  handed_ = false;
}

void ClientSession::on_data(const Reply& r) {
  Tx& t = *tx_;
  if (r.code / 100 == 3) {
    if (!t.failure && t.mail_ok && t.accepted > 0) {
      state_ = State::kBody;
      handed_ = false;
      return;
    }
    // RFC 2920 3.1: DATA was accepted although nothing may be sent: a lone
    // "." ends it with an empty message, which the server must refuse.
    return send(".", Expect::kDiscardDot);
  }
  if (!t.failure && t.mail_ok && t.accepted > 0) t.failure = reply_failure(Phase::kData, r);
  tx_done();
}

void ClientSession::on_end(const Reply& r, size_t rcpt) {
  if (options_.lmtp) return on_lmtp_end(r, rcpt);
  Tx& t = *tx_;
  need_rset_ = false;  // RFC 5321 4.1.1.4: the transaction ends either way
  t.ended = true;
  t.result.reply = r;
  if (r.code / 100 != 2 && !t.failure) t.failure = reply_failure(Phase::kBody, r);
  tx_done();
}

void ClientSession::on_lmtp_end(const Reply& r, size_t rcpt) {
  Tx& t = *tx_;
  t.result.reply = r;  // the last one, for the log
  if (t.confirmed.empty()) t.confirmed.assign(t.result.rcpts.size(), false);
  t.result.rcpts[rcpt].reply = r;
  if (r.code / 100 == 2) {
    t.confirmed[rcpt] = true;
  } else {
    t.result.rcpts[rcpt].failure = reply_failure(Phase::kBody, r);
    --t.accepted;  // finish_tx reports the message failed once none is left
  }
  if (!expect_.empty() && expect_.front().what == Expect::kEnd) return;  // more to come
  need_rset_ = false;
  t.ended = true;
  tx_done();
}

void ClientSession::tx_done() {
  finish_tx();
  if (close_after_tx_) {
    Failure f = std::move(*close_after_tx_);
    close_after_tx_.reset();
    return fail_connection(std::move(f), true);
  }
  state_ = State::kReady;
}

void ClientSession::finish_tx() {
  Tx& t = *tx_;
  MessageResult& res = t.result;
  std::optional<Failure> fail = t.failure;
  if (!fail && t.accepted == 0) {
    // Every RCPT was refused: report the first refusal for the message.
    for (const RecipientResult& r : res.rcpts) {
      if (!r.failure) continue;
      if (!fail) {
        fail = *r.failure;
        fail->detail = "no recipient accepted";
        fail->permanent = true;
      }
      fail->permanent = fail->permanent && r.failure->permanent;
    }
  }
  if (!fail && !t.ended) {  // not reached: every path to here sets a failure or ends
    fail = make_failure(Phase::kBody, Failure::Cause::kProtocol, "transaction did not end");
  }
  bool any_confirmed = false;
  for (size_t i = 0; i < res.rcpts.size(); ++i) {
    RecipientResult& r = res.rcpts[i];
    // LMTP: a recipient the server confirmed after the body is delivered,
    // whatever went wrong later (the connection lost before the others).
    if (i < t.confirmed.size() && t.confirmed[i]) {
      any_confirmed = true;
      continue;
    }
    if (!r.failure && fail) r.failure = fail;
  }
  if (!any_confirmed) res.failure = std::move(fail);
  results_.push_back(std::move(res));
  tx_.reset();
}

}  // namespace tern
