#include "client/outgoing.h"

#include "client/result_mapping.h"
#include "core/dot_encoder.h"

namespace tern {

namespace {

SmtpError message_error(std::string phase, std::string text) {
  return local_error(SmtpError::Kind::kMessage, std::move(phase), std::move(text), false);
}

// Fills the envelope from `from` and `to`; false (and out->error) when an
// address does not parse.
bool set_envelope(const std::string& from, const std::vector<std::string>& to, Outgoing* out) {
  out->recipients = to;
  if (!from.empty()) {  // "" is the null reverse-path <>
    std::optional<Address> a = parse_mailbox(from, /*allow_utf8=*/true);
    if (!a) {
      out->error = message_error("mail", "invalid sender address: " + from);
      return false;
    }
    out->envelope.mail.from = std::move(*a);
  }
  if (to.empty()) {
    out->error = message_error("rcpt", "the message has no recipients");
    return false;
  }
  for (const std::string& r : to) {
    std::optional<Address> a = parse_mailbox(r, /*allow_utf8=*/true);
    if (!a) {
      out->error = message_error("rcpt", "invalid recipient address: " + r);
      return false;
    }
    out->envelope.rcpts.push_back(RcptArgs{std::move(*a), kNotifyNone, ""});
  }
  return true;
}

// SIZE= and BODY= come from the bytes exactly as DotEncoder will count them.
void scan_body(Outgoing* out) {
  BodyScanner scan;
  scan.feed(out->body);
  out->envelope.mail.size = scan.size();
  out->envelope.mail.body = scan.body_type();
}

}  // namespace

Outgoing make_outgoing(const Message& message) {
  Outgoing out;
  if (!set_envelope(message.envelope_from(), message.recipients(), &out)) return out;
  if (MessageStatus st = message.render(&out.body); !st.ok()) {
    out.error = message_error("mail", st.message());  // no From
    return out;
  }
  out.envelope.mail.smtputf8 = message.needs_smtputf8();
  out.envelope.mail.requiretls = message.require_tls();
  scan_body(&out);
  return out;
}

Outgoing make_outgoing(const SendEnvelope& envelope, std::string raw) {
  Outgoing out;
  if (!set_envelope(envelope.from, envelope.to, &out)) return out;
  out.envelope.mail.requiretls = envelope.require_tls;
  out.body = std::move(raw);
  scan_body(&out);
  return out;
}

}  // namespace tern
