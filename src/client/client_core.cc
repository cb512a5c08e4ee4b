#include "client/client_core.h"

#include <unistd.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <exception>

#include "client/require_tls.h"
#include "client/result_mapping.h"
#include "client/tls_client.h"
#include "net/awaitable.h"

namespace tern {

using namespace asio::experimental::awaitable_operators;

namespace {

uint16_t default_port(Security s) {
  switch (s) {
    case Security::kNone:
      return 25;
    case Security::kStartTls:
      return 587;  // RFC 6409 submission
    case Security::kTls:
      return 465;  // RFC 8314 submissions
  }
  return 25;
}

// "[::1]" is how people write an IPv6 host next to a port; the resolver
// and the certificate check want it bare.
std::string bare_host(const std::string& host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// The body stays with the caller's Outgoing for the whole send, so the
// connection reads it in place (no copy of a large message per attempt).
class ViewBody : public BodySource {
 public:
  explicit ViewBody(std::string_view data) : data_(data) {}
  asio::awaitable<bool> read(std::string* out, size_t max, std::string*) override {
    if (pos_ >= data_.size()) co_return false;
    const size_t n = std::min(max, data_.size() - pos_);
    out->append(data_.substr(pos_, n));
    pos_ += n;
    co_return true;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// True when the connection went away (or said 421) before the message got
// anywhere: no recipient accepted, and the body never went out. On a
// reused connection that is the sign of a server that closed it while we
// were idle. A timeout is not: waiting a second time would double it.
bool died_before_accepting(const MessageResult& r) {
  if (!r.failure || r.delivered_count() > 0) return false;
  const Failure& f = *r.failure;
  if (f.phase != Phase::kMail && f.phase != Phase::kRcpt && f.phase != Phase::kData) return false;
  if (f.cause == Failure::Cause::kConnection)
    return f.detail.find("timed out") == std::string::npos;
  return f.cause == Failure::Cause::kReply && f.reply && f.reply->code == 421;
}

}  // namespace

std::string default_helo_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

ClientCore::ClientCore(asio::any_io_executor executor, ClientOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

ClientCore::~ClientCore() = default;

ClientSessionOptions ClientCore::session_options() const {
  ClientSessionOptions o;
  o.helo_name = options_.helo_name.empty() ? default_helo_name() : options_.helo_name;
  switch (options_.security) {
    case Security::kNone:
      o.tls = TlsPolicy::kNone;
      break;
    case Security::kStartTls:
      o.tls = TlsPolicy::kRequired;
      break;
    case Security::kTls:
      o.tls = TlsPolicy::kImplicit;
      break;
  }
  if (!options_.user.empty() || !options_.oauth_token.empty()) {
    o.auth = Credentials{options_.user, options_.password, options_.oauth_token,
                         options_.auth_mechanism};
  }
  o.allow_cleartext_auth = options_.allow_cleartext_auth;
  o.pipelining = true;
  ClientTimeouts& t = o.timeouts;
  t.greeting = t.command = t.mail = t.rcpt = t.data_init = t.data_block = options_.command_timeout;
  t.data_end = options_.data_timeout;
  if (options_.transcript) {
    o.transcript = [show = options_.transcript](TranscriptDir dir, std::string_view line) {
      show(dir == TranscriptDir::kSent, line);
    };
  }
  return o;
}

asio::awaitable<std::optional<SmtpError>> ClientCore::open() {
  using K = SmtpError::Kind;
  abort();
  const bool tls = options_.security != Security::kNone;
  if (tls && !tls_context_) {
    try {
      tls_context_ = make_client_tls_context(ClientTlsOptions{options_.ca_file, ""});
    } catch (const std::exception& e) {
      co_return local_error(K::kTls, "connect", e.what(), false);
    }
  }
  const std::string host = bare_host(options_.host);
  const uint16_t port = options_.port != 0 ? options_.port : default_port(options_.security);

  asio::ip::tcp::resolver resolver(executor_);
  asio::steady_timer timer(executor_);
  timer.expires_after(options_.connect_timeout);
  auto res = co_await (resolver.async_resolve(host, std::to_string(port), use_tuple) ||
                       timer.async_wait(use_tuple));
  if (res.index() == 1)
    co_return local_error(K::kTimeout, "connect", "timed out resolving " + host, true);
  auto [ec, found] = std::get<0>(res);
  if (ec) {
    co_return local_error(K::kConnect, "connect", "cannot resolve " + host + ": " + ec.message(),
                          ec != asio::error::host_not_found);
  }
  std::vector<asio::ip::tcp::endpoint> endpoints;
  for (const auto& entry : found) endpoints.push_back(entry.endpoint());

  ClientTlsSetup setup{tls ? tls_context_ : nullptr, host, options_.verify_certificate};
  conn_ = std::make_unique<ClientConnection>(executor_, session_options(), std::move(setup));
  const std::error_code cec =
      co_await conn_->connect(std::move(endpoints), options_.connect_timeout);
  bool open = conn_->open();
  if (open) {
    ClientConnection::OnDone none;
    open = co_await conn_->run(none);  // greeting, EHLO, STARTTLS, AUTH
  }
  if (open) co_return std::nullopt;

  std::optional<SmtpError> error;
  if (const std::optional<Failure>& f = conn_->session().connection_failure()) {
    error = to_smtp_error(*f);
  } else {
    error = local_error(K::kConnect, "connect", "connection closed", true);
  }
  // ClientConnection reports a failed implicit-TLS handshake as a failed
  // connect; it is a TLS failure: TCP got through (peer() is set).
  if (cec && options_.security == Security::kTls && conn_->peer() && error->kind != K::kTimeout) {
    error->kind = K::kTls;
  }
  conn_.reset();
  co_return error;
}

asio::awaitable<std::optional<SmtpError>> ClientCore::connect() {
  if (conn_ && conn_->open()) co_return std::nullopt;
  std::optional<SmtpError> error = co_await open();
  co_return error;
}

asio::awaitable<SendResult> ClientCore::attempt(const Outgoing& m, bool* retry_fresh) {
  *retry_fresh = false;
  if (!conn_ || !conn_->open()) {
    std::optional<SmtpError> error = co_await open();
    if (error) co_return failed_result(*error, m.recipients);
  }
  if (m.envelope.mail.requiretls) {
    // RFC 8689 4.2.1: only over TLS that authenticated the server. The
    // options checked in send() make this hold; it is checked again on the
    // connection itself, which is what the RFC is about.
    const ClientTlsState& tls = conn_->tls_state();
    if (auto refused = requiretls_refusal(tls.active, tls.check.verified, tls.check.detail))
      co_return failed_result(*refused, m.recipients);
  }
  const bool reused = sent_on_conn_ > 0;
  ++sent_on_conn_;
  const uint64_t id = conn_->add(m.envelope, std::make_unique<ViewBody>(m.body));
  std::optional<MessageResult> result;
  ClientConnection::OnDone on_done = [&result, id](const MessageResult& r) {
    if (r.id == id) result = r;
  };
  const bool open = co_await conn_->run(on_done);
  if (!open) conn_.reset();
  if (!result) {  // ClientSession guarantees a result; this is a bug if reached
    co_return failed_result(
        local_error(SmtpError::Kind::kProtocol, "mail", "no result for the message", true),
        m.recipients);
  }
  *retry_fresh = reused && died_before_accepting(*result);
  co_return to_send_result(*result);
}

asio::awaitable<SendResult> ClientCore::send(Outgoing m) {
  if (m.error) co_return failed_result(*m.error, m.recipients);
  if (m.envelope.mail.requiretls) {
    if (auto refused = requiretls_refusal(options_))
      co_return failed_result(*refused, m.recipients);
  }
  bool retry = false;
  SendResult r = co_await attempt(m, &retry);
  if (retry) {
    abort();
    r = co_await attempt(m, &retry);
  }
  co_return r;
}

asio::awaitable<void> ClientCore::close() {
  if (conn_ && conn_->open()) {
    ClientConnection::OnDone none;
    co_await conn_->quit(none);
  }
  abort();
}

void ClientCore::abort() {
  if (conn_) conn_->abort();
  conn_.reset();
  sent_on_conn_ = 0;
}

std::string ClientCore::tls_description() const {
  if (!conn_ || !conn_->tls_state().active) return "none";
  const ClientTlsState& s = conn_->tls_state();
  std::string out = s.info.version + " " + s.info.cipher;
  out += s.check.verified ? " (verified)" : " (not verified: " + s.check.detail + ")";
  return out;
}

}  // namespace tern
