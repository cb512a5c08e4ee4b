#include "relay/scheduler.h"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include "base/log.h"
#include "core/ascii.h"
#include "net/awaitable.h"
#include "relay/inject.h"
#include "relay/scheduler_pass.h"

namespace tern {

Scheduler::Scheduler(asio::any_io_executor loop, SchedulerEnv env, SchedulerOptions options)
    : loop_(loop),
      env_(std::move(env)),
      options_(std::move(options)),
      limiter_(options_.max_concurrency, options_.max_per_destination),
      timer_(loop, asio::steady_timer::time_point::max()) {}

Scheduler::~Scheduler() = default;

void Scheduler::start() {
  started_ = true;
  asio::co_spawn(
      loop_,
      [](Scheduler* self) -> asio::awaitable<void> {
        co_await self->load();
        self->dispatch();
        co_await self->timer_loop();
      }(this),
      asio::detached);
}

void Scheduler::stop() {
  stopped_ = true;
  timer_.cancel();
}

void Scheduler::drain(std::function<void()> idle) {
  stop();
  drained_ = std::move(idle);
  if (active_ == 0) asio::post(loop_, std::exchange(drained_, nullptr));
}

void Scheduler::reconfigure(SchedulerOptions options) {
  options_ = std::move(options);
  limiter_.set_limits(options_.max_concurrency, options_.max_per_destination);
  dispatch();
}

void Scheduler::enqueue(std::string id) {
  asio::post(loop_, [this, id = std::move(id)] {
    add(id, 0);
    dispatch();
  });
}

void Scheduler::enqueue(const Envelope& env) {
  auto m = std::make_shared<QueuedMessage>();
  m->envelope = env;
  m->state.assign(env.rcpts.size(), RecipientState{});
  asio::post(loop_, [this, m] {
    add(m->envelope.id, 0, due_dests(*m, 0, false));
    dispatch();
  });
}

void Scheduler::add(const std::string& id, int64_t due, std::vector<std::string> dests) {
  auto [it, fresh] = entries_.try_emplace(id);
  Entry& e = it->second;
  if (fresh) {
    e.due = due;
    e.dests = std::move(dests);
    e.info.id = id;
    insert_due(id, e);
  } else if (e.active) {
    e.again = true;
  } else if (due < e.due) {
    set_due(id, e, due);
  }
}

void Scheduler::set_due(const std::string& id, Entry& e, int64_t due) {
  if (!e.active) erase_due(id, e);
  e.due = due;
  if (!e.active) insert_due(id, e);
}

void Scheduler::insert_due(const std::string& id, Entry& e) {
  by_due_.emplace(e.due, id);
  // Entries that are never blocked (dests unknown, an admin operation) count as "".
  e.counted = e.dests.empty() || e.admin != AdminOp::kNone ? std::vector<std::string>{""} : e.dests;
  for (const std::string& d : e.counted) ++due_by_dest_[d];
}

std::set<std::pair<int64_t, std::string>>::iterator Scheduler::erase_due(const std::string& id,
                                                                         Entry& e) {
  auto it = by_due_.find({e.due, id});
  if (it == by_due_.end()) return it;
  for (const std::string& d : e.counted) {
    auto c = due_by_dest_.find(d);
    if (c != due_by_dest_.end() && --c->second == 0) due_by_dest_.erase(c);
  }
  e.counted.clear();
  return by_due_.erase(it);
}

bool Scheduler::any_runnable() const {
  for (const auto& [dest, n] : due_by_dest_)
    if (dest.empty() || !busy(dest)) return true;
  return false;
}

bool Scheduler::busy(const std::string& dest) const {
  if (limiter_.saturated(dest)) return true;
  auto s = starting_.find(dest);
  return s != starting_.end() && limiter_.in_flight(dest) + s->second >= limiter_.limit(dest);
}

void Scheduler::release_reserved(Entry& e) {
  for (const std::string& d : e.reserved) {
    auto s = starting_.find(d);
    if (s != starting_.end() && --s->second == 0) starting_.erase(s);
  }
  e.reserved.clear();
}

void Scheduler::dispatch() {
  if (stopped_) return;  // draining or stopped: nothing new
  const int64_t now = env_.clock();
  for (auto it = by_due_.begin(); it != by_due_.end() && it->first <= now;) {
    const std::string id = it->second;
    Entry& e = entries_.at(id);
    if (e.admin == AdminOp::kNone) {
      if (active_ >= options_.max_concurrency) break;
      bool blocked = !e.dests.empty() && std::all_of(e.dests.begin(), e.dests.end(),
                                                     [&](const std::string& d) { return busy(d); });
      if (blocked) {
        if (!any_runnable()) break;
        ++it;
        continue;
      }
    }
    it = erase_due(id, e);
    e.active = true;
    for (const std::string& d : e.dests) ++starting_[d];
    e.reserved = e.dests;
    ++active_;
    asio::co_spawn(loop_, run_pass(id), asio::detached);
  }
  if (started_ && !stopped_) arm_timer();
}

void Scheduler::arm_timer() {
  constexpr int64_t kMaxSleep = 300;
  const int64_t now = env_.clock();
  int64_t sleep = kMaxSleep;
  // Entries due by now wait for a slot: a pass's end dispatches again.
  auto next = by_due_.lower_bound({now + 1, std::string()});
  if (next != by_due_.end()) sleep = std::min(sleep, next->first - now);
  timer_.expires_after(std::chrono::seconds(sleep));
}

asio::awaitable<void> Scheduler::timer_loop() {
  while (!stopped_) {
    auto [ec] = co_await timer_.async_wait(use_tuple);
    if (stopped_) co_return;
    if (!ec) dispatch();  // else re-armed: wait for the new time
  }
}

asio::awaitable<void> Scheduler::load() {
  QueueStore* store = env_.store;
  auto list_ids = [store] { return store->list(); };
  auto ids = co_await blocking<std::vector<std::string>>(list_ids);
  size_t loaded = 0;
  for (const std::string& id : ids) {
    if (entries_.count(id)) continue;
    auto load_one = [store, id] {
      QueuedMessage msg;
      Status st = store->load(id, &msg);
      return std::make_pair(st, std::move(msg));
    };
    auto [s, m] = co_await blocking<std::pair<Status, QueuedMessage>>(load_one);
    if (entries_.count(id)) continue;  // enqueued meanwhile
    const int64_t now = env_.clock();
    if (!s.ok()) {
      log_error("queue id={} cannot be loaded: {}", id, s.message());
      bool corrupt = s.kind() == Status::Kind::kPermanent;  // as in finish_pass
      add(id, now + (corrupt ? std::max<int64_t>(3600, options_.store_retry.count())
                             : options_.store_retry.count()));
      entries_.at(id).info.last_error = "cannot load: " + s.message();
      continue;
    }
    int64_t due = m.all_done() ? 0 : next_due(m);
    add(id, due);
    Entry& e = entries_.at(id);
    update_info(e, m);
    e.dests = due_dests(m, due, false);
    ++loaded;
  }
  if (!ids.empty()) log_info("queue loaded messages={}", loaded);
}

asio::awaitable<void> Scheduler::run_due() {
  dispatch();
  while (active_ > 0) {
    auto w = std::make_shared<Waiter>(loop_);
    idle_waiters_.push_back(w);
    while (!w->done) co_await w->timer.async_wait(use_tuple);
  }
}

std::vector<QueueEntryInfo> Scheduler::list() const {
  std::vector<QueueEntryInfo> out;
  for (const auto& [id, e] : entries_) {
    out.push_back(e.info);
    out.back().active = e.active;
  }
  return out;
}

QueueStats Scheduler::stats() const {
  QueueStats s;
  const int64_t now = env_.clock();
  for (const auto& [id, e] : entries_) {
    QueueStats::State& st = e.active ? s.active : e.due <= now ? s.ready : s.deferred;
    ++st.messages;
    const int64_t at = e.info.received_at;
    if (at > 0 && (st.oldest == 0 || at < st.oldest)) st.oldest = at;
  }
  return s;
}

asio::awaitable<Status> Scheduler::inspect(std::string id, QueuedMessage* out) {
  QueueStore* store = env_.store;
  auto load_one = [store, id] {
    QueuedMessage msg;
    Status st = store->load(id, &msg);
    return std::make_pair(st, std::move(msg));
  };
  auto [s, m] = co_await blocking<std::pair<Status, QueuedMessage>>(load_one);
  if (s.ok()) *out = std::move(m);
  co_return s;
}

size_t Scheduler::flush(const std::string& id) {
  size_t n = 0;
  for (auto& [eid, e] : entries_) {
    if (!id.empty() && eid != id) continue;
    e.force.all = true;
    if (e.active)
      e.again = true;
    else
      set_due(eid, e, 0);
    ++n;
  }
  dispatch();
  return n;
}

std::optional<size_t> Scheduler::flush_domain(const std::string& domain, bool subdomains) {
  if (stopped_) return std::nullopt;
  FlushScope scope{.all = false, .domains = {DomainPattern{ascii_lower(domain), subdomains}}};
  size_t n = 0;
  for (auto& [id, e] : entries_) {
    bool hit = false;
    for (const std::string& rcpt : e.info.pending_rcpts) {
      size_t at = rcpt.rfind('@');
      if (at != std::string::npos && scope.domains[0].matches(rcpt.substr(at + 1))) hit = true;
    }
    if (!hit) continue;
    e.force.merge(scope);
    if (e.active)
      e.again = true;
    else
      set_due(id, e, 0);
    ++n;
  }
  if (n > 0) dispatch();
  return n;
}

asio::awaitable<Status> Scheduler::remove(std::string id) {
  return admin(std::move(id), AdminOp::kDelete);
}

asio::awaitable<Status> Scheduler::bounce(std::string id) {
  return admin(std::move(id), AdminOp::kBounce);
}

asio::awaitable<Status> Scheduler::admin(std::string id, AdminOp op) {
  auto it = entries_.find(id);
  if (it == entries_.end()) co_return Status::Permanent("no message " + id + " in the queue");
  Entry& e = it->second;
  if (e.admin != AdminOp::kDelete) e.admin = op;  // delete wins
  auto w = std::make_shared<Waiter>(loop_);
  e.waiters.push_back(w);
  if (!e.active) set_due(id, e, 0);
  dispatch();
  while (!w->done) co_await w->timer.async_wait(use_tuple);
  co_return w->result;
}

void Scheduler::update_info(Entry& e, const QueuedMessage& m) {
  QueueEntryInfo& i = e.info;
  i.received_at = m.envelope.received_at;
  i.sender = m.envelope.mail.from.str();
  i.rcpts = m.envelope.rcpts.size();
  i.pending_rcpts.clear();
  i.next_attempt = kNever;
  i.last_error.clear();
  int64_t newest = -1;
  for (size_t k = 0; k < m.state.size(); ++k) {
    const RecipientState& s = m.state[k];
    if (s.done) continue;
    i.pending_rcpts.push_back(m.envelope.rcpts[k].to.str());
    if (s.outcome == RcptOutcome::kPending)
      i.next_attempt = std::min(i.next_attempt, s.next_attempt);
    if (s.last_reply.code != 0 && s.last_attempt > newest) {
      newest = s.last_attempt;
      i.last_error = reply_line(s.last_reply);
      if (!s.remote_mta.empty()) i.last_error += " (from " + s.remote_mta + ")";
    }
  }
}

std::vector<std::string> Scheduler::due_dests(const QueuedMessage& m, int64_t due, bool all) const {
  std::vector<std::string> out;
  for (const DeliveryGroup& g : due_groups(m, due, all, env_.is_local_domain))
    out.push_back(limit_key(g.dest));
  return out;
}

std::string Scheduler::limit_key(const Destination& dest) const {
  if (dest.kind == Destination::Kind::kRemote && !options_.remote_limit_key.empty())
    return options_.remote_limit_key;
  return dest.key();
}

}  // namespace tern
