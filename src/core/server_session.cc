#include "core/server_session.h"

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "core/base64.h"
#include "core/command.h"
#include "core/params.h"
#include "core/received.h"

namespace tern {

namespace {

// RFC 5321 4.5.3.1.4: 512 octets with CRLF, plus what our extensions add to
// MAIL/RCPT: SIZE 26 (RFC 1870 5), SMTPUTF8 10 (RFC 6531 3.4), AUTH= 500
// (RFC 4954 5), DSN's ENVID/RET/NOTIFY/ORCPT 500 (RFC 3461 4).
constexpr size_t kMaxCommandLine = 512 + 26 + 10 + 500 + 500;
// RFC 4954 4: AUTH lines (initial response, SASL responses) up to 12288.
constexpr size_t kMaxAuthLine = 12288;
// RCPTs over max_recipients that are not counted as errors, per transaction.
constexpr size_t kMaxOvershoot = 1000;
// Message data is handed out in pieces of about this size.
constexpr size_t kDataChunk = 64 * 1024;

// Text from DNS (an SPF explanation) for a reply line: printable ASCII only.
std::string reply_text(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 400)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  return out;
}

// The command line as the log may show it: AUTH's initial response is a
// password (PLAIN) or a user name (LOGIN), never logged (RFC 4954 4 puts
// the credentials on the command line itself).
std::string redacted(std::string_view line) {
  Command cmd = parse_command(line);
  if (cmd.verb != Verb::kAuth) return std::string(line);
  size_t sp = cmd.arg.find(' ');
  if (sp == std::string_view::npos) return std::string(line);
  return std::string(line.substr(0, line.size() - cmd.arg.size() + sp)) + " <redacted>";
}

}  // namespace

const char* session_end_name(SessionEnd e) {
  switch (e) {
    case SessionEnd::kOpen:
      return "open";
    case SessionEnd::kQuit:
      return "quit";
    case SessionEnd::kClientClosed:
      return "client_closed";
    case SessionEnd::kRefused:
      return "refused";
    case SessionEnd::kTimeout:
      return "timeout";
    case SessionEnd::kShutdown:
      return "shutdown";
    case SessionEnd::kTooManyErrors:
      return "too_many_errors";
    case SessionEnd::kTooManyCommands:
      return "too_many_commands";
    case SessionEnd::kTooManyAuthFailures:
      return "too_many_auth_failures";
    case SessionEnd::kHttp:
      return "http_request";
  }
  return "open";
}

const char* spf_result_name(SpfResult r) {
  switch (r) {
    case SpfResult::kNone:
      return "none";
    case SpfResult::kNeutral:
      return "neutral";
    case SpfResult::kPass:
      return "pass";
    case SpfResult::kFail:
      return "fail";
    case SpfResult::kSoftFail:
      return "softfail";
    case SpfResult::kTempError:
      return "temperror";
    case SpfResult::kPermError:
      return "permerror";
  }
  return "none";
}

// The command table (RFC 5321 4.1, RFC 3207, RFC 4954, RFC 3030, RFC
// 1985), in the order of Verb. "Needs" are checked once, by dispatch
// (handle_command), before the handler; each handler checks its arguments
// and proceeds.
const ServerSession::CommandSpec ServerSession::kCommands[] = {
    {Verb::kHelo, "HELO", kEndsGroup, &ServerSession::cmd_helo},
    {Verb::kEhlo, "EHLO", kEndsGroup, &ServerSession::cmd_ehlo},
    {Verb::kMail, "MAIL", kHelo | kNoTx | kAuthed, &ServerSession::cmd_mail},
    {Verb::kRcpt, "RCPT", kTx | kUncounted, &ServerSession::cmd_rcpt},
    {Verb::kData, "DATA", kNoArgs | kTx | kEndsGroup | kUncounted, &ServerSession::cmd_data},
    // A BDAT chunk is read even when it cannot be used, to stay in step:
    // its handler decides after the chunk (RFC 3030 2).
    {Verb::kBdat, "BDAT", kUncounted, &ServerSession::cmd_bdat},
    {Verb::kRset, "RSET", kNoArgs, &ServerSession::cmd_rset},
    {Verb::kNoop, "NOOP", kEndsGroup, &ServerSession::cmd_noop},
    {Verb::kQuit, "QUIT", kNoArgs | kWhileDraining | kEndsGroup | kUncounted,
     &ServerSession::cmd_quit},
    {Verb::kVrfy, "VRFY", kEndsGroup, &ServerSession::cmd_vrfy},
    {Verb::kExpn, "EXPN", kEndsGroup, &ServerSession::cmd_expn},
    {Verb::kHelp, "HELP", 0, &ServerSession::cmd_help},
    {Verb::kStartTls, "STARTTLS", kNoArgs | kBeforeTls | kOffered | kNoTx | kEndsGroup,
     &ServerSession::cmd_starttls},
    {Verb::kAuth, "AUTH", kOffered | kTls | kHelo | kNotAuthed | kNoTx | kEndsGroup,
     &ServerSession::cmd_auth},
    {Verb::kEtrn, "ETRN", kOffered | kHelo | kNoTx, &ServerSession::cmd_etrn},
    {Verb::kObsolete, "TURN", kEndsGroup, &ServerSession::cmd_obsolete},
    {Verb::kUnknown, "", 0, &ServerSession::cmd_unknown},
};

const ServerSession::CommandSpec& ServerSession::spec_of(Verb verb) {
  for (const CommandSpec& spec : kCommands)
    if (spec.verb == verb) return spec;
  return kCommands[std::size(kCommands) - 1];  // kUnknown
}

ServerSession::ServerSession(SessionOptions options, SessionEnv* env, std::string client_ip)
    : options_(std::move(options)), env_(env), client_ip_(std::move(client_ip)) {}

const std::optional<SpfOutcome>& ServerSession::spf_outcome() const {
  static const std::optional<SpfOutcome> kNone;
  return tx_ ? tx_->spf : kNone;
}

void ServerSession::start(std::optional<Reply> refuse, std::optional<SessionTls> tls) {
  tls_ = std::move(tls);
  state_ = State::kCommand;
  if (refuse) {
    close_after(std::move(*refuse), SessionEnd::kRefused, false);
    return;
  }
  // RFC 2034 3: no enhanced code in the greeting.
  reply(Reply(220, "", options_.hostname + " ESMTP tern"));
}

void ServerSession::start_refused(Reply refusal) {
  state_ = State::kCommand;
  refused_ = refusal.lines.empty() ? "refused" : refusal.lines.front();
  emit(refusal, false);
}

ServerSession::Action ServerSession::next() {
  if (body_handed_) {
    body_.clear();
    body_handed_ = false;
  }
  sent_.clear();
  for (;;) {
    // Message data always precedes the end or abort of its message.
    if (message_open_ && !body_.empty()) {
      body_handed_ = true;
      return {Action::kMessageData, body_};
    }
    if (pending_) {
      // Replies go out before anything that waits or changes the stream.
      if (!out_.empty()) {
        sent_.swap(out_);
        return {Action::kSend, sent_};
      }
      Action::Kind kind = *pending_;
      pending_.reset();
      if (kind == Action::kMessageBegin) message_open_ = true;
      if (kind == Action::kMessageEnd || kind == Action::kMessageAbort) message_open_ = false;
      return {kind, {}};
    }
    if (state_ == State::kClosed) {
      if (!out_.empty()) {
        sent_.swap(out_);
        return {Action::kSend, sent_};
      }
      return {Action::kClose, {}};
    }
    if (state_ == State::kWaiting || state_ == State::kGreeting)
      throw std::logic_error("ServerSession::next() while an action is outstanding");
    size_t before_body = body_.size();
    bool had_pending = pending_.has_value();
    process_input();
    if (pending_.has_value() != had_pending || body_.size() != before_body ||
        state_ == State::kClosed || (flush_ && out_.empty()))
      continue;
    if (!out_.empty()) {
      sent_.swap(out_);
      return {Action::kSend, sent_};
    }
    return {Action::kNeedInput, {}};
  }
}

void ServerSession::receive(std::string_view bytes) {
  if (state_ == State::kClosed) return;
  in_.append(bytes);
}

void ServerSession::eof() {
  if (state_ == State::kClosed) return;
  if (message_open_) {
    body_.clear();
    pending_ = Action::kMessageAbort;
  }
  state_ = State::kClosed;
  end_ = SessionEnd::kClientClosed;
}

bool ServerSession::awaiting_command() const {
  return state_ == State::kCommand && !tx_ && !pending_;
}

void ServerSession::set_pending(Action::Kind kind) {
  pending_ = kind;
  if (kind == Action::kStartTls || kind == Action::kCheckAuth || kind == Action::kCheckSpf ||
      kind == Action::kFilter || kind == Action::kMessageEnd)
    state_ = State::kWaiting;  // until tls_started/auth_checked/spf_checked/message_stored
}

// Every reply, and so every refusal, passes here (as Postfix's
// smtpd_chat_reply, OpenSMTPD's smtp_reply).
void ServerSession::emit(const Reply& r, bool by_command) {
  out_ += r.wire();
  if (r.code < 400) return;
  Refusal ev{r, by_command ? std::string_view(command_) : std::string_view(), {}, {}, refused_to_};
  std::string from;
  if (tx_) {
    from = tx_->mail.from.str();
    ev.queue_id = tx_->id;
    ev.from = from;
  }
  env_->on_refusal(ev);
}

void ServerSession::reply(Reply r, bool counts) {
  emit(r, true);
  // Every 4xx/5xx counts against the client (Postfix smtpd_hard_error_limit).
  if (counts && r.code >= 400 && r.code != 421 && state_ != State::kClosed) {
    if (++counts_.errors >= options_.max_errors)
      close_after(Reply(421, "4.7.0", options_.hostname + " Too many errors, closing connection"),
                  SessionEnd::kTooManyErrors);
  }
}

void ServerSession::close_after(Reply r, SessionEnd why, bool by_command) {
  if (state_ == State::kClosed) return;
  emit(r, by_command);
  if (message_open_) {
    body_.clear();
    pending_ = Action::kMessageAbort;
  }
  state_ = State::kClosed;
  end_ = why;
}

void ServerSession::timeout(std::string_view what) {
  close_after(Reply(421, "4.4.2", options_.hostname + " Error: " + std::string(what)),
              SessionEnd::kTimeout, false);
}

void ServerSession::shutdown() {
  close_after(Reply(421, "4.3.2", options_.hostname + " Service shutting down, try again later"),
              SessionEnd::kShutdown, false);
}

void ServerSession::set_draining() {
  draining_ = true;
  if (awaiting_command()) shutdown();
}

size_t ServerSession::line_limit() const {
  bool auth =
      state_ == State::kAuthPlain || state_ == State::kAuthUser || state_ == State::kAuthPass;
  return auth ? kMaxAuthLine : kMaxCommandLine;
}

// Consumes as much input as the current state allows; stops when an action
// is pending, when a chunk of data is ready, or when input runs out.
void ServerSession::process_input() {
  flush_ = false;
  while (!pending_ && !flush_ && state_ != State::kClosed && state_ != State::kWaiting &&
         body_.size() < kDataChunk) {
    std::string_view avail = std::string_view(in_).substr(in_pos_);
    if (state_ == State::kData) {
      if (avail.empty()) break;
      process_data();
      continue;
    }
    if (state_ == State::kBdat) {
      if (avail.empty() && chunk_.remaining > 0) break;
      process_bdat();
      continue;
    }
    size_t lf = avail.find('\n');
    if (state_ == State::kDiscardLine) {
      if (lf == std::string_view::npos) {
        in_pos_ = in_.size();
        break;
      }
      in_pos_ += lf + 1;
      state_ = State::kCommand;
      reply(500, "5.5.2", "Line too long");
      continue;
    }
    if (lf == std::string_view::npos) {
      if (avail.size() > line_limit()) {  // never buffer an endless line
        if (state_ == State::kCommand) {  // SASL data never becomes the logged command
          ++counts_.commands;
          refused_to_.clear();
          command_.assign(avail.substr(0, 64));
          command_ += "...";
        }
        in_pos_ = in_.size();
        state_ = State::kDiscardLine;
      }
      break;
    }
    in_pos_ += lf + 1;
    process_line(avail.substr(0, lf + 1));
  }
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > 0 && in_pos_ >= in_.size() / 2) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
}

// `line` ends with LF. Returns false if it was refused before dispatch.
bool ServerSession::process_line(std::string_view line) {
  bool auth_state = state_ != State::kCommand;
  if (!auth_state) {
    ++counts_.commands;
    refused_to_.clear();
    std::string_view shown = line.substr(0, line.size() - 1);
    if (!shown.empty() && shown.back() == '\r') shown.remove_suffix(1);
    command_ = redacted(shown);
  }
  auto refuse = [&](const char* text) {
    if (auth_state) state_ = State::kCommand;
    reply(500, "5.5.2", text);
    return false;
  };
  if (line.size() > line_limit()) return refuse("Line too long");
  line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  } else if (options_.bare_newline == BareNewline::kReject) {
    // RFC 5321 2.3.8: lines end with CRLF; a bare LF is how smuggling starts.
    return refuse("Syntax error: command line must end with <CR><LF>");
  }
  if (line.find('\r') != std::string_view::npos)
    return refuse("Syntax error: bare <CR> in command");
  if (line.find('\0') != std::string_view::npos) return refuse("Syntax error: NUL in command");
  if (auth_state)
    handle_auth_line(line);
  else
    handle_command(line);
  return true;
}

void ServerSession::handle_command(std::string_view line) {
  // Another protocol on the SMTP port (a browser made to POST here, a
  // proxy probe): hang up at once, as Postfix (smtpd_forbidden_commands)
  // and chasquid do, before any of it is taken for SMTP.
  if (looks_like_http(line))
    return close_after(
        Reply(421, "4.7.0",
              options_.hostname + " HTTP request on an SMTP port, closing connection"),
        SessionEnd::kHttp);
  Command cmd = parse_command(line);
  const CommandSpec& spec = spec_of(cmd.verb);
  if (draining_ && !tx_ && !(spec.needs & kWhileDraining)) return shutdown();
  if (!refused_.empty() && cmd.verb != Verb::kQuit)  // RFC 5321 3.1
    return reply(503, "5.5.1", "Bad sequence of commands: " + refused_);
  if (!(spec.needs & kUncounted) &&
      ++commands_since_message_ > options_.max_commands_without_message)
    return close_after(
        Reply(421, "4.7.0",
              options_.hostname + " Too many commands without a message, closing connection"),
        SessionEnd::kTooManyCommands);
  if (spec.needs & kEndsGroup) flush_ = true;
  if (std::optional<Reply> r = unmet(spec, cmd.arg)) return reply(std::move(*r));
  (this->*spec.handler)(cmd.arg);
}

// The first precondition of `spec` this session does not meet, as its reply.
// The wording of each is the one the commands always had.
std::optional<Reply> ServerSession::unmet(const CommandSpec& spec, std::string_view arg) const {
  unsigned n = spec.needs;
  if ((n & kNoArgs) && !arg.empty())
    return Reply(501, "5.5.4", std::string("Syntax: ") + spec.name + " (no parameters)");
  if ((n & kBeforeTls) && tls_) return Reply(503, "5.5.1", "TLS already active");
  if (n & kOffered)
    if (std::optional<Reply> r = offered(spec.verb)) return r;
  if ((n & kTls) && !tls_) return Reply(530, "5.7.0", "Must issue a STARTTLS command first");
  // AUTH is an EHLO extension (RFC 4954 3), hence its own wording.
  if ((n & kHelo) && helo_.empty())
    return Reply(503, "5.5.1",
                 spec.verb == Verb::kAuth ? "Send EHLO first" : "Send EHLO or HELO first");
  if ((n & kNotAuthed) && !auth_user_.empty()) return Reply(503, "5.5.1", "Already authenticated");
  if ((n & kNoTx) && tx_)
    return Reply(503, "5.5.1",
                 spec.verb == Verb::kMail ? "Nested MAIL command" : "MAIL transaction in progress");
  if ((n & kTx) && !tx_)
    return Reply(503, "5.5.1",
                 spec.verb == Verb::kRcpt ? "Need MAIL before RCPT" : "Need MAIL command");
  if ((n & kAuthed) && options_.auth_required && auth_user_.empty()) {
    if (!tls_) return Reply(530, "5.7.0", "Must issue a STARTTLS command first");
    return Reply(530, "5.7.0", "Authentication required");
  }
  return std::nullopt;
}

// Extensions offered to some sessions only: the refusal for the others.
std::optional<Reply> ServerSession::offered(Verb verb) const {
  switch (verb) {
    case Verb::kStartTls:
      if (!options_.tls_available) return Reply(454, "4.7.0", "TLS not available");
      break;
    case Verb::kAuth:
      if (!options_.auth_enabled)
        return Reply(503, "5.5.1", "Authentication not available on this port");
      break;
    case Verb::kEtrn:
      // RFC 1985 lets anyone ask; only relay.etrn_networks may here: 502 as
      // for a command we do not implement.
      if (!options_.etrn) return Reply(502, "5.5.1", "ETRN not available to this client");
      break;
    default:
      break;
  }
  return std::nullopt;
}

void ServerSession::cmd_rset(std::string_view) {
  reset_transaction();
  reply(250, "2.0.0", "Ok");
}

// RFC 5321 4.1.1.9: a parameter is allowed and ignored.
void ServerSession::cmd_noop(std::string_view) { reply(250, "2.0.0", "Ok"); }

void ServerSession::cmd_quit(std::string_view) {
  close_after(Reply(221, "2.0.0", options_.hostname + " Bye"), SessionEnd::kQuit);
}

void ServerSession::cmd_expn(std::string_view) { reply(502, "5.5.1", "EXPN not supported"); }

void ServerSession::cmd_help(std::string_view) {
  reply(Reply(
      214, "2.0.0",
      std::vector<std::string>{"Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP",
                               "STARTTLS AUTH; see RFC 5321", "End of HELP info"}));
}

// TURN, SAML, SEND, SOML: RFC 821 commands we recognise and never implement.
void ServerSession::cmd_obsolete(std::string_view) {
  reply(502, "5.5.1", "Command not implemented");
}

void ServerSession::cmd_unknown(std::string_view) {
  if (command_.empty()) return reply(500, "5.5.2", "Syntax error: empty command");
  reply(500, "5.5.1", "Command unrecognized");
}

void ServerSession::cmd_helo(std::string_view arg, bool esmtp) {
  size_t sp = arg.find(' ');
  std::string_view name = arg.substr(0, sp);
  if (name.empty())
    return reply(501, "5.5.4", esmtp ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
  // RFC 5321 4.1.2 and 4.5.3.1.2, RFC 1035 2.3.4: labels of at most 63
  // octets, at most 255 in all; address literals stay allowed.
  if (!helo_name_ok(name))
    return reply(501, "5.5.4",
                 "Syntax: hostname too long (labels of at most 63 octets, 255 in all)");
  if (options_.filter && !filter_passed_) {
    filter_esmtp_ = esmtp;
    return ask_filter(FilterStage::kHelo, arg, std::string(name));
  }
  reset_transaction();  // RFC 5321 4.1.4: EHLO/HELO act as RSET
  helo_ = std::string(name);
  esmtp_ = esmtp;
  std::string greet = options_.hostname + " Hello " + helo_ + " [" + client_ip_ + "]";
  if (!esmtp) return reply(Reply(250, "", greet));
  // RFC 2034 3: EHLO replies carry no enhanced codes.
  std::vector<std::string> lines{
      greet,      "PIPELINING", "SIZE " + std::to_string(options_.max_message_size),
      "8BITMIME", "SMTPUTF8",   "ENHANCEDSTATUSCODES",
      "CHUNKING", "DSN"};
  if (options_.tls_available && !tls_) lines.push_back("STARTTLS");
  // RFC 8689 2: REQUIRETLS only where the session itself is encrypted.
  if (tls_) lines.push_back("REQUIRETLS");
  if (auth_offered()) lines.push_back("AUTH PLAIN LOGIN");
  if (options_.etrn) lines.push_back("ETRN");
  lines.push_back("HELP");
  reply(Reply(250, "", std::move(lines)));
}

void ServerSession::cmd_mail(std::string_view arg) {
  if (!istarts_with(arg, "FROM:")) return reply(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  auto parsed = parse_mail_args(arg.substr(5));
  if (auto* err = std::get_if<Reply>(&parsed)) return reply(std::move(*err));
  MailArgs args = std::get<MailArgs>(std::move(parsed));
  // RFC 8689 4.1: REQUIRETLS is offered only over TLS; asked for in
  // plaintext, the message has already crossed a hop without it. 530 as
  // RFC 3207 4 ("must issue a STARTTLS command first"), 5.7.10
  // "encryption needed" (RFC 5248).
  if (args.requiretls && !tls_)
    return reply(530, "5.7.10", "REQUIRETLS needs a TLS session: issue STARTTLS first");
  if (args.size && *args.size > options_.max_message_size)
    return reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
  // RFC 5321 4.5.3.1.9, RFC 1870 6.1: no room for it now. Refused here,
  // before the client sends the data, with the transient X.3.1 (RFC 3463).
  if (env_->storage_low(args.size.value_or(0)))
    return reply(452, "4.3.1", "Insufficient system storage, try again later");
  // RFC 4954 5: an AUTH= from an unauthenticated client is treated as <>.
  if (!args.auth.empty() && auth_user_.empty()) args.auth = "<>";
  // RFC 6409 6.1: a submission server may refuse a MAIL FROM the
  // authenticated identity (RFC 4954) is not allowed to use. 553 is RFC
  // 5321's "mailbox name not allowed"; 5.7.1 "not authorized" (RFC 3463).
  if (!auth_user_.empty()) {
    switch (env_->check_sender(args.from, auth_user_)) {
      case SenderVerdict::kOk:
        break;
      case SenderVerdict::kNotOwned:
        return reply(553, "5.7.1",
                     "Sender address not owned by authenticated user <" + auth_user_ + ">");
      case SenderVerdict::kTempFail:
        return reply(451, "4.3.0", "Temporary lookup failure, try again later");
    }
  }
  if (std::optional<Reply> r = env_->screen_mail(args.from, auth_user_))
    return reply(std::move(*r));
  if (std::optional<Reply> limited = env_->limit_mail(auth_user_)) return reply(*limited);
  // A new transaction, with the queue id its message will have: a refusal
  // before the data is logged under it too.
  tx_ = Tx{};  // not emplace(): clang 14 cannot default-construct a nested struct with
               // member initializers through std::optional (its enclosing class is incomplete)
  tx_->id = env_->new_queue_id();
  tx_->mail = std::move(args);
  if (options_.filter) return ask_filter(FilterStage::kMail, arg.substr(5), tx_->mail.from.str());
  reply(250, "2.1.0", "Sender <" + tx_->mail.from.str() + "> OK");
}

void ServerSession::cmd_rcpt(std::string_view arg) {
  Tx& tx = *tx_;
  if (!istarts_with(arg, "TO:")) return reply(501, "5.5.4", "Syntax: RCPT TO:<address>");
  auto parsed = parse_rcpt_args(arg.substr(3), tx.mail.smtputf8);
  if (auto* err = std::get_if<Reply>(&parsed)) return reply(std::move(*err));
  RcptArgs args = std::get<RcptArgs>(std::move(parsed));
  std::string who = args.to.domain.empty() ? args.to.local : args.to.str();
  refused_to_ = "<" + who + ">";
  // RFC 5321 4.5.3.1.10: too many recipients is 452, not 5xx: the client
  // sends the rest later. Not an error, up to a bound (as Postfix's
  // smtpd_recipient_overshoot_limit), so a long list does not end the session.
  if (tx.rcpts.size() >= options_.max_recipients)
    return reply(Reply(452, "4.5.3", "Too many recipients"), ++tx.rcpt_overshoot > kMaxOvershoot);
  // SPF, once per transaction, at its first well-formed RCPT: the session
  // waits for spf_checked(), which comes back here with the same argument.
  if (options_.spf_check && auth_user_.empty() && !tx.spf) {
    tx.spf_rcpt = std::string(arg);
    bool null = tx.mail.from.is_null();
    spf_request_ = SpfRequest{client_ip_, null ? "" : tx.mail.from.str(), helo_, null};
    set_pending(Action::kCheckSpf);
    return;
  }
  ++tx.rcpt_attempts;
  RcptCheck check = env_->resolve_rcpt(args.to, auth_user_);
  switch (check.verdict) {
    case RcptVerdict::kLocal:
    case RcptVerdict::kRelay:
      if (std::optional<Reply> refused = spf_refusal(args.to, check.verdict))
        return reply(std::move(*refused));
      if (auto screened = env_->screen_rcpt(tx.mail.from, args.to, auth_user_))
        return reply(std::move(*screened), tx.rcpt_attempts > options_.max_recipients);
      if (auto limited =
              env_->limit_rcpt(args.to, check.verdict == RcptVerdict::kLocal, auth_user_))
        return reply(std::move(*limited));
      if (check.rewrite) {
        // RFC 3461 4.2: ORCPT keeps the address as the client gave it.
        if (args.orcpt.empty() && !args.to.needs_utf8()) args.orcpt = "rfc822;" + args.to.str();
        args.to = std::move(*check.rewrite);
      }
      if (options_.filter) {
        filter_rcpt_ = std::move(args);
        filter_who_ = who;
        return ask_filter(FilterStage::kRcpt, arg.substr(3), who);
      }
      tx.rcpts.push_back(std::move(args));
      return reply(250, "2.1.5", "Recipient <" + who + "> OK");
    case RcptVerdict::kUnknownUser:
      return reply(550, "5.1.1",
                   "<" + who + ">: Recipient address rejected: " +
                       (check.reason.empty() ? "User unknown" : check.reason));
    case RcptVerdict::kRelayDenied:
      return reply(550, "5.7.1", "<" + who + ">: Relay access denied");
    case RcptVerdict::kBadMailbox:  // RFC 3463 3.2: X.1.3
      return reply(550, "5.1.3", "<" + who + ">: Bad destination mailbox address syntax");
    case RcptVerdict::kTempFail:
      return reply(451, "4.3.0", "<" + who + ">: Temporary lookup failure, try again later");
  }
}

void ServerSession::spf_checked(const SpfOutcome& outcome) {
  if (state_ == State::kClosed || !tx_) return;
  state_ = State::kCommand;
  tx_->spf = outcome;
  std::string arg = std::move(tx_->spf_rcpt);
  tx_->spf_rcpt.clear();
  cmd_rcpt(arg);
}

// RFC 7372 3: 5.7.23 for an SPF fail, 4.7.24 for a temporary error. Mail to
// the postmaster of a local domain is never refused for SPF (RFC 5321
// 4.5.1: it must be accepted); it is marked like any accepted message.
std::optional<Reply> ServerSession::spf_refusal(const Address& rcpt, RcptVerdict verdict) const {
  const std::optional<SpfOutcome>& spf = tx_->spf;
  if (!spf) return std::nullopt;
  if (verdict == RcptVerdict::kLocal && iequals(rcpt.local, "postmaster")) return std::nullopt;
  if (spf->result == SpfResult::kFail && options_.spf_reject_fail) {
    std::string why = spf->explanation.empty() ? "sender not authorised" : spf->explanation;
    return Reply(550, "5.7.23", "SPF validation failed: " + reply_text(why));
  }
  if (spf->result == SpfResult::kTempError && options_.spf_defer_temperror)
    return Reply(451, "4.7.24", "SPF temporary error, try again later");
  return std::nullopt;
}

void ServerSession::cmd_vrfy(std::string_view arg) {
  if (arg.empty()) return reply(501, "5.5.4", "Syntax: VRFY <address>");
  if (options_.vrfy) {
    std::string_view a = arg;
    if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
    if (auto addr = parse_mailbox(a, true); addr && env_->mailbox_exists(*addr))
      return reply(250, "2.1.5", "<" + addr->str() + ">");
    return reply(550, "5.1.1", "User unknown");
  }
  // RFC 5321 3.5.3: 252 when we will not say whether the user exists.
  reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
}

// ETRN, RFC 1985, with its reply codes: 253 with the number of messages
// (we know it; the RFC's plain 250 carries less) or 251 for none, 458 when
// the queue cannot start now, 459 for the "#queue" form, which we do not
// offer, 501 for a bad argument. A client that may not use ETRN
// (not in relay.etrn_networks; not advertised to it) gets 502, as for a
// command we do not implement; inside a transaction 503, as Postfix does.
void ServerSession::cmd_etrn(std::string_view arg) {
  std::optional<EtrnNode> node = parse_etrn_node(arg);
  if (!node) return reply(501, "5.5.4", "Syntax: ETRN [@]domain");
  std::string shown = (node->kind == EtrnNode::Kind::kSubdomains ? "@" : "") + node->name;
  if (node->kind == EtrnNode::Kind::kQueue)
    return reply(459, "4.3.3", "Node #" + node->name + " not allowed: queue names not supported");
  std::optional<size_t> n = env_->etrn(node->name, node->kind == EtrnNode::Kind::kSubdomains);
  if (!n) return reply(458, "4.3.0", "Unable to queue messages for node " + shown);
  if (*n == 0) return reply(251, "2.0.0", "OK, no messages waiting for node " + shown);
  reply(253, "2.0.0",
        "OK, " + std::to_string(*n) + " pending messages for node " + shown + " started");
}

void ServerSession::reset_transaction() {
  if (message_open_ && !pending_) {
    body_.clear();
    pending_ = Action::kMessageAbort;
  }
  tx_.reset();
  chunk_ = Chunk{};
}

}  // namespace tern
