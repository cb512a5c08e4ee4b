#include "server/connection.h"

#include <ctime>

#include "core/cidr.h"
#include "net/awaitable.h"
#include "server/log.h"
#include "server/server.h"
#include "spf/check.h"
#include "tls/tls.h"

namespace tern {

namespace {

std::string remote_ip(asio::ip::tcp::socket& s) {
  std::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_string();
  return addr.to_string();
}

// Blocking work for the thread pool, as coroutines whose arguments live in
// their own frames (a capturing lambda's captures would not outlive co_spawn).
asio::awaitable<bool> verify_password(Directory* dir, std::string user, std::string password) {
  co_return dir->verify_password(user, password);
}

asio::awaitable<Status> commit_spool(SpoolWriter* writer) { co_return writer->commit(); }

// A read buffer shared by every plain-text session of this thread: the
// stream waits for readability first, so idle sessions hold none.
thread_local char tl_read_buf[64 * 1024];

}  // namespace

Connection::Connection(Server& server, asio::ip::tcp::socket socket, ListenerConfig listener)
    : server_(server),
      config_(server.config()),
      listener_(std::move(listener)),
      stream_(std::move(socket)),
      ip_(remote_ip(stream_.socket())),
      sender_checked_(sender_checked()),
      session_(session_options(), this, ip_),
      started_(std::chrono::steady_clock::now()) {}

Connection::~Connection() = default;

SessionOptions Connection::session_options() const {
  SessionOptions o;
  o.hostname = config_->hostname;
  o.listener = listener_kind_name(listener_.kind);
  o.tls_available = server_.tls_context() != nullptr;
  o.auth_enabled = listener_.kind != ListenerKind::kSmtp;
  o.auth_required = listener_.kind != ListenerKind::kSmtp;
  o.max_message_size = config_->limits.max_message_size;
  o.max_recipients = config_->limits.max_recipients;
  o.max_errors = config_->limits.max_errors;
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
  RcptCheck c = server_.directory().check_rcpt(rcpt, auth_user, now());
  if (c.rewrite)
    log_info("rcpt client={} to=<{}> rewritten to=<{}> (SRS)", ip_, rcpt.str(), c.rewrite->str());
  else if (!c.reason.empty())
    log_info("rcpt client={} to=<{}> refused: {}", ip_, rcpt.str(), c.reason);
  return c;
}

SenderVerdict Connection::check_sender(const Address& from, const std::string& auth_user) {
  SenderVerdict v = server_.directory().check_sender(from, auth_user);
  if (v == SenderVerdict::kNotOwned)
    log_info("mail client={} auth={} from=<{}> refused: not owned by the user", ip_, auth_user,
             from.str());
  return v;
}

std::optional<size_t> Connection::etrn(const std::string& domain, bool subdomains) {
  std::optional<size_t> n;
  if (!server_.draining()) n = server_.worker().scheduler().flush_domain(domain, subdomains);
  log_info("etrn client={} node={}{} messages={}", ip_, subdomains ? "@" : "", domain,
           n ? std::to_string(*n) : "unavailable");
  return n;
}

bool Connection::mailbox_exists(const Address& addr) {
  return server_.directory().mailbox_exists(addr);
}

std::string Connection::new_queue_id() { return tern::new_queue_id(); }

int64_t Connection::now() { return static_cast<int64_t>(std::time(nullptr)); }

void Connection::drain() {
  bool idle = session_.awaiting_command();  // set_draining() closes an idle session
  session_.set_draining();
  // An idle session is blocked in a read: wake it so its 421 goes out.
  if (reading_ && idle) stream_.cancel();
}

void Connection::force_close() {
  closing_ = true;
  stream_.close();
}

asio::awaitable<void> Connection::run() {
  std::optional<Reply> refuse = server_.admit(ip_);
  server_.attach(this, ip_);
  log_info("connect client={} listener={}", ip_, listener_.address);
  std::optional<SessionTls> tls;
  if (listener_.kind == ListenerKind::kSubmissions && !refuse) {
    std::error_code ec;
    co_await stream_.handshake(server_.tls_context(), config_->limits.command_timeout, ec);
    if (ec) {
      log_info("disconnect client={} tls handshake failed: {}", ip_, ec.message());
      server_.detach(this, ip_);
      co_return;
    }
    TlsInfo info = tls_info(stream_.ssl());
    tls = SessionTls{info.version, info.cipher};
  }
  session_.start(refuse, tls);
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
    log_error("session client={} aborted: {}", ip_, e.what());
  }
  if (spool_) do_message_abort();
  // Every end that leaves TLS usable (QUIT, a 421, a read timeout) sends
  // close_notify; after an I/O error or force_close() this only closes.
  co_await stream_.shutdown(kTlsCloseTimeout);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  log_info("disconnect client={} helo={} tls={} auth={} messages={} duration={:.3f}s", ip_,
           session_.helo().empty() ? "-" : session_.helo(), stream_.is_tls() ? "yes" : "no",
           session_.auth_user().empty() ? "-" : session_.auth_user(), session_.messages_accepted(),
           secs);
  server_.detach(this, ip_);
}

asio::awaitable<void> Connection::do_send(std::string_view data) {
  std::error_code ec;
  co_await stream_.write(data, config_->limits.command_timeout, ec);
  if (ec) {
    session_.eof();
    closing_ = true;
  }
}

// Whatever happens (data, EOF, timeout, shutdown) the session is told.
asio::awaitable<void> Connection::do_read() {
  std::error_code ec;
  auto timeout =
      session_.receiving_data() ? config_->limits.data_timeout : config_->limits.command_timeout;
  // Under TLS the bytes are decrypted into the buffer inside the
  // asynchronous read, and this coroutine resumes only after the deadline
  // timer's cancellation has completed: other sessions' reads run in
  // between, so the thread's shared buffer would hand this session another
  // client's bytes. A TLS session reads into a buffer of its own.
  std::unique_ptr<char[]> own;
  char* buf = tl_read_buf;
  size_t size = sizeof tl_read_buf;
  if (stream_.is_tls()) {
    size = 16 * 1024;
    own = std::make_unique<char[]>(size);
    buf = own.get();
  }
  reading_ = true;
  size_t n = co_await stream_.read_some(asio::buffer(buf, size), timeout, ec);
  reading_ = false;
  if (!ec) {
    session_.receive(std::string_view(buf, n));
  } else if (ec == asio::error::timed_out) {
    session_.timeout();  // the 421 still goes out
  } else if (ec == asio::error::operation_aborted && server_.draining() && !closing_) {
    session_.shutdown();
  } else {
    session_.eof();
  }
}

asio::awaitable<void> Connection::do_starttls() {
  std::error_code ec;
  co_await stream_.handshake(server_.tls_context(), config_->limits.command_timeout, ec);
  if (ec) {
    log_info("starttls client={} failed: {}", ip_, ec.message());
    session_.eof();
    closing_ = true;
    co_return;
  }
  TlsInfo info = tls_info(stream_.ssl());
  session_.tls_started(SessionTls{info.version, info.cipher});
}

asio::awaitable<void> Connection::do_auth() {
  const AuthRequest& req = session_.auth_request();
  std::string user = req.user, password = req.password;
  server_.directory().refresh();  // a user added or removed a moment ago counts
  // argon2id is slow on purpose: keep it off the event loop.
  bool ok = co_await asio::co_spawn(server_.auth_pool(),
                                    verify_password(&server_.directory(), user, password),
                                    asio::use_awaitable);
  if (!ok) {
    auto delay = server_.auth_failure_delay(ip_);
    asio::steady_timer t(co_await asio::this_coro::executor, delay);
    co_await t.async_wait(use_tuple);
    log_info("auth client={} user={} mechanism={} failed", ip_, user, req.mechanism);
  } else {
    log_info("auth client={} user={} mechanism={} ok", ip_, user, req.mechanism);
  }
  session_.auth_checked(ok);
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
    r = co_await spf::check_helo(server_.worker().dns(), ip, req.helo, options);
  } else {
    r = co_await spf::check_mail_from(server_.worker().dns(), ip, req.mail_from, req.helo, options);
  }
  log_info("spf client={} identity={} from=<{}> helo={} result={} mechanism={}{}", ip_,
           req.helo_identity ? "helo" : "mailfrom", req.mail_from, req.helo,
           spf::result_name(r.result), r.mechanism.empty() ? "-" : r.mechanism,
           r.problem.empty() ? "" : " problem=\"" + r.problem + "\"");
  session_.spf_checked(SpfOutcome{session_result(r.result), r.mechanism, r.explanation, r.problem});
}

void Connection::do_message_begin() {
  spool_.reset();
  inbound_.reset();
  if (sender_checked_ && session_.auth_user().empty())
    inbound_ = std::make_unique<InboundAuth>(*config_, now());
  spool_status_ = server_.store().begin(session_.envelope(), &spool_);
  if (!spool_status_.ok()) {
    log_error("queue begin id={} failed: {}", session_.envelope().id, spool_status_.message());
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
    log_error("queue write id={} failed: {}", session_.envelope().id, spool_status_.message());
}

asio::awaitable<void> Connection::do_message_end() {
  const Envelope& env = session_.envelope();
  std::string checks;
  if (inbound_) {
    spool_write(inbound_->finish());
    InboundInputs in{ip_, nullptr, nullptr};
    if (session_.spf_outcome()) {
      in.spf_request = &session_.spf_request();
      in.spf = &*session_.spf_outcome();
    }
    InboundVerdict v = co_await inbound_->decide(server_.worker().dns(), in);
    inbound_.reset();
    checks = " " + v.summary;
    for (const dmarc::AggregateRow& row : v.report_rows) server_.worker().dmarc_log().record(row);
    if (v.refuse) {
      if (spool_) spool_->abort();
      spool_.reset();
      spool_status_ = Status::Ok();
      session_.message_refused(*v.refuse);
      log_info("message id={} client={} from=<{}> refused{} result=\"{}\"", env.id, ip_,
               env.mail.from.str(), checks, session_.last_message_result());
      co_return;
    }
    if (spool_ && spool_status_.ok() && !v.header.empty())
      spool_status_ = spool_->prepend(v.header);
  }
  Status st = spool_status_;
  if (st.ok() && spool_) {
    // fsync off the loop.
    st = co_await asio::co_spawn(server_.pool(), commit_spool(spool_.get()), asio::use_awaitable);
  } else if (st.ok()) {
    st = Status::Transient("no spool");
  }
  spool_.reset();
  session_.message_stored(st.ok() ? st : Status::Transient(st.message()));
  if (st.ok()) server_.worker().enqueue(env);
  log_info("message id={} client={} from=<{}> rcpts={} size={} tls={} auth={}{} result=\"{}\"",
           env.id, ip_, env.mail.from.str(), env.rcpts.size(), session_.last_message_size(),
           stream_.is_tls() ? tls_info(stream_.ssl()).version : "no",
           env.auth_user.empty() ? "-" : env.auth_user, checks, session_.last_message_result());
}

void Connection::do_message_abort() {
  if (spool_) spool_->abort();
  spool_.reset();
  inbound_.reset();
  spool_status_ = Status::Ok();
  const std::string& why = session_.last_message_result();
  log_info("message id={} client={} aborted size={} result=\"{}\"", session_.envelope().id, ip_,
           session_.last_message_size(), why.empty() ? "client reset or went away" : why);
}

}  // namespace tern
