#include "server/connection.h"

#include <algorithm>
#include <ctime>

#include "base/clock.h"
#include "base/log.h"
#include "core/cidr.h"
#include "metrics/server_metrics.h"
#include "net/awaitable.h"
#include "queue/queue_id.h"
#include "server/dovecot_auth.h"
#include "server/session_id.h"
#include "spf/check.h"
#include "tls/tls.h"

namespace tern {

namespace {

// Blocking work for the thread pool, as coroutines whose arguments live in
// their own frames (a capturing lambda's captures would not outlive co_spawn).
asio::awaitable<bool> verify_password(RecipientPolicy* dir, std::string user,
                                      std::string password) {
  co_return dir->verify_password(user, password);
}

asio::awaitable<Status> commit_spool(SpoolWriter* writer) { co_return writer->commit(); }

// A read buffer shared by every plain-text session of this thread: the
// stream waits for readability first, so idle sessions hold none.
thread_local char tl_read_buf[64 * 1024];

}  // namespace

Connection::Connection(ConnectionDeps deps, std::unique_ptr<ByteStream> stream,
                       ListenerConfig listener)
    : deps_(std::move(deps)),
      config_(deps_.config),
      listener_(std::move(listener)),
      stream_(std::move(stream)),
      ip_(stream_->remote_ip()),
      sender_checked_(sender_checked()),
      session_(session_options(), this, ip_),
      started_(deps_.clock->steady_now()),
      session_id_(new_session_id()),
      metric_bytes_in_(metrics::server().received_bytes.with({listener_kind_name(listener_.kind)})),
      metric_bytes_out_(metrics::server().sent_bytes.with({listener_kind_name(listener_.kind)})) {}

Connection::~Connection() = default;

SessionOptions Connection::session_options() const {
  SessionOptions o;
  o.hostname = config_->hostname;
  o.listener = listener_kind_name(listener_.kind);
  o.tls_available = deps_.tls != nullptr;
  o.auth_enabled = listener_.kind != ListenerKind::kSmtp;
  o.auth_required = listener_.kind != ListenerKind::kSmtp;
  o.max_message_size = config_->limits.max_message_size;
  o.max_recipients = config_->limits.max_recipients;
  o.max_errors = config_->limits.max_errors;
  o.max_commands_without_message = config_->limits.max_commands_without_message;
  o.max_auth_failures = config_->limits.max_auth_failures;
  o.bare_newline = config_->bare_newline;
  o.vrfy = config_->vrfy;
  // RFC 1985 lets anyone ask; only relay.etrn_networks may here (a flush
  // costs delivery attempts), and only they see it in EHLO.
  for (const std::string& net : config_->relay.etrn_networks) {
    std::optional<Cidr> cidr = Cidr::parse(net);
    if (cidr && cidr->contains(ip_)) o.etrn = true;
  }
  const SpfConfig& spf = config_->spf;
  o.spf_check = spf.enabled && sender_checked_;
  o.spf_reject_fail = spf.reject_fail;
  o.spf_defer_temperror = spf.defer_temperror;
  o.filter = milters_apply(*config_, listener_.kind);
  return o;
}

// Sender authentication is for mail from outside: the smtp listener, not
// trusted_networks, not loopback unless check_loopback; the session itself
// never checks SPF after AUTH.
bool Connection::sender_checked() const {
  if (listener_.kind != ListenerKind::kSmtp) return false;
  if (!config_->check_loopback && is_loopback_ip(ip_)) return false;
  for (const std::string& net : config_->trusted_networks) {
    std::optional<Cidr> cidr = Cidr::parse(net);
    if (cidr && cidr->contains(ip_)) return false;
  }
  return true;
}

RcptVerdict Connection::check_rcpt(const Address& rcpt, const std::string& auth_user) {
  return resolve_rcpt(rcpt, auth_user).verdict;
}

RcptCheck Connection::resolve_rcpt(const Address& rcpt, const std::string& auth_user) {
  RcptCheck c = deps_.recipients->check_rcpt(rcpt, auth_user, now());
  // A refusal is logged with its reply (on_refusal), which carries the reason.
  if (c.rewrite)
    log_info("session={} rcpt client={} to={} rewritten to={} (SRS)", session_id_, ip_,
             log_value("<" + rcpt.str() + ">"), log_value("<" + c.rewrite->str() + ">"));
  return c;
}

SenderVerdict Connection::check_sender(const Address& from, const std::string& auth_user) {
  // kNotOwned is logged with its reply (on_refusal), which names the user.
  return deps_.recipients->check_sender(from, auth_user);
}

std::optional<size_t> Connection::etrn(const std::string& domain, bool subdomains) {
  std::optional<size_t> n = deps_.handoff->flush_domain(domain, subdomains);
  log_info("session={} etrn client={} node={}{} messages={}", session_id_, ip_,
           subdomains ? "@" : "", domain, n ? std::to_string(*n) : "unavailable");
  return n;
}

std::optional<Reply> Connection::limit_mail(const std::string& auth_user) {
  return deps_.limits->limit_mail(ip_, auth_user);
}

std::optional<Reply> Connection::limit_rcpt(const Address& rcpt, bool local,
                                            const std::string& auth_user) {
  (void)rcpt;
  return deps_.limits->limit_rcpt(ip_, auth_user, !local);
}

bool Connection::storage_low(uint64_t declared_size) {
  return deps_.limits->storage_low(declared_size);
}

bool Connection::mailbox_exists(const Address& addr) {
  return deps_.recipients->mailbox_exists(addr);
}

std::string Connection::new_queue_id() { return tern::new_queue_id(); }

int64_t Connection::now() { return deps_.clock->unix_now(); }

// Every 4xx/5xx the session sends, once: docs/logging.md.
void Connection::on_refusal(const Refusal& r) {
  std::string tx;
  if (!r.queue_id.empty())
    tx = fmt::format(" id={} from={}", r.queue_id, log_value("<" + std::string(r.from) + ">"));
  if (!r.to.empty()) tx += " to=" + log_value(r.to, 1000);
  if (!session_.auth_user().empty()) tx += " auth=" + log_value(session_.auth_user());
  log_info("session={} refused client={}{} command={} reply={}{}", session_id_, ip_, tx,
           log_quoted(r.command), log_quoted(r.reply.brief(), 500), message_note_);
  metrics::server()
      .refusals
      .with({listener_kind_name(listener_.kind), metrics::command_label(r.command),
             std::to_string(r.reply.code)})
      .inc();
}

void Connection::drain() {
  bool idle = session_.awaiting_command();  // set_draining() closes an idle session
  session_.set_draining();
  draining_ = true;
  // An idle session is blocked in a read: wake it so its 421 goes out.
  if (reading_ && idle) stream_->cancel();
}

void Connection::force_close() {
  closing_ = true;
  end_reason_ = "shutdown";  // the grace period is over
  stream_->close();
  if (milters_) milters_->cancel();
}

asio::awaitable<void> Connection::run() {
  std::optional<Reply> refuse = deps_.limits->admit(this, ip_);
  deps_.limits->attach(this, ip_);
  metrics::ServerMetrics& m = metrics::server();
  const char* kind = listener_kind_name(listener_.kind);
  m.connections_open.with({kind}).add(1);
  log_info("session={} connect client={} listener={} kind={}", session_id_, ip_, listener_.address,
           listener_kind_name(listener_.kind));
  std::optional<SessionTls> tls;
  if (listener_.kind == ListenerKind::kSubmissions && !refuse) {
    std::error_code ec;
    co_await stream_->handshake(deps_.tls, config_->limits.command_timeout, ec);
    if (ec) {
      log_info("session={} disconnect client={} reason=tls_failed error={} duration={:.3f}s",
               session_id_, ip_, log_quoted(ec.message()),
               std::chrono::duration<double>(deps_.clock->steady_now() - started_).count());
      m.connections.with({kind, "tls_failed"}).inc();
      m.tls_failures.with({"inbound"}).inc();
      m.connections_open.with({kind}).add(-1);
      deps_.limits->detach(this, ip_);
      co_return;
    }
    TlsInfo info = tls_info(stream_->ssl());
    tls = SessionTls{info.version, info.cipher};
    m.tls_handshakes.with({"inbound", info.version}).inc();
  }
  // DNSBL first: a listed client costs the milters nothing.
  std::optional<Reply> screened;
  if (!refuse && sender_checked_) screened = co_await screen_client();
  milters_ = MilterHooks::make(config_, listener_.kind, session_id_, *stream_, deps_.quarantine);
  if (milters_ && !refuse && !screened) {
    // {client_name} and friends: the early checks' PTR answer when they
    // made one, so the client's address is not looked up twice.
    co_await milters_->resolve_client(deps_.dns, facts_.rdns, facts_.ptr);
    refuse = co_await milters_->connect();
  }
  if (!refuse) m.connections.with({kind, "accepted"}).inc();  // refusals: Server::admit
  if (screened)
    session_.start_refused(std::move(*screened));
  else
    session_.start(refuse, tls);
  last_reply_ = deps_.clock->steady_now();
  try {
    bool done = false;
    while (!done) {
      ServerSession::Action a = session_.next();
      switch (a.kind) {
        case ServerSession::Action::kSend:
          co_await do_send(a.data);
          break;
        case ServerSession::Action::kNeedInput:
          co_await do_read();
          break;
        case ServerSession::Action::kStartTls:
          co_await do_starttls();
          break;
        case ServerSession::Action::kCheckAuth:
          co_await do_auth();
          break;
        case ServerSession::Action::kCheckSpf:
          co_await do_spf();
          break;
        case ServerSession::Action::kFilter:
          session_.filter_checked(co_await milters_->stage(session_));
          break;
        case ServerSession::Action::kMessageBegin:
          do_message_begin();
          break;
        case ServerSession::Action::kMessageData:
          do_message_data(a.data);
          break;
        case ServerSession::Action::kMessageEnd:
          co_await do_message_end();
          break;
        case ServerSession::Action::kMessageAbort:
          do_message_abort();
          break;
        case ServerSession::Action::kClose:
          done = true;
          break;
      }
      if (closing_) done = true;
    }
  } catch (const std::exception& e) {
    // A bug in one session must not take the server down.
    log_error("session={} aborted client={}: {}", session_id_, ip_, e.what());
    end_reason_ = "internal_error";
  }
  if (spool_) do_message_abort();
  if (milters_) co_await milters_->quit();
  // Every end that leaves TLS usable (QUIT, a 421, a read timeout) sends
  // close_notify; after an I/O error or force_close() this only closes.
  co_await stream_->shutdown(kTlsCloseTimeout);
  auto secs = std::chrono::duration<double>(deps_.clock->steady_now() - started_).count();
  // The session knows why it ended unless the connection does better (an
  // I/O or TLS failure); a session still open was dropped at the end of
  // the shutdown grace period (force_close).
  std::string reason = end_reason_;
  if (reason.empty())
    reason = session_.end() == SessionEnd::kOpen ? "shutdown" : session_end_name(session_.end());
  const SessionCounts& n = session_.counts();
  log_info(
      "session={} disconnect client={} reason={} helo={} tls={} auth={} messages={} "
      "recipients={} commands={} errors={} in={} out={} duration={:.3f}s",
      session_id_, ip_, reason, session_.helo().empty() ? "-" : log_value(session_.helo()),
      stream_->is_tls() ? "yes" : "no",
      session_.auth_user().empty() ? "-" : log_value(session_.auth_user()), n.messages,
      n.recipients, n.commands, n.errors, bytes_in_, bytes_out_, secs);
  m.connections_open.with({kind}).add(-1);
  deps_.limits->detach(this, ip_);
}

asio::awaitable<void> Connection::do_send(std::string_view data) {
  std::error_code ec;
  co_await stream_->write(data, config_->limits.command_timeout, ec);
  if (ec) {
    session_.eof();
    closing_ = true;
    end_reason_ = ec == asio::error::timed_out ? "timeout" : "io_error";
    log_info("session={} write client={} failed: {}", session_id_, ip_, ec.message());
    co_return;
  }
  bytes_out_ += data.size();
  metric_bytes_out_.inc(data.size());
  // RFC 5321 4.5.3.2.7: the client has the command timeout to send its
  // next command; that clock starts with our reply.
  last_reply_ = deps_.clock->steady_now();
}

// How long the next read may wait, and for what (core/deadline.h).
ReadDeadline Connection::read_deadline() const {
  const Limits& l = config_->limits;
  ReadTimeouts limits{l.command_timeout, l.data_timeout, l.session_timeout};
  return tern::read_deadline(deps_.clock->steady_now(), last_reply_, started_,
                             session_.receiving_data(), limits);
}

void Connection::timed_out(const ReadDeadline& d) {
  LimitCounters& counters = deps_.limits->limit_counters();
  const Limits& l = config_->limits;
  switch (d.waiting) {
    case Waiting::kCommand:
      ++counters.command_timeouts;
      log_info("session={} timeout client={} waiting=command limit={}s", session_id_, ip_,
               l.command_timeout.count());
      return session_.timeout();
    case Waiting::kData:
      ++counters.data_timeouts;
      log_info("session={} timeout client={} waiting=data limit={}s", session_id_, ip_,
               l.data_timeout.count());
      return session_.timeout();
    case Waiting::kSession:
      ++counters.session_timeouts;
      log_info("session={} timeout client={} waiting=session limit={}s", session_id_, ip_,
               l.session_timeout.count());
      return session_.timeout("session time limit exceeded");
  }
}

// Whatever happens (data, EOF, timeout, shutdown) the session is told.
asio::awaitable<void> Connection::do_read() {
  std::error_code ec;
  const ReadDeadline deadline = read_deadline();
  if (deadline.timeout <= std::chrono::steady_clock::duration::zero()) {
    timed_out(deadline);  // even when bytes are waiting: the time is up
    co_return;
  }
  // Under TLS the bytes are decrypted into the buffer inside the
  // asynchronous read, and this coroutine resumes only after the deadline
  // timer's cancellation has completed: other sessions' reads run in
  // between, so the thread's shared buffer would hand this session another
  // client's bytes. A TLS session reads into a buffer of its own.
  std::unique_ptr<char[]> own;
  char* buf = tl_read_buf;
  size_t size = sizeof tl_read_buf;
  if (stream_->is_tls()) {
    size = 16 * 1024;
    own = std::make_unique<char[]>(size);
    buf = own.get();
  }
  reading_ = true;
  size_t n = co_await stream_->read_some(asio::buffer(buf, size), deadline.timeout, ec);
  reading_ = false;
  if (!ec) {
    bytes_in_ += n;
    metric_bytes_in_.inc(n);
    session_.receive(std::string_view(buf, n));
  } else if (ec == asio::error::timed_out) {
    timed_out(deadline);  // the 421 still goes out
  } else if (ec == asio::error::operation_aborted && draining_ && !closing_) {
    session_.shutdown();
  } else {
    // The client closing is the session's kClientClosed; anything else
    // (a reset, a TLS error) is an I/O error, named in the log.
    if (ec != asio::error::eof && ec != asio::ssl::error::stream_truncated && !closing_) {
      end_reason_ = "io_error";
      log_info("session={} read client={} failed: {}", session_id_, ip_, ec.message());
    }
    session_.eof();
  }
}

asio::awaitable<void> Connection::do_starttls() {
  std::error_code ec;
  co_await stream_->handshake(deps_.tls, config_->limits.command_timeout, ec);
  if (ec) {
    log_info("session={} starttls client={} failed: {}", session_id_, ip_, ec.message());
    metrics::server().tls_failures.with({"inbound"}).inc();
    session_.eof();
    closing_ = true;
    end_reason_ = "tls_failed";
    co_return;
  }
  TlsInfo info = tls_info(stream_->ssl());
  metrics::server().tls_handshakes.with({"inbound", info.version}).inc();
  session_.tls_started(SessionTls{info.version, info.cipher});
  last_reply_ = deps_.clock->steady_now();
}

asio::awaitable<void> Connection::do_auth() {
  const AuthRequest& req = session_.auth_request();
  std::string user = req.user, password = req.password;
  bool ok = false;
  std::string canonical;  // the password database's name for the user
  if (config_->auth.backend == AuthConfig::Backend::kDovecot) {
    // [auth] backend = "dovecot": one password database for IMAP and SMTP.
    DovecotAuthRequest d;
    d.user = user;
    d.password = password;
    d.remote_ip = ip_;
    if (std::string local = stream_->local_ip(); local != "unknown") d.local_ip = local;
    d.secured = stream_->is_tls();
    std::string path = config_->auth.dovecot_socket;
    std::chrono::steady_clock::duration limit = config_->auth.dovecot_timeout;
    DovecotAuthResult r = co_await dovecot_authenticate(path, limit, std::move(d));
    std::fill(password.begin(), password.end(), '\0');
    if (r.kind == DovecotAuthResult::Kind::kTemporary) {
      log_warn("session={} auth client={} user={} mechanism={} unavailable: dovecot: {}",
               session_id_, ip_, log_value(user), req.mechanism, r.reason);
      metrics::server().auth.with({req.mechanism, "unavailable"}).inc();
      session_.auth_unavailable();
      co_return;
    }
    ok = r.kind == DovecotAuthResult::Kind::kOk;
    if (ok) canonical = r.user;
  } else {
    deps_.recipients->refresh();  // a user added or removed a moment ago counts
    // argon2id is slow on purpose: keep it off the event loop.
    ok = co_await asio::co_spawn(deps_.hashing, verify_password(deps_.recipients, user, password),
                                 asio::use_awaitable);
  }
  if (!ok) {
    auto delay = deps_.limits->auth_failure_delay(ip_);
    asio::steady_timer t(co_await asio::this_coro::executor, delay);
    co_await t.async_wait(use_tuple);
    log_info("session={} auth client={} user={} mechanism={} failed", session_id_, ip_,
             log_value(user), req.mechanism);
  } else {
    log_info("session={} auth client={} user={} mechanism={} ok", session_id_, ip_,
             log_value(canonical.empty() ? user : canonical), req.mechanism);
  }
  metrics::server().auth.with({req.mechanism, ok ? "success" : "failure"}).inc();
  session_.auth_checked(ok, canonical);
}

namespace {

SpfResult session_result(spf::Result r) {
  switch (r) {
    case spf::Result::kNone:
      return SpfResult::kNone;
    case spf::Result::kNeutral:
      return SpfResult::kNeutral;
    case spf::Result::kPass:
      return SpfResult::kPass;
    case spf::Result::kFail:
      return SpfResult::kFail;
    case spf::Result::kSoftFail:
      return SpfResult::kSoftFail;
    case spf::Result::kTempError:
      return SpfResult::kTempError;
    case spf::Result::kPermError:
      return SpfResult::kPermError;
  }
  return SpfResult::kNone;
}

}  // namespace

// SPF through the delivery worker's Resolver, on this same loop.
asio::awaitable<void> Connection::do_spf() {
  SpfRequest req = session_.spf_request();
  spf::CheckOptions options;
  options.receiver = config_->hostname;
  options.timestamp = now();
  std::error_code ec;
  asio::ip::address ip = asio::ip::make_address(req.client_ip, ec);
  spf::CheckResult r;
  if (ec) {
    r.result = spf::Result::kNone;
    r.problem = "client address unknown";
  } else if (req.helo_identity) {
    r = co_await spf::check_helo(*deps_.dns, ip, req.helo, options);
  } else {
    r = co_await spf::check_mail_from(*deps_.dns, ip, req.mail_from, req.helo, options);
  }
  log_info("session={} spf client={} identity={} from={} helo={} result={} mechanism={}{}",
           session_id_, ip_, req.helo_identity ? "helo" : "mailfrom",
           log_value("<" + req.mail_from + ">"), log_value(req.helo), spf::result_name(r.result),
           r.mechanism.empty() ? "-" : log_value(r.mechanism),
           r.problem.empty() ? "" : " problem=" + log_quoted(r.problem));
  metrics::server().spf.with({spf::result_name(r.result)}).inc();
  session_.spf_checked(SpfOutcome{session_result(r.result), r.mechanism, r.explanation, r.problem});
}

void Connection::do_message_begin() {
  spool_.reset();
  inbound_.reset();
  if (sender_checked_ && session_.auth_user().empty())
    inbound_ = std::make_unique<InboundAuth>(*config_, now());
  spool_status_ = milters_ ? milters_->begin(*deps_.store, session_.envelope(), &spool_)
                           : deps_.store->begin(session_.envelope(), &spool_);
  if (!spool_status_.ok()) {
    log_error("session={} queue begin client={} id={} failed: {}", session_id_, ip_,
              session_.envelope().id, spool_status_.message());
    spool_.reset();
  }
}

void Connection::do_message_data(std::string_view data) {
  spool_write(inbound_ ? inbound_->write(data) : data);
}

void Connection::spool_write(std::string_view data) {
  if (!spool_ || !spool_status_.ok() || data.empty()) return;
  spool_status_ = spool_->write(data);
  if (!spool_status_.ok())
    log_error("session={} queue write client={} id={} failed: {}", session_id_, ip_,
              session_.envelope().id, spool_status_.message());
}

asio::awaitable<void> Connection::do_message_end() {
  Envelope env = session_.envelope();
  std::string checks;
  if (inbound_) {
    spool_write(inbound_->finish());
    InboundInputs in{ip_, nullptr, nullptr};
    if (session_.spf_outcome()) {
      in.spf_request = &session_.spf_request();
      in.spf = &*session_.spf_outcome();
    }
    InboundVerdict v = co_await inbound_->decide(*deps_.dns, in);
    inbound_.reset();
    checks = " " + v.summary;
    for (const dmarc::AggregateRow& row : v.report_rows) deps_.handoff->record_dmarc(row);
    if (v.refuse) {
      if (spool_) spool_->abort();
      spool_.reset();
      spool_status_ = Status::Ok();
      // Logged once, as the refusal, with what the checks found.
      message_note_ = checks;
      session_.message_refused(*v.refuse);
      message_note_.clear();
      co_return;
    }
    if (spool_ && spool_status_.ok() && !v.header.empty())
      spool_status_ = spool_->prepend(v.header);
  }
  if (std::string h = screen_header(); !h.empty() && spool_ && spool_status_.ok())
    spool_status_ = spool_->prepend(h);  // [checks] reverse_dns = "mark"
  MilterHooks::End milter;
  if (milters_ && spool_ && spool_status_.ok()) {
    milter = co_await milters_->end(session_, spool_.get());
    env = milters_->envelope();
    checks += milter.note;
    if (milter.refuse || milter.discard) {
      spool_->abort();  // refused, or DISCARD: 250 with nothing kept
      spool_.reset();
      message_note_ = checks;
      if (milter.refuse) session_.message_refused(*milter.refuse);
      if (milter.discard) session_.message_stored(Status::Ok());
      message_note_.clear();
      co_return;
    }
  }
  Status st = spool_status_;
  if (st.ok() && spool_) {
    // fsync off the loop.
    st = co_await asio::co_spawn(deps_.blocking, commit_spool(spool_.get()), asio::use_awaitable);
  } else if (st.ok()) {
    st = Status::Transient("no spool");
  }
  spool_.reset();
  // A failure is logged once, as the refusal, with the storage error.
  if (!st.ok()) message_note_ = checks + " error=" + log_quoted(st.message());
  session_.message_stored(st.ok() ? st : Status::Transient(st.message(), st.sys_errno()));
  message_note_.clear();
  if (!st.ok()) co_return;
  if (!milter.quarantine) deps_.handoff->enqueue(env);  // quarantined: kept, not delivered
  metrics::server().messages_accepted.with({listener_kind_name(listener_.kind)}).inc();
  log_info("session={} message client={} id={} from={} rcpts={} size={} tls={} auth={}{} result={}",
           session_id_, ip_, env.id, log_value("<" + env.mail.from.str() + ">"), env.rcpts.size(),
           session_.last_message_size(),
           stream_->is_tls() ? tls_info(stream_->ssl()).version : "no",
           env.auth_user.empty() ? "-" : log_value(env.auth_user), checks,
           log_quoted(session_.last_message_result()));
}

void Connection::do_message_abort() {
  if (spool_) spool_->abort();
  spool_.reset();
  inbound_.reset();
  spool_status_ = Status::Ok();
  // A message refused at its end was logged as the refusal; this is one
  // the client (or a timeout, or the shutdown) cut short.
  if (session_.last_message_result().empty())
    log_info("session={} message client={} id={} aborted size={}", session_id_, ip_,
             session_.envelope().id, session_.last_message_size());
}

}  // namespace tern
