// One pass of the Scheduler over one message (see scheduler.h for the
// steps and the crash rule they keep).
#include "relay/scheduler_pass.h"

#include <algorithm>
#include <asio/detached.hpp>
#include <utility>

#include "base/log.h"
#include "metrics/server_metrics.h"
#include "net/awaitable.h"
#include "relay/dsn.h"
#include "relay/inject.h"

namespace tern {
namespace {

const char* result_name(const StateRecord& r) {
  switch (r.type) {
    case StateRecord::Type::kTry:
      return "deferred";
    case StateRecord::Type::kFail:
      return "failed";
    case StateRecord::Type::kOk:
      return outcome_name(r.outcome);
    default:
      return "?";
  }
}

const char* delivery_result_name(RcptResult::Kind k) {
  switch (k) {
    case RcptResult::Kind::kDelivered:
      return "delivered";
    case RcptResult::Kind::kExpanded:
      return "expanded";
    case RcptResult::Kind::kTransient:
      return "deferred";
    case RcptResult::Kind::kPermanent:
      return "bounced";
  }
  return "?";
}

std::string actions_of(const std::vector<DsnRecipient>& entries) {
  std::string out;
  for (const DsnRecipient& e : entries) {
    if (out.find(dsn_action_name(e.action)) != std::string::npos) continue;
    if (!out.empty()) out += ',';
    out += dsn_action_name(e.action);
  }
  return out;
}

}  // namespace

asio::awaitable<void> Scheduler::run_pass(std::string id) {
  // Shared with the group tasks, which may (after an exception here)
  // outlive this frame.
  auto shared = std::make_shared<Pass>();
  Pass& pass = *shared;
  pass.id = id;
  pass.now = env_.clock();
  {
    Entry& e = entries_.at(id);
    pass.op = e.admin;
    pass.force = std::exchange(e.force, FlushScope{});
    pass.waiters = std::move(e.waiters);
    e.waiters.clear();
    e.admin = AdminOp::kNone;
  }
  try {
    co_await pass_body(shared);
  } catch (const std::exception& ex) {
    log_error("queue id={} pass failed: {}", id, ex.what());
    pass.store_error = true;
    pass.admin_result = Status::Transient(std::string("internal error: ") + ex.what());
  }
  finish_pass(id, pass);
}

asio::awaitable<void> Scheduler::pass_body(std::shared_ptr<Pass> shared) {
  Pass& pass = *shared;
  QueueStore* store = env_.store;
  const std::string id = pass.id;
  if (pass.op == AdminOp::kDelete) {
    auto purge = [store, id] { return store->purge(id); };
    pass.admin_result = co_await blocking<Status>(purge);
    pass.removed = pass.admin_result.ok();
    if (pass.removed) log_info("queue id={} deleted by the administrator", id);
    co_return;
  }
  auto load = [store, id] {
    QueuedMessage msg;
    Status st = store->load(id, &msg);
    return std::make_pair(st, std::move(msg));
  };
  auto [s, m] = co_await blocking<std::pair<Status, QueuedMessage>>(load);
  if (!s.ok()) {
    log_error("queue id={} cannot be loaded: {}", id, s.message());
    entries_.at(id).info.last_error = "cannot load: " + s.message();
    pass.admin_result = s;
    pass.store_error = true;
    co_return;
  }
  pass.m = std::move(m);
  pass.loaded = true;
  if (std::vector<StateRecord> late = std::move(entries_.at(id).unrecorded); !late.empty()) {
    entries_.at(id).unrecorded.clear();
    // Results of an earlier pass the store could not take; until they are
    // written, delivering would repeat what they record.
    const size_t count = late.size();
    if (!(co_await append(pass, std::move(late))).ok()) co_return;
    log_info("queue id={} state written late: {} records", id, count);
  }
  pass.snapshot = std::make_shared<const QueuedMessage>(pass.m);

  if (pass.op == AdminOp::kBounce) {
    std::vector<StateRecord> records = bounce_records(pass.m, pass.now);
    pass.admin_result = co_await append(pass, records);
    if (pass.admin_result.ok())
      log_info("queue id={} bounced by the administrator rcpts={}", id, records.size());
  } else {
    co_await deliver_groups(shared);
  }
  if (!co_await send_notice(pass)) pass.store_error = true;
  if (pass.m.all_done()) {
    // remove() checks the state log, which an unlogged pass did not write.
    const bool unlogged = !pass.unlogged.empty();
    auto remove = [store, id, unlogged] { return unlogged ? store->purge(id) : store->remove(id); };
    Status r = co_await blocking<Status>(remove);
    if (r.ok()) {
      pass.removed = true;
      log_info("queue id={} removed: every recipient done", id);
    } else {
      log_error("queue id={} not removed: {}", id, r.message());
      pass.store_error = true;
      // Written after all, so that the next pass does not deliver again.
      if (unlogged) co_await append(pass, std::move(pass.unlogged));
    }
  }
}

asio::awaitable<void> Scheduler::deliver_groups(std::shared_ptr<Pass> shared) {
  Pass& pass = *shared;
  std::vector<DeliveryGroup> groups =
      due_groups(pass.m, pass.now, pass.force, env_.is_local_domain);
  release_reserved(entries_.at(pass.id));  // the limiter counts them from here
  pass.wake = std::make_unique<asio::steady_timer>(loop_);
  for (DeliveryGroup& g : groups) {
    std::string key = limit_key(g.dest);
    if (!limiter_.try_acquire(key)) {
      pass.deferred.push_back(std::move(key));
      continue;
    }
    ++pass.groups_left;
    ++pass.unreported;
    asio::co_spawn(loop_, group_task(shared, std::move(g)), [shared](std::exception_ptr) {
      --shared->groups_left;
      shared->wake->cancel();
    });
  }
  co_await write_results(pass);
}

asio::awaitable<void> Scheduler::group_task(std::shared_ptr<Pass> pass, DeliveryGroup group) {
  Courier* courier = group.dest.kind == Destination::Kind::kLocal ? env_.local : env_.remote;
  CourierResult result;
  std::string error;
  try {
    result = co_await courier->deliver(pass->snapshot, group.dest, group.rcpts);
  } catch (const std::exception& ex) {
    error = ex.what();
  }
  limiter_.release(limit_key(group.dest));
  if (error.empty() && result.rcpts.size() != group.rcpts.size())
    error = "courier returned " + std::to_string(result.rcpts.size()) + " results for " +
            std::to_string(group.rcpts.size()) + " recipients";
  if (!error.empty()) {
    log_error("queue id={} dest={} courier error: {}", pass->id, group.dest.key(), error);
    RcptResult r;
    r.kind = RcptResult::Kind::kTransient;
    r.reply = Reply(451, "4.3.0", "internal error: " + error);
    result.rcpts.assign(group.rcpts.size(), r);
  }
  const int64_t now = env_.clock();
  const char* dest_class = group.dest.kind == Destination::Kind::kLocal ? "local"
                           : options_.remote_limit_key.empty()          ? "remote"
                                                                        : "smarthost";
  for (size_t k = 0; k < group.rcpts.size(); ++k) {
    RcptResult& r = result.rcpts[k];
    metrics::delivery_result(delivery_result_name(r.kind), dest_class,
                             static_cast<double>(now - pass->snapshot->envelope.received_at));
    Pass::Item item;
    item.record = result_record(*pass->snapshot, group.rcpts[k], r, group.dest, result.next_hop_dsn,
                                options_.policy, now, env_.random());
    if (r.kind == RcptResult::Kind::kExpanded) item.forward_to = std::move(r.forward_to);
    pass->ready.push_back(std::move(item));
  }
  --pass->unreported;
}

// The single writer of the pass: results are appended in the order groups
// end, one batch at a time, so appends to one message never overlap.
asio::awaitable<void> Scheduler::write_results(Pass& pass) {
  QueueStore* store = env_.store;
  while (pass.groups_left > 0 || !pass.ready.empty()) {
    if (pass.ready.empty()) {
      // Nothing can end between the test and the wait: one thread.
      pass.wake->expires_at(asio::steady_timer::time_point::max());
      co_await pass.wake->async_wait(use_tuple);
      continue;
    }
    std::vector<Pass::Item> items = std::move(pass.ready);
    pass.ready.clear();
    std::vector<StateRecord> records;
    for (Pass::Item& item : items) {
      if (!item.forward_to.empty()) {
        // Queue the alias's remote targets first, then record "expanded".
        std::string fid = env_.new_id();
        Envelope fe =
            forward_envelope(pass.m, item.record.rcpt, item.forward_to, fid, item.record.at);
        if (env_.forward_sender) fe.mail.from = env_.forward_sender(fe.mail.from, item.record.at);
        auto copy = [store, fe, snap = pass.snapshot] { return inject_copy(*store, fe, *snap); };
        Status s = co_await blocking<Status>(copy);
        if (s.ok()) {
          log_info("queue id={} rcpt=<{}> forwarded as id={} from=<{}> to={}", pass.id,
                   pass.m.envelope.rcpts[item.record.rcpt].to.str(), fid, fe.mail.from.str(),
                   fmt::join(item.forward_to, ","));
          add(fid, 0);
        } else {
          log_error("queue id={} forward failed: {}", pass.id, s.message());
          item.record.type = StateRecord::Type::kTry;
          item.record.reply = Reply(451, "4.3.0", "cannot queue the forwarded copy");
          item.record.next = item.record.at + options_.store_retry.count();
        }
      }
      records.push_back(item.record);
    }
    Status s = Status::Ok();
    if (pass.unreported == 0 && pass.ready.empty() && !pass.store_error &&
        finishes_quietly(pass.m, records, options_.policy)) {
      // The last results finish the message with nothing to report: no
      // state log is written; removing the message records it all at once
      // (plan.h: finishes_quietly). Saves a file, three syncs and a reload.
      for (const StateRecord& r : records) apply_state_record(r, &pass.m.state);
      std::vector<StateRecord> done = plan_notice(pass.m, options_.policy).records;
      for (const StateRecord& r : done) apply_state_record(r, &pass.m.state);
      pass.unlogged = records;
      pass.unlogged.insert(pass.unlogged.end(), done.begin(), done.end());
    } else {
      s = co_await append(pass, records);
    }
    for (const StateRecord& r : records) {
      const RcptArgs& rcpt = pass.m.envelope.rcpts[r.rcpt];
      std::string extra;
      if (r.type == StateRecord::Type::kTry)
        extra = " next=" + format_duration(r.next - r.at) +
                " attempts=" + std::to_string(pass.m.state[r.rcpt].attempts);
      if (!r.remote_mta.empty()) extra += " mta=" + r.remote_mta;
      if (pass.m.envelope.mail.requiretls) extra += " requiretls=yes";  // RFC 8689
      log_info("delivery id={} rcpt=<{}> result={} reply=\"{}\"{}{}", pass.id, rcpt.to.str(),
               result_name(r), reply_line(r.reply), extra, s.ok() ? "" : " (not recorded)");
    }
  }
}

asio::awaitable<Status> Scheduler::append(Pass& pass, std::vector<StateRecord> records) {
  if (records.empty()) co_return Status::Ok();
  QueueStore* store = env_.store;
  std::string id = pass.id;
  auto write = [store, id, records] { return store->append(id, records); };
  Status s = co_await blocking<Status>(write);
  if (s.ok()) {
    for (const StateRecord& r : records) apply_state_record(r, &pass.m.state);
  } else {
    // Not recorded: kept for the next pass to write first (scheduler.h),
    // so the recipients are not tried again unless we crash meanwhile.
    log_error("queue id={} state not written: {}", id, s.message());
    pass.store_error = true;
    if (auto it = entries_.find(id); it != entries_.end())
      it->second.unrecorded.insert(it->second.unrecorded.end(), records.begin(), records.end());
  }
  co_return s;
}

asio::awaitable<bool> Scheduler::send_notice(Pass& pass) {
  Notice n = plan_notice(pass.m, options_.policy);
  if (n.records.empty()) co_return true;
  const QueuedMessage& m = pass.m;
  if (!n.entries.empty()) {
    struct Returned {
      Status status;
      std::string text;
      DsnReturn kind = DsnReturn::kHeaders;
    };
    // RFC 8689 5: for a REQUIRETLS message, as if RET=HDRS: the header
    // section only, never the body.
    const bool want_full = m.envelope.mail.ret == DsnRet::kFull && !m.envelope.mail.requiretls;
    const bool binary = m.envelope.mail.body == BodyType::kBinaryMime;
    const uint64_t max = options_.max_returned;
    auto snap = pass.snapshot;
    auto read = [snap, want_full, binary, max] {
      Returned r;
      uint64_t size = 0;
      r.status = content_size(*snap, &size);
      if (!r.status.ok()) return r;
      r.kind = choose_return(want_full, binary, size, max);
      r.status = read_content(*snap, r.kind == DsnReturn::kFull ? size : max, &r.text);
      if (r.kind == DsnReturn::kHeaders) {
        std::string_view h = header_section(r.text);
        if (h.size() == r.text.size() && !h.ends_with("\r\n")) {
          size_t cut = h.rfind("\r\n");  // cut off at max: keep whole lines only
          h = cut == std::string_view::npos ? h.substr(0, 0) : h.substr(0, cut + 2);
        }
        r.text = std::string(h);
      }
      return r;
    };
    Returned ret = co_await blocking<Returned>(read);
    if (!ret.status.ok()) {
      log_error("queue id={} cannot read the original for a DSN: {}", pass.id,
                ret.status.message());
      co_return false;
    }
    DsnReport report;
    report.reporting_mta = options_.hostname;
    report.queue_id = pass.id;
    report.envid = m.envelope.mail.envid;
    report.arrival = m.envelope.received_at;
    report.sender = m.envelope.mail.from.str();
    report.rcpts = n.entries;
    report.original = ret.text;
    report.returned = ret.kind;
    report.full_too_large = want_full && ret.kind != DsnReturn::kFull;
    report.date = env_.clock();
    std::string did = env_.new_id();
    report.message_id = did + "@" + options_.hostname;
    std::string text = build_dsn(report);
    Envelope env = dsn_envelope(m, did, report.date, ret.text);
    if (env_.dsn_recipient) env.rcpts[0].to = env_.dsn_recipient(env.rcpts[0].to, report.date);
    QueueStore* store = env_.store;
    auto inject = [store, env, text = std::move(text)] {
      return inject_message(*store, env, text);
    };
    Status s = co_await blocking<Status>(inject);
    if (!s.ok()) {
      log_error("queue id={} DSN not queued: {}", pass.id, s.message());
      co_return false;
    }
    log_info("dsn id={} about={} to=<{}> action={} rcpts={}", did, pass.id, env.rcpts[0].to.str(),
             actions_of(n.entries), n.entries.size());
    add(did, 0);
  } else if (m.envelope.mail.from.is_null()) {
    for (const StateRecord& r : n.records) {
      if (m.state[r.rcpt].outcome == RcptOutcome::kFailed)
        log_info("queue id={} rcpt=<{}> failed; no DSN to the null sender", pass.id,
                 m.envelope.rcpts[r.rcpt].to.str());
    }
  }
  Status s = co_await append(pass, n.records);
  co_return s.ok();
}

void Scheduler::finish_pass(const std::string& id, Pass& pass) {
  Entry& e = entries_.at(id);
  release_reserved(e);  // a pass that ended before delivering
  for (auto& w : pass.waiters) w->wake(pass.removed ? Status::Ok() : pass.admin_result);
  const int64_t now = env_.clock();
  if (pass.removed) {
    for (auto& w : e.waiters) w->wake(Status::Ok());  // asked during the pass: done too
    entries_.erase(id);
  } else {
    e.active = false;
    int64_t due = e.due;
    if (pass.loaded) {
      update_info(e, pass.m);
      due = pass.m.all_done() ? now : next_due(pass.m);
    }
    if (pass.store_error) due = std::max(due, now + options_.store_retry.count());
    if (pass.store_error && !pass.loaded) {
      // Unreadable: a corrupt file (Permanent) is looked at again hourly
      // (`tern queue delete` removes it), an I/O error soon.
      bool corrupt = pass.admin_result.kind() == Status::Kind::kPermanent;
      due = now + (corrupt ? std::max<int64_t>(3600, options_.store_retry.count())
                           : options_.store_retry.count());
    }
    e.dests = pass.loaded ? due_dests(pass.m, due, false) : std::vector<std::string>{};
    if (!pass.deferred.empty()) {
      due = std::min(due, now);
      e.dests = pass.deferred;
      e.force.merge(pass.force);
    }
    if (e.again || e.admin != AdminOp::kNone) due = std::min(due, now);
    e.again = false;
    e.due = due;
    insert_due(id, e);
  }
  --active_;
  dispatch();
  if (active_ == 0) {
    for (auto& w : idle_waiters_) w->wake(Status::Ok());
    idle_waiters_.clear();
    if (drained_) asio::post(loop_, std::exchange(drained_, nullptr));
  }
}

}  // namespace tern
