#include "relay/lmtp_plan.h"

#include "relay/remote_plan.h"

namespace tern {

OutboundMessage lmtp_message(const Envelope& env, const std::vector<std::string>& targets,
                             std::vector<bool>* ok) {
  OutboundMessage m;
  m.mail.from = env.mail.from;
  m.mail.body = env.mail.body;
  m.mail.smtputf8 = env.mail.smtputf8;
  ok->clear();
  for (const std::string& t : targets) {
    std::optional<Address> a = parse_mailbox(t, true);
    ok->push_back(a.has_value());
    if (a) m.rcpts.push_back(RcptArgs{*a, kNotifyNone, ""});
  }
  return m;
}

std::vector<RcptResult> lmtp_results(const MessageResult& r, const std::string& server) {
  std::vector<RcptResult> out;
  for (const RecipientResult& rr : r.rcpts) {
    RcptResult x;
    x.remote_mta = server;
    if (rr.delivered()) {
      x.kind = RcptResult::Kind::kDelivered;
      // Its own reply after the body (RFC 2033 4.2); Dovecot names the
      // recipient and the session id in it.
      x.reply = rr.reply ? *rr.reply : Reply(250, "2.0.0", "delivered by LMTP");
    } else {
      const Failure& f = *rr.failure;
      const bool transaction = f.phase == Phase::kMail || f.phase == Phase::kRcpt ||
                               f.phase == Phase::kData || f.phase == Phase::kBody;
      if (f.permanent && transaction && f.reply &&
          (f.cause == Failure::Cause::kReply || f.cause == Failure::Cause::kLocal)) {
        x.kind = RcptResult::Kind::kPermanent;
        x.reply = *f.reply;
      } else {
        x.kind = RcptResult::Kind::kTransient;
        x.reply = deferral_reply(f);
        x.reply.lines.front() = "LMTP " + server + ": " + x.reply.lines.front();
      }
    }
    out.push_back(std::move(x));
  }
  return out;
}

bool stale_connection(const MessageResult& r) {
  if (!r.failure || r.delivered_count() > 0) return false;
  const Failure& f = *r.failure;
  const bool before_body =
      f.phase == Phase::kMail || f.phase == Phase::kRcpt || f.phase == Phase::kData;
  return before_body &&
         (f.cause == Failure::Cause::kConnection || f.cause == Failure::Cause::kProtocol);
}

RcptResult merge_results(RcptResult local, const std::vector<RcptResult>& targets) {
  auto rank = [](RcptResult::Kind k) {
    switch (k) {
      case RcptResult::Kind::kTransient:
        return 2;
      case RcptResult::Kind::kPermanent:
        return 1;
      default:
        return 0;
    }
  };
  RcptResult out = std::move(local);
  const RcptResult* worst = nullptr;
  for (const RcptResult& t : targets) {
    if (!worst || rank(t.kind) > rank(worst->kind)) worst = &t;
  }
  if (!worst || rank(worst->kind) <= rank(out.kind)) return out;
  // A failed target fails the recipient; forwarding (kExpanded) waits for
  // the retry, which expands again.
  out.kind = worst->kind;
  out.reply = worst->reply;
  out.remote_mta = worst->remote_mta;
  out.forward_to.clear();
  return out;
}

}  // namespace tern
