// Fuzzes the sending session (src/core/client_session) with arbitrary
// server replies. Input: an 8-octet header, then the server's bytes.
//   [0] 1 TLS required (else opportunistic), 2 AUTH credentials,
//       4 chunking, 8 8-bit bodies sent as is, 16 no pipelining,
//       32 implicit TLS, 64 a second message, 128 a third, added later
//   [1] receive() chunk size - 1
//   [2..7] decisions in turn: STARTTLS handshake success, body failure
// Invariants (client_session.h's guarantees): every message added comes
// back exactly once as kMessageDone, in the order added, before kClose;
// each recipient is delivered or has a failure; commands go out as whole
// CRLF-terminated lines; the session never loops without asking for input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/client_session.h"
#include "core/dot_encoder.h"
#include "fuzz_check.h"

namespace {

using tern::ClientSession;
using Kind = ClientSession::Action::Kind;

tern::OutboundMessage message(int n, bool eight_bit) {
  tern::OutboundMessage m;
  m.mail.from = tern::Address{"sender", "example.org"};
  m.mail.size = 40;
  if (eight_bit) m.mail.body = tern::BodyType::k8BitMime;
  for (int i = 0; i <= n; ++i) {
    tern::RcptArgs r;
    r.to = tern::Address{"rcpt" + std::to_string(i), "example.net"};
    if (i == 1) r.notify = tern::kNotifySuccess | tern::kNotifyFailure;
    m.rcpts.push_back(r);
  }
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHeader = 8;
  uint8_t h[kHeader] = {};
  for (size_t i = 0; i < kHeader && i < size; ++i) h[i] = data[i];
  const std::string_view in(reinterpret_cast<const char*>(data) + std::min(size, kHeader),
                            size - std::min(size, kHeader));
  size_t decision = 0;
  auto decide = [&] { return h[2 + decision++ % 6]; };

  tern::ClientSessionOptions o;
  o.helo_name = "client.example.org";
  o.tls = (h[0] & 32)  ? tern::TlsPolicy::kImplicit
          : (h[0] & 1) ? tern::TlsPolicy::kRequired
                       : tern::TlsPolicy::kOpportunistic;
  if (h[0] & 2) o.auth = tern::Credentials{"user", "secret", "", ""};
  o.chunking = h[0] & 4;
  o.eight_bit = (h[0] & 8) ? tern::EightBitPolicy::kSendAsIs : tern::EightBitPolicy::kRefuse;
  o.pipelining = !(h[0] & 16);
  const size_t chunk = 1 + h[1];

  ClientSession s(o);
  std::vector<uint64_t> added, done;
  added.push_back(s.add(message(1, false)));
  if (h[0] & 64) added.push_back(s.add(message(0, true)));
  bool third_pending = h[0] & 128;
  s.start();

  size_t pos = 0;
  bool quit = false;
  for (int steps = 0;; ++steps) {
    FUZZ_CHECK(steps < 1000000);
    const ClientSession::Action a = s.next();
    if (a.kind == Kind::kClose) break;
    switch (a.kind) {
      case Kind::kSend:
        FUZZ_CHECK(a.data.size() >= 2 && a.data.substr(a.data.size() - 2) == "\r\n");
        break;
      case Kind::kNeedInput:
        if (pos < in.size()) {
          const size_t n = std::min(chunk, in.size() - pos);
          s.receive(in.substr(pos, n));
          pos += n;
        } else {
          s.eof();
        }
        break;
      case Kind::kStartTls:
        if (decide() % 4 == 0)
          s.tls_failed("handshake failed");
        else
          s.tls_started();
        break;
      case Kind::kSendBody: {
        tern::DotEncoder e = s.body_encoder();
        std::string out;
        if (decide() % 8 == 0) {
          s.body_failed("spool read error");
          break;
        }
        e.encode("Subject: x\r\n\r\n.leading dot\r\nbody\r\n", &out);
        e.finish(&out);
        s.body_sent(e);
        break;
      }
      case Kind::kMessageDone:
        FUZZ_CHECK(a.result != nullptr);
        done.push_back(a.result->id);
        if (!a.result->failure) FUZZ_CHECK(a.result->delivered_count() > 0);
        for (const tern::RecipientResult& r : a.result->rcpts)
          if (r.failure) FUZZ_CHECK(!r.failure->describe().empty());
        if (third_pending) {  // added while the session runs
          third_pending = false;
          added.push_back(s.add(message(2, false)));
        }
        break;
      case Kind::kIdle:
        FUZZ_CHECK(!quit || s.closed());
        quit = true;
        s.quit();
        break;
      case Kind::kClose:
        break;
    }
  }
  FUZZ_CHECK(done == added);
  FUZZ_CHECK(s.closed());
  return 0;
}
