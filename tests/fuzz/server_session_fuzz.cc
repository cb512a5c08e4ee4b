// Fuzzes the whole receiving session (src/core/server_session) with
// arbitrary client bytes, answering every action the way the connection
// does, with results the input chooses.
//
// Input: a 24-octet header, then the client's bytes.
//   [0]  options: 1 tls_available, 2 auth_enabled, 4 auth_required,
//        8 spf_check, 16 bare newlines normalised, 32 vrfy, 64 etrn,
//        128 listener "submission"
//   [1]  1 spf_reject_fail, 2 spf_defer_temperror, 4 implicit TLS,
//        8 refuse the connection at start, 16 end with timeout() instead
//        of eof(), 32 shutdown() halfway, 64 set_draining() halfway,
//        128 milters (kFilter, refusing one time in three)
//   [2]  max_recipients - 1 (mod 8); [3] max_errors - 1 (mod 25)
//   [4..5] max_message_size / 16 (big endian)
//   [6]  receive() chunk size - 1 (255: the whole input at once)
//   [7..23] decisions, used in turn: AUTH ok, SPF result, store result,
//        STARTTLS handshake success
// Invariants: every kSend is whole reply lines ("ddd" SP/"-" text CRLF, no
// other CR or LF, a 2xx-5xx code); message data only between a begin and
// its end or abort; begin never while a message is open; kClose ends it;
// the session never loops without asking for input; no message over the
// size limit is handed out for storing; "queued as" only after a store.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/server_session.h"
#include "fuzz_check.h"

namespace {

using tern::ServerSession;
using Kind = ServerSession::Action::Kind;

class FuzzEnv : public tern::SessionEnv {
 public:
  tern::RcptVerdict check_rcpt(const tern::Address& rcpt, const std::string& auth_user) override {
    if (rcpt.domain.empty() || rcpt.domain == "local.test") return tern::RcptVerdict::kLocal;
    if (rcpt.domain == "tempfail.test") return tern::RcptVerdict::kTempFail;
    if (rcpt.domain == "unknown.test") return tern::RcptVerdict::kUnknownUser;
    return auth_user.empty() ? tern::RcptVerdict::kRelayDenied : tern::RcptVerdict::kRelay;
  }
  tern::RcptCheck resolve_rcpt(const tern::Address& rcpt, const std::string& auth_user) override {
    tern::RcptCheck c;
    if (rcpt.domain == "srs.test" && rcpt.local.size() > 4) {  // rewritten, as SRS bounces
      c.verdict = tern::RcptVerdict::kRelay;
      c.rewrite = tern::Address{rcpt.local.substr(4), "remote.test"};
      return c;
    }
    c.verdict = check_rcpt(rcpt, auth_user);
    if (c.verdict == tern::RcptVerdict::kUnknownUser) c.reason = "no such user here";
    return c;
  }
  tern::SenderVerdict check_sender(const tern::Address& from, const std::string&) override {
    if (from.domain == "tempfail.test") return tern::SenderVerdict::kTempFail;
    if (from.domain == "other.test") return tern::SenderVerdict::kNotOwned;
    return tern::SenderVerdict::kOk;
  }
  std::optional<size_t> etrn(const std::string& domain, bool) override {
    if (domain == "down.test") return std::nullopt;
    return domain.size();
  }
  bool mailbox_exists(const tern::Address& a) override { return a.domain == "local.test"; }
  std::string new_queue_id() override { return "Q" + std::to_string(++ids_); }
  int64_t now() override { return 1795424400; }

 private:
  int ids_ = 0;
};

// Whole reply lines only.
void check_replies(std::string_view out) {
  FUZZ_CHECK(!out.empty());
  FUZZ_CHECK(out.size() >= 2 && out.substr(out.size() - 2) == "\r\n");
  size_t pos = 0;
  while (pos < out.size()) {
    const size_t end = out.find("\r\n", pos);
    FUZZ_CHECK(end != std::string_view::npos);
    const std::string_view line = out.substr(pos, end - pos);
    FUZZ_CHECK(line.size() >= 3);
    FUZZ_CHECK(line[0] >= '2' && line[0] <= '5');
    FUZZ_CHECK(line[1] >= '0' && line[1] <= '9' && line[2] >= '0' && line[2] <= '9');
    FUZZ_CHECK(line.size() == 3 || line[3] == ' ' || line[3] == '-');
    FUZZ_CHECK(line.find('\r') == std::string_view::npos);
    FUZZ_CHECK(line.find('\n') == std::string_view::npos);
    pos = end + 2;
  }
}

// The "250 2.0.0 Ok: queued as ID" lines among whole reply lines.
int count_queued(std::string_view out) {
  int n = 0;
  for (size_t pos = 0; pos < out.size();) {
    const size_t end = out.find("\r\n", pos);
    if (out.substr(pos, end - pos).rfind("250 2.0.0 Ok: queued as ", 0) == 0) ++n;
    pos = end + 2;
  }
  return n;
}

struct Runner {
  ServerSession* s;
  const uint8_t* decisions;
  size_t n_decisions;
  size_t next_decision = 0;
  uint64_t max_size = 0;
  bool open = false;
  bool closed = false;
  size_t data_octets = 0;  // of the open message
  int stored_ok = 0;       // message_stored(Ok) calls
  int queued_replies = 0;  // "250 2.0.0 Ok: queued as" lines sent

  uint8_t decide() { return decisions[next_decision++ % n_decisions]; }

  // Runs next() until the session needs input or closes.
  void pump() {
    for (int steps = 0; !closed; ++steps) {
      // A session that never asks for input again would hang a connection.
      FUZZ_CHECK(steps < 1000000);
      const ServerSession::Action a = s->next();
      switch (a.kind) {
        case Kind::kNeedInput:
          return;
        case Kind::kSend:
          check_replies(a.data);
          queued_replies += count_queued(a.data);
          break;
        case Kind::kStartTls:
          if (decide() % 8 == 0) {  // handshake failed: the connection closes
            closed = true;
            return;
          }
          s->tls_started({"TLSv1.3", "TLS_AES_128_GCM_SHA256"});
          break;
        case Kind::kCheckAuth:
          s->auth_checked(decide() % 2 == 0);
          break;
        case Kind::kCheckSpf: {
          tern::SpfOutcome o;
          o.result = static_cast<tern::SpfResult>(decide() % 7);
          o.mechanism = "-all";
          o.explanation = "not allowed\r\nto send";  // a CR LF must not reach a reply
          s->spf_checked(o);
          break;
        }
        case Kind::kFilter:
          // A milter refusing one time in three, with its own reply.
          if (decide() % 3 == 0)
            s->filter_checked(tern::Reply(550, "5.7.1", "Command rejected"));
          else
            s->filter_checked(std::nullopt);
          break;
        case Kind::kMessageBegin:
          FUZZ_CHECK(!open);
          open = true;
          data_octets = 0;
          break;
        case Kind::kMessageData:
          FUZZ_CHECK(open);
          FUZZ_CHECK(!a.data.empty());
          data_octets += a.data.size();
          break;
        case Kind::kMessageEnd: {
          FUZZ_CHECK(open);
          open = false;
          // A message over the size limit is refused, never stored (RFC
          // 1870); what is stored is the body plus our Received header.
          FUZZ_CHECK(data_octets <= max_size + 2048);
          const uint8_t d = decide() % 4;
          if (d == 0) ++stored_ok;
          if (d == 0) s->message_stored(tern::Status::Ok());
          if (d == 1) s->message_stored(tern::Status::Transient("disk full"));
          if (d == 2) s->message_stored(tern::Status::Permanent("policy"));
          if (d == 3) s->message_refused(tern::Reply(550, "5.7.1", "DMARC policy"));
          break;
        }
        case Kind::kMessageAbort:
          FUZZ_CHECK(open);
          open = false;
          break;
        case Kind::kClose:
          FUZZ_CHECK(!open);
          closed = true;
          return;
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHeader = 24;
  uint8_t h[kHeader] = {};
  for (size_t i = 0; i < kHeader && i < size; ++i) h[i] = data[i];
  const std::string_view in(reinterpret_cast<const char*>(data) + std::min(size, kHeader),
                            size - std::min(size, kHeader));

  tern::SessionOptions o;
  o.tls_available = h[0] & 1;
  o.auth_enabled = h[0] & 2;
  o.auth_required = h[0] & 4;
  o.spf_check = h[0] & 8;
  o.bare_newline = (h[0] & 16) ? tern::BareNewline::kNormalize : tern::BareNewline::kReject;
  o.vrfy = h[0] & 32;
  o.etrn = h[0] & 64;
  o.listener = (h[0] & 128) ? "submission" : "smtp";
  o.spf_reject_fail = h[1] & 1;
  o.spf_defer_temperror = h[1] & 2;
  o.filter = h[1] & 128;
  o.max_recipients = 1 + h[2] % 8;
  o.max_errors = 1 + h[3] % 25;
  o.max_message_size = 16u * ((h[4] << 8) | h[5]);
  const size_t chunk = h[6] == 255 ? in.size() + 1 : 1 + h[6];

  FuzzEnv env;
  ServerSession s(o, &env, "192.0.2.7");
  Runner r{&s, h + 7, kHeader - 7};
  r.max_size = o.max_message_size;
  std::optional<tern::Reply> refuse;
  if (h[1] & 8) refuse = tern::Reply(421, "4.7.0", "too many connections");
  std::optional<tern::SessionTls> tls;
  if (h[1] & 4) tls = tern::SessionTls{"TLSv1.3", "TLS_AES_256_GCM_SHA384"};
  s.start(refuse, tls);
  r.pump();

  for (size_t pos = 0; pos < in.size() && !r.closed;) {
    const size_t n = std::min(chunk, in.size() - pos);
    s.receive(in.substr(pos, n));
    pos += n;
    r.pump();
    if (!r.closed && pos >= in.size() / 2 && pos - n < in.size() / 2) {
      if (h[1] & 32) s.shutdown();
      if (h[1] & 64) s.set_draining();
      r.pump();
    }
  }
  if (!r.closed) {
    if (h[1] & 16)
      s.timeout();
    else
      s.eof();
    r.pump();
  }
  // The connection may have ended on a failed handshake; otherwise the
  // session must have closed by now.
  FUZZ_CHECK(r.closed);
  // A 250 for a message exactly when it was stored (nothing accepted is
  // lost, nothing unstored acknowledged).
  FUZZ_CHECK(r.queued_replies == r.stored_ok);
  return 0;
}
