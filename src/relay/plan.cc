#include "relay/plan.h"

#include <algorithm>

#include "core/ascii.h"

namespace tern {
namespace {

bool pending(const RecipientState& s) { return !s.done && s.outcome == RcptOutcome::kPending; }

DsnAction action_of(RcptOutcome o) {
  switch (o) {
    case RcptOutcome::kDelivered:
      return DsnAction::kDelivered;
    case RcptOutcome::kRelayed:
      return DsnAction::kRelayed;
    case RcptOutcome::kExpanded:
      return DsnAction::kExpanded;
    case RcptOutcome::kFailed:
    case RcptOutcome::kPending:
      break;
  }
  return DsnAction::kFailed;
}

bool has_8bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) > 127; });
}

// The DSN entry for recipient i, from its state.
DsnRecipient entry(const QueuedMessage& m, size_t i, DsnAction action, const RetryPolicy& p) {
  const RcptArgs& rcpt = m.envelope.rcpts[i];
  const RecipientState& s = m.state[i];
  DsnRecipient e;
  e.original_recipient = rcpt.orcpt;
  e.final_recipient = rcpt.to.str();
  e.action = action;
  e.status = dsn_status(action, s.last_reply);
  e.last_attempt = s.last_attempt;
  std::string reply = reply_line(s.last_reply);
  if (!s.remote_mta.empty()) {
    e.remote_mta = s.remote_mta;
    e.diagnostic = reply;
  } else {
    e.reason = reply;
  }
  if (action == DsnAction::kFailed && s.last_reply.transient()) {
    e.reason = "delivery time expired: gave up after " + format_duration(p.max_age.count()) +
               (reply.empty() ? "" : "; last error: " + reply);
  }
  if (action == DsnAction::kDelayed) e.will_retry_until = give_up_at(p, m.envelope.received_at);
  return e;
}

}  // namespace

Destination destination_of(const Address& to, const IsLocalDomain& is_local) {
  Destination d;
  if (to.domain.empty() || (is_local && is_local(to.domain))) return d;
  d.kind = Destination::Kind::kRemote;
  d.domain = ascii_lower(to.domain);
  return d;
}

bool DomainPattern::matches(std::string_view d) const {
  std::string l = ascii_lower(d);
  if (l == domain) return true;
  return subdomains && l.size() > domain.size() && l.ends_with(domain) &&
         l[l.size() - domain.size() - 1] == '.';
}

bool FlushScope::covers(const Address& to) const {
  if (all) return true;
  if (to.domain.empty()) return false;
  return std::any_of(domains.begin(), domains.end(),
                     [&](const DomainPattern& p) { return p.matches(to.domain); });
}

void FlushScope::merge(const FlushScope& other) {
  all = all || other.all;
  for (const DomainPattern& p : other.domains)
    if (std::find(domains.begin(), domains.end(), p) == domains.end()) domains.push_back(p);
}

std::vector<DeliveryGroup> due_groups(const QueuedMessage& m, int64_t now, const FlushScope& flush,
                                      const IsLocalDomain& is_local) {
  std::vector<DeliveryGroup> groups;
  for (size_t i = 0; i < m.envelope.rcpts.size() && i < m.state.size(); ++i) {
    const RecipientState& s = m.state[i];
    if (!pending(s)) continue;
    if (s.next_attempt > now && !flush.covers(m.envelope.rcpts[i].to)) continue;
    Destination d = destination_of(m.envelope.rcpts[i].to, is_local);
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const DeliveryGroup& g) { return g.dest == d; });
    if (it == groups.end()) {
      groups.push_back(DeliveryGroup{std::move(d), {}});
      it = groups.end() - 1;
    }
    it->rcpts.push_back(i);
  }
  return groups;
}

StateRecord result_record(const QueuedMessage& m, size_t rcpt, const RcptResult& r,
                          const Destination& dest, bool next_hop_dsn, const RetryPolicy& p,
                          int64_t now, double unit) {
  StateRecord rec;
  rec.rcpt = rcpt;
  rec.at = now;
  rec.reply = r.reply;
  rec.remote_mta = r.remote_mta;
  switch (r.kind) {
    case RcptResult::Kind::kDelivered:
      rec.type = StateRecord::Type::kOk;
      rec.outcome =
          dest.kind == Destination::Kind::kLocal ? RcptOutcome::kDelivered : RcptOutcome::kRelayed;
      rec.next_hop_dsn = dest.kind == Destination::Kind::kRemote && next_hop_dsn;
      return rec;
    case RcptResult::Kind::kExpanded:
      rec.type = StateRecord::Type::kOk;
      rec.outcome = RcptOutcome::kExpanded;
      return rec;
    case RcptResult::Kind::kPermanent:
      rec.type = StateRecord::Type::kFail;
      if (rec.reply.code < 500) rec.reply.code = 550;  // a permanent result says 5xx
      return rec;
    case RcptResult::Kind::kTransient:
      break;
  }
  if (rec.reply.code < 400 || rec.reply.code >= 500) rec.reply.code = 451;
  if (expired(p, m.envelope.received_at, now)) {
    rec.type = StateRecord::Type::kFail;  // keeps the 4xx reply: "abandoned", RFC 3463 3.x
    return rec;
  }
  rec.type = StateRecord::Type::kTry;
  uint32_t attempts = rcpt < m.state.size() ? m.state[rcpt].attempts + 1 : 1;
  rec.next = next_retry(p, attempts, m.envelope.received_at, now, unit);
  return rec;
}

std::vector<StateRecord> bounce_records(const QueuedMessage& m, int64_t now) {
  std::vector<StateRecord> out;
  for (size_t i = 0; i < m.state.size(); ++i) {
    if (!pending(m.state[i])) continue;
    StateRecord r;
    r.type = StateRecord::Type::kFail;
    r.rcpt = i;
    r.at = now;
    r.reply = Reply(550, "5.0.0", "bounced by the mail system administrator");
    out.push_back(std::move(r));
  }
  return out;
}

bool wants_report(const QueuedMessage& m, size_t i, DsnAction action) {
  if (m.envelope.mail.from.is_null()) return false;
  unsigned notify = m.envelope.rcpts[i].notify;
  if (notify & kNotifyNever) return false;
  switch (action) {
    case DsnAction::kFailed:
      return notify == kNotifyNone || (notify & kNotifyFailure);
    case DsnAction::kDelayed:
      return notify == kNotifyNone || (notify & kNotifyDelay);
    case DsnAction::kDelivered:
    case DsnAction::kExpanded:
      return notify & kNotifySuccess;
    case DsnAction::kRelayed:
      return (notify & kNotifySuccess) && !m.state[i].next_hop_dsn;
  }
  return false;
}

Notice plan_notice(const QueuedMessage& m, const RetryPolicy& p) {
  Notice n;
  for (size_t i = 0; i < m.state.size() && i < m.envelope.rcpts.size(); ++i) {
    const RecipientState& s = m.state[i];
    if (s.done) continue;
    if (s.outcome != RcptOutcome::kPending) {
      DsnAction a = action_of(s.outcome);
      if (wants_report(m, i, a)) n.entries.push_back(entry(m, i, a, p));
      n.records.push_back(StateRecord::Done(i));
      continue;
    }
    if (s.delay_warned || s.attempts == 0 ||
        !delay_warning_due(p, m.envelope.received_at, s.last_attempt) ||
        !wants_report(m, i, DsnAction::kDelayed)) {
      continue;
    }
    n.entries.push_back(entry(m, i, DsnAction::kDelayed, p));
    StateRecord w;
    w.type = StateRecord::Type::kWarn;
    w.rcpt = i;
    w.at = s.last_attempt;
    n.records.push_back(std::move(w));
  }
  return n;
}

bool finishes_quietly(const QueuedMessage& m, const std::vector<StateRecord>& results,
                      const RetryPolicy& p) {
  QueuedMessage after;
  after.envelope = m.envelope;
  after.state = m.state;
  for (const StateRecord& r : results) apply_state_record(r, &after.state);
  for (const RecipientState& s : after.state)
    if (!s.done && s.outcome == RcptOutcome::kPending) return false;
  return plan_notice(after, p).entries.empty();
}

int64_t next_due(const QueuedMessage& m) {
  int64_t due = kNever;
  for (const RecipientState& s : m.state) {
    if (s.done) continue;
    if (s.outcome != RcptOutcome::kPending) return 0;
    due = std::min(due, s.next_attempt);
  }
  return due;
}

std::string reply_line(const Reply& r) {
  if (r.code == 0) return "";
  std::string out = std::to_string(r.code);
  if (!r.enhanced.empty()) out += " " + r.enhanced;
  for (const std::string& l : r.lines)
    if (!l.empty()) out += " " + l;
  return out;
}

Envelope dsn_envelope(const QueuedMessage& m, const std::string& id, int64_t now,
                      std::string_view returned) {
  Envelope e;
  e.id = id;
  e.received_at = now;
  e.listener = "dsn";
  e.mail.from = Address{};
  e.mail.body = has_8bit(returned) ? BodyType::k8BitMime : BodyType::k7Bit;
  e.mail.smtputf8 = m.envelope.mail.from.needs_utf8();
  // RFC 8689 5: the report on a REQUIRETLS message (it holds the
  // original's header section) goes with REQUIRETLS too.
  e.mail.requiretls = m.envelope.mail.requiretls;
  RcptArgs to;
  to.to = m.envelope.mail.from;
  e.rcpts.push_back(std::move(to));
  return e;
}

Envelope forward_envelope(const QueuedMessage& m, size_t rcpt,
                          const std::vector<std::string>& targets, const std::string& id,
                          int64_t now) {
  Envelope e;
  e.id = id;
  e.received_at = now;
  e.listener = "forward";
  // A copy of our own user's mail stays theirs: DKIM-signed on the way out
  // (dkim/key_store.h sender_is_ours); a stranger's copy is not.
  e.auth_user = m.envelope.auth_user;
  e.mail = m.envelope.mail;
  e.mail.size.reset();
  const RcptArgs& orig = m.envelope.rcpts[rcpt];
  for (const std::string& t : targets) {
    size_t at = t.rfind('@');
    RcptArgs r;
    r.to = at == std::string::npos ? Address{t, ""} : Address{t.substr(0, at), t.substr(at + 1)};
    r.notify = orig.notify;
    r.orcpt = orig.orcpt;
    if (r.orcpt.empty() && !orig.to.needs_utf8()) r.orcpt = "rfc822;" + orig.to.str();
    if (r.to.needs_utf8()) e.mail.smtputf8 = true;
    e.rcpts.push_back(std::move(r));
  }
  return e;
}

}  // namespace tern
