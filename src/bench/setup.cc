#include "bench/setup.h"

#include <sys/resource.h>

#include <algorithm>

#include "bench/runner.h"
#include "client/tls_client.h"
#include "tern/address.h"

namespace tern::bench {

uint64_t raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

ClientSessionOptions session_options(const BenchOptions& o) {
  ClientSessionOptions s;
  s.helo_name = o.helo;
  s.tls = o.tls == TlsMode::kStartTls   ? TlsPolicy::kRequired
          : o.tls == TlsMode::kImplicit ? TlsPolicy::kImplicit
                                        : TlsPolicy::kNone;
  s.pipelining = o.pipelining;
  s.chunking = false;
  if (!o.user.empty()) s.auth = Credentials{o.user, o.password, "", ""};
  const std::chrono::seconds t(o.timeout);
  s.timeouts = ClientTimeouts{t, t, t, t, t, t, t};
  return s;
}

ClientTlsSetup tls_setup(const BenchOptions& o) {
  ClientTlsSetup t;
  if (o.tls == TlsMode::kNone) return t;
  t.context = make_client_tls_context(ClientTlsOptions{});
  t.peer_name = o.host;
  t.require_verified = !o.insecure;
  return t;
}

asio::ip::tcp::endpoint server_endpoint(const BenchOptions& o) {
  return {asio::ip::make_address(o.host), o.port};
}

OutboundMessage envelope(const BenchOptions& o) {
  OutboundMessage m;
  m.mail.from = *parse_mailbox(o.from, false);
  const size_t at = o.to.rfind('@');
  for (int i = 1; i <= o.rcpts; ++i) {
    const std::string to =
        i == 1 ? o.to : o.to.substr(0, at) + "+" + std::to_string(i) + o.to.substr(at);
    m.rcpts.push_back(RcptArgs{*parse_mailbox(to, false), kNotifyNone, ""});
  }
  return m;
}

asio::awaitable<bool> TemplateBody::read(std::string* out, size_t max, std::string*) {
  const size_t total = head_.size() + body_->size();
  if (pos_ >= total) co_return false;
  size_t room = max;
  if (pos_ < head_.size()) {
    const size_t n = std::min(room, head_.size() - pos_);
    out->append(head_, pos_, n);
    pos_ += n;
    room -= n;
  }
  if (room > 0 && pos_ >= head_.size()) {
    const size_t off = pos_ - head_.size();
    const size_t n = std::min(room, body_->size() - off);
    out->append(*body_, off, n);
    pos_ += n;
  }
  co_return true;
}

}  // namespace tern::bench
