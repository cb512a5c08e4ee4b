#include "client/result_mapping.h"

#include <algorithm>

namespace tern {

namespace {

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) {
    if (!out.empty()) out += ' ';
    out += l;
  }
  return out;
}

// The engine and ClientConnection say "timed out ..." in every detail
// about a passed deadline (client_session.cc timeout(), connection.cc
// connect and send_body); Failure has no separate flag for it.
bool is_timeout(const Failure& f) { return f.detail.find("timed out") != std::string::npos; }

SmtpError::Kind kind_of(const Failure& f) {
  using K = SmtpError::Kind;
  switch (f.cause) {
    case Failure::Cause::kReply:
      if (f.phase == Phase::kAuth) return K::kAuth;
      if (f.phase == Phase::kStartTls) return K::kTls;
      return K::kRefused;
    case Failure::Cause::kLocal:
      // RFC 8689 5: a REQUIRETLS message the server cannot take safely is
      // a transport-security failure, not a fault of the message.
      if (f.reply && f.reply->enhanced == kRequireTlsEnhanced) return K::kTls;
      return K::kMessage;
    case Failure::Cause::kProtocol:
      return K::kProtocol;
    case Failure::Cause::kConnection:
      return is_timeout(f) ? K::kTimeout : K::kConnect;
    case Failure::Cause::kTls:
      return K::kTls;
    case Failure::Cause::kPolicy:
      if (f.phase == Phase::kAuth) return K::kAuth;
      if (f.phase == Phase::kStartTls) return K::kTls;
      return K::kConnect;
  }
  return K::kProtocol;
}

}  // namespace

SmtpError to_smtp_error(const Failure& f) {
  SmtpError e;
  e.kind = kind_of(f);
  e.phase = phase_name(f.phase);
  e.temporary = !f.permanent;
  if (!f.reply) {
    e.text = f.detail;
    return e;
  }
  // A local refusal carries a reply of our making: keep its classification
  // and text, but code stays 0 since no server said it.
  if (f.cause != Failure::Cause::kLocal) e.code = f.reply->code;
  e.enhanced = f.reply->enhanced;
  e.text = join_lines(f.reply->lines);
  if (!f.detail.empty()) e.text += " (" + f.detail + ")";
  return e;
}

SendResult to_send_result(const MessageResult& r) {
  SendResult out;
  if (r.failure) out.error = to_smtp_error(*r.failure);
  for (const RecipientResult& rr : r.rcpts) {
    RecipientStatus s;
    s.address = rr.rcpt.to.str();
    s.accepted = rr.delivered();
    if (rr.failure) s.error = to_smtp_error(*rr.failure);
    out.recipients.push_back(std::move(s));
  }
  if (r.reply) {
    out.code = r.reply->code;
    out.text = join_lines(r.reply->lines);
    if (!r.reply->enhanced.empty()) out.text = r.reply->enhanced + " " + out.text;
  }
  return out;
}

SendResult failed_result(const SmtpError& error, const std::vector<std::string>& recipients) {
  SendResult out;
  out.error = error;
  for (const std::string& a : recipients) out.recipients.push_back({a, false, error});
  return out;
}

SmtpError local_error(SmtpError::Kind kind, std::string phase, std::string text, bool temporary) {
  SmtpError e;
  e.kind = kind;
  e.phase = std::move(phase);
  e.text = std::move(text);
  e.temporary = temporary;
  return e;
}

// --- The public types' methods ------------------------------------------------

std::string SmtpError::describe() const {
  std::string out = phase.empty() ? std::string("error") : phase;
  out += ": ";
  if (code != 0) out += std::to_string(code) + " ";
  if (!enhanced.empty()) out += enhanced + " ";
  return out + text;
}

bool SendResult::ok() const {
  return !error && std::all_of(recipients.begin(), recipients.end(),
                               [](const RecipientStatus& r) { return r.accepted; });
}

size_t SendResult::accepted() const {
  return static_cast<size_t>(std::count_if(recipients.begin(), recipients.end(),
                                           [](const RecipientStatus& r) { return r.accepted; }));
}

std::string SendResult::describe() const {
  if (error) return "not sent: " + error->describe();
  std::string out = "sent to " + std::to_string(accepted()) + " of " +
                    std::to_string(recipients.size()) + " recipients";
  if (code != 0) out += ": " + std::to_string(code) + " " + text;
  for (const RecipientStatus& r : recipients) {
    if (r.accepted) continue;
    out += "; refused " + r.address;
    if (r.error) out += " (" + r.error->describe() + ")";
  }
  return out;
}

}  // namespace tern
