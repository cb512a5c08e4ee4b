// RemoteCourier; the rules are in remote_courier.h, the decisions in
// remote_plan.h.
#include "relay/remote_courier.h"

#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "base/clock.h"
#include "base/log.h"
#include "client/tls_client.h"
#include "metrics/server_metrics.h"
#include "relay/dane.h"
#include "relay/file_body.h"
#include "relay/outbound_trace.h"
#include "relay/plan.h"
#include "relay/requiretls.h"
#include "relay/sts_fetch.h"
#include "tlsrpt/log.h"

namespace tern {
namespace {

// Idle connections kept per destination. Never more are useful than the
// deliveries that may run at once to one destination ([queue]
// max_per_destination), which each give back one.
constexpr size_t kMaxIdlePerDestination = 16;

asio::awaitable<std::pair<Status, ScanResult>> scan_on_pool(std::string path, uint64_t offset,
                                                            SignInput sign) {
  ScanResult scan;
  Status s = scan_body_file(path, offset, sign, &scan);
  co_return std::make_pair(std::move(s), std::move(scan));
}

// RFC 8689 3: whether the header section says "TLS-Required: No".
asio::awaitable<std::pair<Status, bool>> tls_required_on_pool(std::string path, uint64_t offset) {
  bool no = false;
  Status s = read_tls_required_no(path, offset, &no);
  co_return std::make_pair(std::move(s), no);
}

// "TLSv1.3/TLS_AES_256_GCM_SHA384 cert=unverified(self-signed certificate)", or "none".
std::string tls_text(const ClientTlsState& t) {
  if (!t.active) return "none";
  std::string cert = t.check.verified ? "verified" : "unverified(" + t.check.detail + ")";
  return fmt::format("{}/{} cert={}", t.info.version, t.info.cipher, cert);
}

// Outbound TLS for metrics, once per connection.
void count_tls(const ClientTlsState& t, bool handshake_failed) {
  metrics::ServerMetrics& m = metrics::server();
  if (handshake_failed) m.tls_failures.with({"outbound"}).inc();
  if (!t.active) return;
  m.tls_handshakes.with({"outbound", t.info.version}).inc();
  m.tls_peer_verification.with({"outbound", t.check.verified ? "verified" : "unverified"}).inc();
}

// " policy=dane(dane) dane=verified(3 1 1)": the host's requirement, with
// the DANE state after the handshake. "" for the smarthost and for plain
// opportunistic TLS without DNSSEC.
std::string policy_text(const std::map<std::string, TlsRequirement>& tls, const std::string& host,
                        const ClientTlsState& state) {
  auto it = tls.find(host);
  if (it == tls.end()) return "";
  TlsRequirement r = it->second;
  // Plain opportunistic TLS with nothing to say about DANE (no DNSSEC, no
  // policy): the line stays as it always was.
  if (r.level == TlsLevel::kMay && r.source == TlsSource::kDefault && r.dane == "none") return "";
  if (r.level == TlsLevel::kDane) {
    r.dane = !state.check.dane.empty() ? "verified(" + state.check.dane + ")"
             : state.active            ? "failed(" + state.check.detail + ")"
                                       : "failed(no TLS)";
  }
  return " " + requirement_text(r);
}

const char* status_word(RcptResult::Kind k) {
  switch (k) {
    case RcptResult::Kind::kDelivered:
    case RcptResult::Kind::kExpanded:
      return "sent";
    case RcptResult::Kind::kTransient:
      return "deferred";
    case RcptResult::Kind::kPermanent:
      return "bounced";
  }
  return "?";
}

}  // namespace

// --- Settings -----------------------------------------------------------------

std::vector<asio::ip::address> local_addresses() {
  std::vector<asio::ip::address> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      out.push_back(asio::ip::address_v4(ntohl(sin->sin_addr.s_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::copy(sin6->sin6_addr.s6_addr, sin6->sin6_addr.s6_addr + 16, bytes.begin());
      out.push_back(asio::ip::address_v6(bytes, sin6->sin6_scope_id));
    }
  }
  ::freeifaddrs(list);
  return out;
}

std::string read_password_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error(
        fmt::format("relay.password_file: cannot read '{}': {}", path, std::strerror(errno)));
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad())
    throw std::runtime_error(fmt::format("relay.password_file: cannot read '{}'", path));
  std::string password = s.str();
  if (password.ends_with("\n")) password.pop_back();
  if (password.ends_with("\r")) password.pop_back();
  if (password.empty())
    throw std::runtime_error(fmt::format("relay.password_file: '{}' holds no password", path));
  return password;
}

asio::awaitable<Route> resolve_smarthost(DnsLookup& dns, std::string host) {
  std::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(host, ec);
  if (!ec) {
    Route r;
    r.status = RouteStatus::kOk;
    r.domain = host;
    r.hosts.push_back(RouteHost{"[" + host + "]", 0, {ip}});
    co_return r;
  }
  // The smarthost as the implicit MX of its own name: its AAAA and A records.
  MxResult none;
  none.status = DnsStatus::kNoData;
  none.canonical_name = host;
  RandomBelow first = [](size_t) { return size_t{0}; };
  RouteOptions options;
  Route r = co_await resolve_route_from_mx(dns, host, none, first, options);
  if (r.status != RouteStatus::kOk) {
    r.status = RouteStatus::kRetry;
    r.reply = Reply(451, "4.4.3",
                    fmt::format("smarthost {}: {}", host,
                                r.reply.lines.empty() ? "no address" : r.reply.lines.back()));
  }
  co_return r;
}

// --- The courier --------------------------------------------------------------

struct RemoteCourier::Delivery {
  std::shared_ptr<const QueuedMessage> msg;
  std::shared_ptr<const RelaySettings> s;
  std::vector<size_t> rcpts;    // envelope indexes, as asked
  std::vector<size_t> pending;  // positions in rcpts not settled yet
  std::string key;              // the pool's: the domain, or the smarthost
  const char* via = "mx";       // for logs: "mx" or "smarthost"
  BodyFacts body;
  std::string prefix;  // the DKIM-Signature fields, sent before the file
  CourierResult out;
  RcptResult retry;  // why the pending ones are not done
  bool any_delivered = false;
  bool all_dsn = true;
  bool tls_report = false;  // a TLS report itself (RFC 8460 5.3): TLS never blocks it
  // Each MX host's TLS requirement (relay/dane.h); empty for the smarthost.
  std::map<std::string, TlsRequirement> tls;
  bool tried_any = false;  // a host was connected to (not skipped by MTA-STS)
  StsState sts;            // the domain's MTA-STS policy, if any (MX routing only)
  // REQUIRETLS or TLS-Required: No (relay/requiretls.h).
  MessageTls mode = MessageTls::kDefault;
  std::set<std::string> rtls_refused;  // hosts ruled out for good for a REQUIRETLS message
  RequireTlsTally rtls;

  const std::string& id() const { return msg->envelope.id; }
  std::string rcpt(size_t pos) const { return msg->envelope.rcpts[rcpts[pos]].to.str(); }
};

RemoteCourier::RemoteCourier(asio::any_io_executor loop, asio::any_io_executor blocking,
                             DnsLookup* dns, std::shared_ptr<const RelaySettings> settings,
                             RandomBelow random, std::function<int64_t()> clock)
    : loop_(loop),
      blocking_(std::move(blocking)),
      dns_(dns),
      settings_(std::move(settings)),
      random_(std::move(random)),
      clock_(clock ? std::move(clock) : std::function<int64_t()>(unix_seconds)),
      pool_(loop, kIdleTime, kMaxIdlePerDestination) {}

RemoteCourier::~RemoteCourier() = default;

void RemoteCourier::reconfigure(std::shared_ptr<const RelaySettings> settings) {
  settings_ = std::move(settings);
  pool_.clear();
}

void RemoteCourier::drain(std::function<void()> done) { pool_.drain(std::move(done)); }

asio::awaitable<CourierResult> RemoteCourier::deliver(std::shared_ptr<const QueuedMessage> msg,
                                                      Destination dest, std::vector<size_t> rcpts) {
  Delivery d;
  d.msg = std::move(msg);
  d.s = settings_;
  d.rcpts = std::move(rcpts);
  d.out.rcpts.resize(d.rcpts.size());
  for (size_t i = 0; i < d.rcpts.size(); ++i) d.pending.push_back(i);
  d.retry.kind = RcptResult::Kind::kTransient;
  d.retry.reply = Reply(451, "4.4.0", "no host could be tried");
  const bool smarthost = !d.s->smarthost.empty();
  d.key = smarthost ? "smarthost:" + d.s->smarthost : dest.key();
  d.via = smarthost ? "smarthost" : "mx";
  d.tls_report = d.msg->envelope.listener == kTlsReportListener;

  std::string path = d.msg->body_path;
  const uint64_t offset = d.msg->body_offset;
  SignInput sign;
  sign.keys = d.s->dkim_keys;
  sign.sender_ours = dkim::sender_is_ours(d.msg->envelope);
  sign.now = clock_();
  if (d.s->arc_sealing && should_seal(d.msg->envelope, *d.s->arc_sealing))
    sign.arc = d.s->arc_sealing;
  auto [scanned, scan] =
      co_await asio::co_spawn(blocking_, scan_on_pool(path, offset, sign), asio::use_awaitable);
  if (!scanned.ok()) {
    log_error("relay: {} cannot read the queued message: {}", d.id(), scanned.message());
    for (RcptResult& r : d.out.rcpts) {
      r.kind = RcptResult::Kind::kTransient;
      r.reply = Reply(451, "4.3.0", "cannot read the queued message: " + scanned.message());
    }
    co_return d.out;
  }
  d.body = scan.facts;
  d.prefix = std::move(scan.prefix);
  if (!scan.arc.empty()) log_info("relay: {} arc: {}", d.id(), scan.arc);
  if (!d.msg->envelope.mail.requiretls) {
    auto [read, no] =
        co_await asio::co_spawn(blocking_, tls_required_on_pool(path, offset), asio::use_awaitable);
    d.mode = message_tls(false, read.ok() && no);
  } else {
    d.mode = MessageTls::kRequireTls;
  }
  if (scan.is_signed) {
    log_info("relay: {} dkim=signed {}", d.id(), scan.dkim);
  } else if (!scan.dkim.empty()) {
    log_info("relay: {} dkim=none ({})", d.id(), scan.dkim);
  }

  if (!smarthost && sts_ && !dest.domain.starts_with("[") && !d.tls_report) {
    std::string domain = dest.domain;
    d.sts = co_await sts_->lookup(domain);
    if (auto r = sts_fetch_result(d.sts, dest.domain, clock_());
        r && tls_rpt_ && d.s->record_tls_rpt) {
      if (Status st = tls_rpt_->record(*r); !st.ok())
        log_warn("relay: {} tls-rpt: {}", d.id(), st.message());
    }
  }
  if (std::optional<PooledConnection> pc = pool_.take(d.key)) {
    // A connection opened under an older (or no) policy must satisfy the one now.
    const StsHopRule rule = sts_hop_rule(d.sts, pc->hop.host);
    const ClientTlsState& t = pc->conn->tls_state();
    const bool rtls_ok = d.mode != MessageTls::kRequireTls ||
                         requiretls_connection_ok(t, pc->conn->session().capabilities().requiretls,
                                                  sts_hop_rule(d.sts, pc->hop.host), smarthost);
    if (rule.usable && (!rule.require_tls || (t.active && t.check.verified)) && rtls_ok) {
      co_await use_pooled(d, std::move(*pc));
    } else {
      pool_.close(std::move(pc->conn));
    }
  }
  if (!d.pending.empty()) {
    Route r = co_await route(dest, *d.s);
    if (r.status != RouteStatus::kOk) {
      const RcptResult failed = route_result(r);
      for (size_t p : d.pending) {
        d.out.rcpts[p] = failed;
        log_info("relay: {} to=<{}>{} status={} ({})", d.id(), d.rcpt(p), message_tls_field(d.mode),
                 status_word(failed.kind), reply_line(failed.reply));
      }
      d.pending.clear();
    } else {
      const uint16_t port = smarthost ? d.s->smarthost_port : d.s->port;
      if (!smarthost) {
        d.tls = co_await route_requirements(
            *dns_, r, destination_tls(d.s->tls_policies, r.domain, d.s->default_tls_level), port,
            d.s->tls_policies);
        apply_sts(d, dest.domain);
        if (d.tls_report) relax_for_tls_report(d.tls);
        if (d.mode == MessageTls::kTlsOptional) {
          relax_for_tls_optional(d.tls);  // RFC 8689 4.2.2: DANE and MTA-STS ignored
          d.sts = StsState{};
        }
        if (d.mode == MessageTls::kRequireTls) apply_requiretls(d, r);
      }
      for (const Hop& hop : route_hops(r, port)) {
        if (d.pending.empty()) break;
        if (skip_for_tls(d, hop)) continue;
        co_await try_hop(d, hop, false);
      }
    }
  }
  if (!d.pending.empty() && d.mode == MessageTls::kRequireTls && d.rtls.bounce()) {
    // RFC 8689 4.2.1: no host can take it, none may later: a DSN (5.7.30).
    d.retry.kind = RcptResult::Kind::kPermanent;
    d.retry.reply = d.rtls.reply();
    d.retry.remote_mta.clear();
  }
  for (size_t p : d.pending) {
    d.out.rcpts[p] = d.retry;
    log_info("relay: {} to=<{}>{} status={} ({})", d.id(), d.rcpt(p), message_tls_field(d.mode),
             status_word(d.retry.kind), reply_line(d.retry.reply));
  }
  d.out.next_hop_dsn = d.any_delivered && d.all_dsn;
  co_return std::move(d.out);
}

// RFC 8461 2: where a [[tls_policy]] entry or DANE decided a host's TLS,
// the MTA-STS policy has no say over it (neither its mx patterns nor its
// TLS); elsewhere it applies as sts_hop_rule() says.
StsHopRule RemoteCourier::sts_rule(const Delivery& d, const std::string& host) {
  auto it = d.tls.find(host);
  if (it != d.tls.end() && it->second.source != TlsSource::kDefault &&
      it->second.source != TlsSource::kSts)
    return StsHopRule{};
  return sts_hop_rule(d.sts, host);
}

// An enforced MTA-STS policy makes each host it names kVerify for that
// name (RFC 8461 4.2), where nothing stronger decided (sts_may_decide).
void RemoteCourier::apply_sts(Delivery& d, const std::string& domain) {
  for (auto& [host, req] : d.tls) {
    if (!sts_may_decide(req)) continue;
    const StsHopRule rule = sts_hop_rule(d.sts, host);
    if (!rule.require_tls) continue;
    req.level = TlsLevel::kVerify;
    req.names = {host};
    req.source = TlsSource::kSts;
    req.origin = "sts " + domain;
  }
}

// RFC 8689 4.2.1 for a REQUIRETLS message: each host made to authenticate
// the server, or ruled out (relay/requiretls.h).
void RemoteCourier::apply_requiretls(Delivery& d, const Route& r) {
  const bool authentic = (r.mx_secure || r.implicit_mx) && !r.domain.starts_with("[");
  for (auto& [host, req] : d.tls) {
    const RequireTlsHop h = requiretls_hop(req, sts_hop_rule(d.sts, host), authentic, host);
    req = h.req;
    if (h.usable) continue;
    if (h.permanent) {
      d.rtls_refused.insert(host);
      req.failure = "REQUIRETLS: " + h.why;
    }
  }
}

bool RemoteCourier::skip_for_tls(Delivery& d, const Hop& hop) {
  auto it = d.tls.find(hop.host);
  if (it == d.tls.end() || it->second.failure.empty()) return false;
  if (d.rtls_refused.contains(hop.host)) {
    // Not a TLS failure of the host (nothing for TLS-RPT): the sender's demand.
    d.rtls.permanent(requiretls_reply(it->second.failure, hop.host));
    log_info("relay: {} {}={} {} requiretls=yes status=next-host ({})", d.id(), d.via,
             hop_text(hop), requirement_text(it->second), it->second.failure);
    return true;
  }
  d.rtls.transient();
  record_tls(d, TlsAttempt{.mx_host = hop.host,
                           .receiving_ip = hop.endpoint.address().to_string(),
                           .requirement = &it->second});
  d.retry.kind = RcptResult::Kind::kTransient;
  d.retry.reply = requirement_failure_reply(hop.host, it->second);
  d.retry.remote_mta = hop.host;
  log_info("relay: {} {}={} {} status=next-host ({})", d.id(), d.via, hop_text(hop),
           requirement_text(it->second), it->second.failure);
  return true;
}

void RemoteCourier::record_tls(const Delivery& d, TlsAttempt a) {
  if (!tls_rpt_ || !d.s->record_tls_rpt || d.tls_report || !d.s->smarthost.empty()) return;
  a.time = clock_();
  a.policy_domain = d.key;
  a.sts_state = &d.sts;
  const std::optional<tlsrpt::SessionResult> r = tls_session_result(a);
  if (!r) return;
  if (Status st = tls_rpt_->record(*r); !st.ok())
    log_warn("relay: {} tls-rpt: {}", d.id(), st.message());
}

asio::awaitable<Route> RemoteCourier::route(const Destination& dest, const RelaySettings& s) {
  if (!s.smarthost.empty()) {
    std::string host = s.smarthost;
    co_return co_await resolve_smarthost(*dns_, host);
  }
  std::string domain = dest.domain;
  RandomBelow random = random_;
  RouteOptions options;
  Route r = co_await resolve_route(*dns_, domain, random, options);
  std::string looped;
  r = drop_self(std::move(r), s.self, &looped);
  if (!looped.empty()) {
    log_warn("relay: MX host {} of {} is this server: it and every MX not better are skipped{}",
             looped, dest.domain, r.status == RouteStatus::kOk ? "" : "; nothing is left");
  }
  co_return r;
}

asio::awaitable<void> RemoteCourier::use_pooled(Delivery& d, PooledConnection pc) {
  // A connection that went stale meanwhile fails transiently: the route is
  // then tried as if there had been none.
  co_await send_on(d, std::move(pc));
}

asio::awaitable<void> RemoteCourier::try_hop(Delivery& d, Hop hop, bool plaintext) {
  const RelaySettings& s = *d.s;
  const bool smarthost = !s.smarthost.empty();
  const StsHopRule sts = sts_rule(d, hop.host);
  if (!sts.usable) {  // RFC 8461 4.1: not a host the policy names
    if (!d.tried_any)
      d.retry.reply =
          Reply(451, "4.7.0", fmt::format("MTA-STS: no MX host of {} matches its policy", d.key));
    log_info("relay: {} {}={} {} status=next-host (not in the MTA-STS policy)", d.id(), d.via,
             hop_text(hop), sts_log_field(sts, std::nullopt));
    d.rtls.transient();
    record_tls(d, TlsAttempt{.mx_host = hop.host,
                             .receiving_ip = hop.endpoint.address().to_string(),
                             .sts = sts});
    co_return;
  }
  d.tried_any = true;
  ClientSessionOptions o;
  o.helo_name = s.helo_name;
  o.timeouts = s.timeouts;
  o.pipelining = true;
  o.eight_bit = EightBitPolicy::kRefuse;
  ClientTlsSetup tls;
  tls.peer_name = hop.tls_name;
  bool mandatory = true;  // a failed handshake must not be retried in plaintext
  if (smarthost) {
    o.tls = s.smarthost_implicit_tls ? TlsPolicy::kImplicit : TlsPolicy::kRequired;
    o.tls_fallback_plain = false;
    o.auth = s.auth;
    tls.context = s.smarthost_tls;
    tls.require_verified = true;
  } else {
    // An MTA-STS policy in enforce mode made its hosts kVerify (apply_sts).
    auto it = d.tls.find(hop.host);
    const TlsRequirement req = it == d.tls.end() ? TlsRequirement{} : it->second;
    configure_hop_tls(req, hop.tls_name, s.mx_tls, &o, &tls);
    if (plaintext) o.tls = TlsPolicy::kNone;  // only ever asked for under kMay (below)
    mandatory = tls_mandatory(req);
  }
  auto conn = std::make_shared<ClientConnection>(loop_, o, tls);
  std::vector<asio::ip::tcp::endpoint> endpoints{hop.endpoint};
  std::chrono::steady_clock::duration timeout = s.connect_timeout;
  std::error_code ec = co_await conn->connect(endpoints, timeout);
  if (ec) {
    Failure f;
    if (conn->session().connection_failure()) {
      f = *conn->session().connection_failure();
    } else {
      f.detail = ec.message();
    }
    d.retry.kind = RcptResult::Kind::kTransient;
    d.retry.reply = deferral_reply(f);
    d.retry.remote_mta = hop.host;
    log_info("relay: {} {}={} status=next-host ({})", d.id(), d.via, hop_text(hop), f.describe());
    d.rtls.transient();
    co_return;
  }
  PooledConnection pc{conn, hop, 0};
  const bool tls_broken = co_await send_on(d, std::move(pc));
  if (!smarthost && !plaintext) {  // one TLS session per new connection (RFC 8460 4.3)
    auto it = d.tls.find(hop.host);
    record_tls(d, TlsAttempt{.mx_host = hop.host,
                             .sending_ip = conn->local_ip(),
                             .receiving_ip = hop.endpoint.address().to_string(),
                             .receiving_helo = conn->session().server_name(),
                             .requirement = it == d.tls.end() ? nullptr : &it->second,
                             .sts = sts,
                             .tls = conn->tls_state(),
                             .handshake_failed = tls_broken});
  }
  if (tls_broken && !plaintext && !mandatory && !d.pending.empty()) {
    log_info("relay: {} {}={} TLS handshake failed; trying once more in plaintext", d.id(), d.via,
             hop_text(hop));
    co_await try_hop(d, hop, true);
  }
}

// Asked by the session once the connection is set up (client_session.h
// OutboundMessage::trace); `d` and `pc` outlive it (send_on's run()).
std::function<std::string()> RemoteCourier::trace_for(const Delivery& d, PooledConnection& pc,
                                                      const OutboundMessage& m) {
  bool utf8 = m.mail.smtputf8 || m.mail.from.needs_utf8();
  for (const RcptArgs& r : m.rcpts) utf8 = utf8 || r.to.needs_utf8();
  return [this, &d, &pc, utf8]() {
    const ClientConnection& c = *pc.conn;
    OutboundHop hop;
    hop.host = pc.hop.host;
    hop.ip = pc.hop.endpoint.address().to_string();
    hop.smarthost = !d.s->smarthost.empty();
    hop.tls = c.tls_state();
    hop.starttls_offered = c.session().capabilities().starttls;
    hop.authenticated = c.session().authenticated();
    hop.esmtp = c.session().capabilities().esmtp;
    if (pc.trace.empty()) {
      hop.names = {pc.hop.tls_name};
      if (auto it = d.tls.find(pc.hop.host); !hop.smarthost && it != d.tls.end()) {
        hop.requirement = it->second;
        if (it->second.level == TlsLevel::kVerify && !it->second.names.empty())
          hop.names = it->second.names;
      }
      if (!hop.smarthost) {
        hop.sts = sts_rule(d, pc.hop.host);
        hop.sts_id = d.sts.id;
      }
      pc.trace = outbound_trace_comment(hop);
    }
    return build_outbound_received(OutboundReceived{.by = d.s->helo_name,
                                                    .comment = pc.trace,
                                                    .with = outbound_with(hop, utf8),
                                                    .id = d.id(),
                                                    .time = clock_()});
  };
}

asio::awaitable<bool> RemoteCourier::send_on(Delivery& d, PooledConnection pc) {
  std::vector<size_t> indexes;
  for (size_t p : d.pending) indexes.push_back(d.rcpts[p]);
  OutboundMessage m = outbound_message(d.msg->envelope, indexes, d.body);
  if (d.s->trace_tls) m.trace = trace_for(d, pc, m);
  auto body = std::make_unique<FileBody>(blocking_, d.msg->body_path, d.msg->body_offset, d.prefix);
  std::optional<MessageResult> got;
  ClientConnection::OnDone done = [&got](const MessageResult& r) { got = r; };
  pc.conn->add(std::move(m), std::move(body));
  const bool open = co_await pc.conn->run(done);
  ++pc.messages;
  if (!got) {  // run() reports every message added; this is a bug, not the server's doing
    MessageResult none;
    Failure f;
    f.phase = Phase::kMail;
    f.cause = Failure::Cause::kProtocol;
    f.detail = "no result for the message";
    none.failure = f;
    for (size_t idx : indexes)
      none.rcpts.push_back(RecipientResult{d.msg->envelope.rcpts[idx], std::nullopt, f});
    got = std::move(none);
  }
  HopOutcome h = settle(*got, pc.hop.host);
  if (!pc.policy) pc.policy = policy_text(d.tls, pc.hop.host, pc.conn->tls_state());
  std::string tls = tls_text(pc.conn->tls_state()) + *pc.policy;
  const std::string sts = sts_log_field(sts_rule(d, pc.hop.host), pc.conn->tls_state());
  if (!sts.empty()) tls += " " + sts;
  tls += message_tls_field(d.mode);
  if (d.mode == MessageTls::kRequireTls && is_requiretls_refusal(*got)) {
    // RFC 8689 4.2.1: not this host (no REQUIRETLS); the next one may do.
    const Reply& why = *got->failure->reply;
    const Reply refusal =
        requiretls_reply(why.lines.empty() ? "refused" : why.lines.back(), pc.hop.host);
    d.rtls.permanent(refusal);
    for (auto& r : h.rcpts) r.reset();
    // Kept as transient until every host is known to refuse (then 5.7.30).
    h.retry.reply = Reply(451, "4.7.30", refusal.lines.back());
  } else if (h.tls_handshake_failed ||
             std::any_of(h.rcpts.begin(), h.rcpts.end(), [](const auto& r) { return !r; })) {
    d.rtls.transient();
  }
  if (pc.messages == 1)
    count_tls(pc.conn->tls_state(), h.tls_handshake_failed);  // a new connection
  const std::string where = hop_text(pc.hop);
  std::vector<size_t> still;
  for (size_t k = 0; k < d.pending.size() && k < h.rcpts.size(); ++k) {
    const size_t p = d.pending[k];
    if (!h.rcpts[k]) {
      still.push_back(p);
      continue;
    }
    d.out.rcpts[p] = *h.rcpts[k];
    log_info("relay: {} to=<{}> {}={} tls={} status={} ({})", d.id(), d.rcpt(p), d.via, where, tls,
             status_word(h.rcpts[k]->kind), reply_line(h.rcpts[k]->reply));
  }
  if (!still.empty()) {
    d.retry = h.retry;
    log_info("relay: {} {}={} tls={} status=next-host ({})", d.id(), d.via, where, tls,
             reply_line(h.retry.reply));
  }
  d.pending = std::move(still);
  if (h.delivered) {
    d.any_delivered = true;
    d.all_dsn = d.all_dsn && h.dsn_passed;
  }
  // A connection opened with recipient policy ignored (TLS-Required: No)
  // must not carry other mail: the pool does not check DANE again.
  const bool relaxed = d.mode == MessageTls::kTlsOptional && pc.messages == 1;
  if (open && pc.messages < d.s->max_messages_per_connection && settings_ == d.s && !relaxed) {
    pool_.put(d.key, std::move(pc));
  } else if (open) {
    pool_.close(std::move(pc.conn));
  }
  co_return h.tls_handshake_failed;
}

}  // namespace tern
