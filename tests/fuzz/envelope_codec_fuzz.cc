// Fuzzes the queue file's envelope header (src/queue/envelope_codec,
// docs/queue_format.md). Invariants: what decodes encodes again, and that
// encoding decodes to the same envelope and re-encodes to the same octets
// (a queue file survives any number of rewrites unchanged).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "queue/envelope_codec.h"

namespace {

bool same_mail(const tern::MailArgs& a, const tern::MailArgs& b) {
  return a.from == b.from && a.size == b.size && a.body == b.body && a.smtputf8 == b.smtputf8 &&
         a.ret == b.ret && a.envid == b.envid && a.auth == b.auth;
}

bool same(const tern::Envelope& a, const tern::Envelope& b) {
  if (a.id != b.id || !same_mail(a.mail, b.mail) || a.rcpts.size() != b.rcpts.size() ||
      a.client_ip != b.client_ip || a.helo != b.helo || a.auth_user != b.auth_user ||
      a.listener != b.listener || a.received_at != b.received_at)
    return false;
  for (size_t i = 0; i < a.rcpts.size(); ++i) {
    const tern::RcptArgs &x = a.rcpts[i], &y = b.rcpts[i];
    if (!(x.to == y.to) || x.notify != y.notify || x.orcpt != y.orcpt) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view buf(reinterpret_cast<const char*>(data), size);
  const size_t body = tern::find_body_offset(buf);
  // decode_envelope takes the header without its empty line.
  const std::string_view header = body == std::string_view::npos ? buf : buf.substr(0, body - 1);
  if (body != std::string_view::npos) FUZZ_CHECK(buf.substr(body - 2, 2) == "\n\n");

  tern::Envelope env;
  if (!tern::decode_envelope(header, &env).ok()) return 0;
  std::string once;
  FUZZ_CHECK(tern::encode_envelope(env, &once).ok());
  const size_t end = tern::find_body_offset(once);
  FUZZ_CHECK(end == once.size());
  tern::Envelope back;
  FUZZ_CHECK(tern::decode_envelope(std::string_view(once).substr(0, end - 1), &back).ok());
  FUZZ_CHECK(same(env, back));
  std::string twice;
  FUZZ_CHECK(tern::encode_envelope(back, &twice).ok());
  FUZZ_CHECK(once == twice);
  return 0;
}
