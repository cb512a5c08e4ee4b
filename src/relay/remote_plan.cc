#include "relay/remote_plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/ascii.h"

namespace tern {
namespace {

// The address of a route host that is an address literal ("[192.0.2.1]",
// "[ipv6:2001:db8::1]"), as the bare text the certificate check takes.
std::string literal_text(const RouteHost& host) {
  if (host.name.size() < 2 || host.name.front() != '[') return host.name;
  return host.addresses.empty() ? host.name : host.addresses.front().to_string();
}

// The message-wide failure stands for the recipient, not a reply to it.
bool own_refusal(const Failure& f) {
  return f.phase == Phase::kRcpt && f.cause == Failure::Cause::kReply && f.reply &&
         f.reply->code != 421;
}

bool connection_phase(Phase p) {
  switch (p) {
    case Phase::kConnect:
    case Phase::kGreeting:
    case Phase::kEhlo:
    case Phase::kStartTls:
    case Phase::kAuth:
      return true;
    default:
      return false;
  }
}

const char* cause_code(const Failure& f) {
  switch (f.cause) {
    case Failure::Cause::kConnection:
      return f.phase == Phase::kConnect ? "4.4.1" : "4.4.2";  // RFC 3463 X.4.1, X.4.2
    case Failure::Cause::kTls:
      return "4.7.5";  // X.7.5 cryptographic failure
    case Failure::Cause::kProtocol:
      return "4.5.0";  // X.5.0 other protocol status
    case Failure::Cause::kPolicy:
      return "4.7.0";
    case Failure::Cause::kLocal:
    case Failure::Cause::kReply:
      break;
  }
  return "4.3.0";
}

}  // namespace

bool is_self(const RouteHost& host, const SelfIdentity& self) {
  if (!self.hostname.empty() && ascii_lower(host.name) == ascii_lower(self.hostname)) return true;
  for (const asio::ip::address& a : host.addresses) {
    if (std::find(self.addresses.begin(), self.addresses.end(), a) != self.addresses.end())
      return true;
    if (self.any_loopback && (a.is_loopback() || a.is_unspecified())) return true;
    if (self.any_loopback && a.is_v6() && a.to_v6().is_v4_mapped()) {
      const asio::ip::address_v4 v4 = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
      if (v4.is_loopback() || v4.is_unspecified()) return true;
    }
  }
  return false;
}

Route drop_self(Route route, const SelfIdentity& self, std::string* looped) {
  if (route.status != RouteStatus::kOk) return route;
  // Hosts are in preference order; the first one that is us sets the cut.
  auto it = std::find_if(route.hosts.begin(), route.hosts.end(),
                         [&](const RouteHost& h) { return is_self(h, self); });
  if (it == route.hosts.end()) return route;
  if (looped) *looped = it->name;
  const uint16_t cut = it->preference;
  std::erase_if(route.hosts, [cut](const RouteHost& h) { return h.preference >= cut; });
  if (route.hosts.empty()) {
    route.status = RouteStatus::kFail;
    route.reply =
        Reply(554, "5.4.6", fmt::format("mail for {} loops back to myself", route.domain));
  }
  return route;
}

std::vector<Hop> route_hops(const Route& route, uint16_t port) {
  std::vector<Hop> hops;
  if (route.status != RouteStatus::kOk) return hops;
  for (const RouteHost& host : route.hosts) {
    for (const asio::ip::address& a : host.addresses) {
      hops.push_back(Hop{host.name, literal_text(host), asio::ip::tcp::endpoint(a, port)});
    }
  }
  return hops;
}

std::string hop_text(const Hop& hop) {
  // Postfix's form: the name, then the address in brackets (either family).
  const std::string where =
      fmt::format("[{}]:{}", hop.endpoint.address().to_string(), hop.endpoint.port());
  if (!hop.host.empty() && hop.host.front() == '[') return where;
  return hop.host + where;
}

OutboundMessage outbound_message(const Envelope& env, const std::vector<size_t>& rcpts,
                                 const BodyFacts& body) {
  OutboundMessage m;
  m.mail.from = env.mail.from;
  m.mail.size = body.size;
  if (env.mail.body == BodyType::kBinaryMime) {
    m.mail.body = BodyType::kBinaryMime;
  } else {
    m.mail.body = body.eight_bit ? BodyType::k8BitMime : BodyType::k7Bit;
  }
  m.mail.smtputf8 = env.mail.smtputf8;
  m.mail.ret = env.mail.ret;
  m.mail.envid = env.mail.envid;
  // RFC 8689 4.2.1: passed on; the session sends it only over TLS to a
  // server that offers REQUIRETLS (relay/requiretls.h for the rest).
  m.mail.requiretls = env.mail.requiretls;
  for (size_t i : rcpts) {
    if (i < env.rcpts.size()) m.rcpts.push_back(env.rcpts[i]);
  }
  return m;
}

Reply deferral_reply(const Failure& f) {
  if (f.cause == Failure::Cause::kReply && f.reply && f.reply->transient() &&
      !connection_phase(f.phase)) {
    return *f.reply;  // the server's own 4xx, as it said it
  }
  const int code = f.reply && f.reply->transient() ? f.reply->code : 451;
  std::string esc = cause_code(f);
  if (f.reply && f.reply->enhanced.size() >= 5 && f.reply->enhanced[1] == '.') {
    esc = "4" + f.reply->enhanced.substr(1);
  }
  return Reply(code, esc, f.describe());
}

HopOutcome settle(const MessageResult& result, const std::string& remote_mta) {
  HopOutcome out;
  out.dsn_passed = result.dsn_passed;
  out.retry.kind = RcptResult::Kind::kTransient;
  out.retry.remote_mta = remote_mta;
  bool have_retry = false;
  if (result.failure && result.failure->phase == Phase::kStartTls &&
      result.failure->cause == Failure::Cause::kTls) {
    out.tls_handshake_failed = true;
  }
  for (const RecipientResult& r : result.rcpts) {
    RcptResult rr;
    rr.remote_mta = remote_mta;
    if (r.delivered()) {
      rr.kind = RcptResult::Kind::kDelivered;
      rr.reply = result.reply ? *result.reply
                              : r.reply.value_or(Reply(250, "2.0.0", "accepted by the server"));
      out.delivered = true;
      out.rcpts.push_back(std::move(rr));
      continue;
    }
    const Failure& f = *r.failure;
    if (own_refusal(f)) {
      rr.kind = f.permanent ? RcptResult::Kind::kPermanent : RcptResult::Kind::kTransient;
      rr.reply = *f.reply;
      out.rcpts.push_back(std::move(rr));
      continue;
    }
    if (f.permanent && f.cause == Failure::Cause::kLocal) {
      // Refused here before MAIL (SMTPUTF8, 8-bit, size): ours, naming the host.
      rr.kind = RcptResult::Kind::kPermanent;
      rr.remote_mta.clear();
      rr.reply = f.reply ? *f.reply : Reply(554, "5.3.0", f.describe());
      if (!rr.reply.lines.empty() && !remote_mta.empty())
        rr.reply.lines.back() += " (" + remote_mta + ")";
      out.rcpts.push_back(std::move(rr));
      continue;
    }
    if (f.permanent && f.cause == Failure::Cause::kReply && f.reply && !connection_phase(f.phase)) {
      rr.kind = RcptResult::Kind::kPermanent;  // 5xx to MAIL, DATA or the data
      rr.reply = *f.reply;
      out.rcpts.push_back(std::move(rr));
      continue;
    }
    if (!have_retry) {
      out.retry.reply = deferral_reply(f);
      have_retry = true;
    }
    out.rcpts.push_back(std::nullopt);
  }
  return out;
}

RcptResult route_result(const Route& route) {
  RcptResult r;
  r.kind = route.status == RouteStatus::kRetry ? RcptResult::Kind::kTransient
                                               : RcptResult::Kind::kPermanent;
  r.reply = route.reply;
  if (r.reply.code == 0) r.reply = Reply(451, "4.4.3", "no route to " + route.domain);
  return r;
}

}  // namespace tern
