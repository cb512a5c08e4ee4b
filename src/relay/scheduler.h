// Scheduler: takes queued messages to their recipients. It keeps a small
// in-memory index of the queue (id, when next due, a summary for `tern
// queue list`), and for each message that is due runs a "pass":
//
//   1. load the message and replay its state log (store.h);
//   2. group the due recipients by destination (plan.h: due_groups) and
//      hand each group to its courier (local or remote), several groups
//      and messages at once within the concurrency limits (limiter.h);
//   3. append each result to the state log (plan.h: result_record) BEFORE
//      acting on it; an alias's remote targets are queued as a new message
//      first (its sender rewritten by SchedulerEnv::forward_sender: SRS),
//      then recorded;
//   4. queue the DSN the results call for (failures, delays, successes as
//      NOTIFY asks; never to "<>"; plan.h: plan_notice, dsn.h; to the
//      original sender when ours was SRS: SchedulerEnv::dsn_recipient),
//      then record those recipients done (and delay warnings sent);
//   5. remove the message once every recipient is done. When a pass's
//      last results finish the message with no DSN to send (the common
//      case: delivered at the first attempt), steps 3-4 write nothing and
//      the removal is the record (plan.h: finishes_quietly).
//
// A crash anywhere repeats a step, never skips one: a recipient may get a
// message twice, and a sender a DSN twice, but no pending recipient is
// forgotten and none that is done is sent to again.
// A failed state-log append (the disk full, an I/O error) repeats nothing:
// the records are kept in memory and written first by the next pass.
//
// Threading: the scheduler lives on one event loop (the server's
// io_context; its state has no locks) and runs every blocking operation,
// store and file I/O, on `SchedulerEnv::blocking` (a thread pool).
// enqueue() may be called from any thread; every other method only from
// the loop's thread. Time comes from the injected clock (unix seconds),
// randomness (retry jitter) from the injected source: tests drive passes
// with run_due() and a fake clock, never waiting on the real one.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "queue/store.h"
#include "relay/courier.h"
#include "relay/limiter.h"
#include "relay/plan.h"
#include "relay/schedule.h"

namespace tern {

struct SchedulerOptions {
  RetryPolicy policy;
  size_t max_concurrency = 20;           // deliveries (courier calls) at once, in total
  size_t max_per_destination = 5;        // deliveries at once to one destination
  std::string hostname = "localhost";    // Reporting-MTA; DSNs come from MAILER-DAEMON@hostname
  uint64_t max_returned = 100 * 1024;    // RET=FULL: larger originals come back as headers only
  std::chrono::seconds store_retry{60};  // after a store or file error, the message waits this
  // Set when all remote mail goes to one smarthost: remote destinations
  // then share one max_per_destination under this key, since they all
  // land on the same server.
  std::string remote_limit_key;
};

struct SchedulerEnv {
  QueueStore* store = nullptr;          // REQUIRES: set, open
  Courier* local = nullptr;             // REQUIRES: set
  Courier* remote = nullptr;            // REQUIRES: set
  IsLocalDomain is_local_domain;        // called on the loop thread
  std::function<int64_t()> clock;       // unix seconds; REQUIRES: set
  std::function<double()> random;       // uniform in [0, 1); REQUIRES: set
  asio::any_io_executor blocking;       // for store and file I/O
  std::function<std::string()> new_id;  // ids for DSNs and forwarded copies; REQUIRES: set
  // The envelope sender of a copy forwarded by an alias, from the
  // original's sender and the time (SRS, relay/srs.h). Empty: unchanged.
  std::function<Address(const Address& from, int64_t now)> forward_sender;
  // Where a DSN to `sender` goes: one of our SRS addresses (the sender of
  // a forwarded copy) stands for the original sender. Empty: `sender`.
  std::function<Address(const Address& sender, int64_t now)> dsn_recipient;
};

// One queued message as `tern queue list` shows it.
struct QueueEntryInfo {
  std::string id;
  int64_t received_at = 0;
  std::string sender;                      // "" for "<>"
  size_t rcpts = 0;                        // all recipients
  std::vector<std::string> pending_rcpts;  // not done yet
  int64_t next_attempt = kNever;           // earliest of the pending ones
  std::string last_error;                  // newest reply of a pending one, or a load error
  bool active = false;                     // a pass is running
};

// The queue by state, for metrics: messages and the earliest arrival
// (unix seconds; 0 when none is known yet).
struct QueueStats {
  struct State {
    size_t messages = 0;
    int64_t oldest = 0;
  };
  State active;    // a pass is running
  State ready;     // due, waiting for a delivery slot
  State deferred;  // waiting for a retry
};

class Scheduler {
 public:
  Scheduler(asio::any_io_executor loop, SchedulerEnv env, SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Loads the queue, then runs passes as messages fall due, waking on a
  // timer (at least every 5 minutes, so a clock jump costs no more).
  void start();
  // Stops the timer; passes in flight are left to the event loop (if it
  // stops first they are simply cut short: see the crash rule above).
  void stop();
  // Starts no more passes and calls `idle` (on the loop) once none runs:
  // a graceful stop, so that no delivery is cut between its Maildir copy
  // and its record (which would repeat it after the restart).
  void drain(std::function<void()> idle);
  // New options (config reload); limits apply to deliveries started later.
  void reconfigure(SchedulerOptions options);

  // A message was committed to the store: it is due now. Any thread.
  void enqueue(std::string id);
  // The same, from its envelope: the entry knows its destinations before
  // its first pass, so while they are saturated it waits in the index
  // instead of running a pass that loads it only to find no free slot.
  void enqueue(const Envelope& env);

  // Reads every message in the store into the index (ids already known are
  // kept). Loop thread.
  asio::awaitable<void> load();
  // Starts every pass that is due at clock() and waits until none runs
  // and nothing more is due (including DSNs queued meanwhile). For tests
  // and one-shot use; start() needs no call to it.
  asio::awaitable<void> run_due();

  // `tern queue list`: every message, oldest first.
  std::vector<QueueEntryInfo> list() const;
  // A walk of the index (metrics/server_metrics.h); loop thread.
  QueueStats stats() const;
  // `tern queue show`: the message with its state, read from the store.
  asio::awaitable<Status> inspect(std::string id, QueuedMessage* out);
  // `tern queue flush`: every pending recipient of `id` (of every message
  // if `id` is empty) is due now. Returns how many messages that touched
  // (0: no such id).
  size_t flush(const std::string& id);
  // ETRN (RFC 1985): the pending recipients in `domain` (and with
  // `subdomains` in any domain under it) of every message are due now.
  // Returns how many messages have such recipients, by the index (a
  // message enqueued a moment ago and not yet looked at is due anyway), or
  // nullopt once stop()/drain() was called: the queue does not start.
  std::optional<size_t> flush_domain(const std::string& domain, bool subdomains);
  // `tern queue delete`: removes the message without any DSN, once a pass
  // in flight (if any) ends. Permanent error for an unknown id.
  asio::awaitable<Status> remove(std::string id);
  // `tern queue bounce`: fails every pending recipient (550 5.0.0), sends
  // the DSNs NOTIFY asks for and removes the message.
  asio::awaitable<Status> bounce(std::string id);

  int64_t now() const { return env_.clock(); }
  size_t active_passes() const { return active_; }

 private:
  enum class AdminOp { kNone, kBounce, kDelete };
  struct Waiter;
  struct Entry {
    int64_t due = 0;
    bool active = false;
    bool again = false;  // asked for while active: due again afterwards
    FlushScope force;    // flush/ETRN: these pending recipients are due
    AdminOp admin = AdminOp::kNone;
    std::vector<std::shared_ptr<Waiter>> waiters;  // admin ops waiting for the pass
    std::vector<std::string> dests;                // destination keys of the recipients due next
    std::vector<std::string> counted;              // dests as counted in due_by_dest_ while waiting
    std::vector<std::string> reserved;  // dests counted in starting_ (pass not delivering yet)
    // Records whose append failed (disk full, I/O error): the next pass
    // writes them before anything else, so that a store that recovers
    // does not see those recipients pending and deliver them again.
    std::vector<StateRecord> unrecorded;
    QueueEntryInfo info;
  };
  struct Pass;

  // `dests`: the limit keys of a new entry, if known (see enqueue).
  void add(const std::string& id, int64_t due, std::vector<std::string> dests = {});
  void set_due(const std::string& id, Entry& e, int64_t due);
  // Puts a waiting entry in by_due_ (and its dests in due_by_dest_), or
  // takes it out; erase_due returns the iterator after it.
  void insert_due(const std::string& id, Entry& e);
  std::set<std::pair<int64_t, std::string>>::iterator erase_due(const std::string& id, Entry& e);
  // False when every destination some waiting entry needs is saturated:
  // dispatch() then need not walk the queue (a backlog for a busy
  // destination would make each dispatch cost its length).
  bool any_runnable() const;
  // A destination with no slot for one more pass: its deliveries in flight
  // plus the passes started for it that have not reached it yet (loading)
  // fill its limit. Without the second part, one freed slot would start a
  // pass for every waiting entry before the first of them took the slot.
  bool busy(const std::string& dest) const;
  void release_reserved(Entry& e);
  void dispatch();
  void arm_timer();
  asio::awaitable<void> timer_loop();
  asio::awaitable<Status> admin(std::string id, AdminOp op);
  void update_info(Entry& e, const QueuedMessage& m);
  std::vector<std::string> due_dests(const QueuedMessage& m, int64_t due, bool all) const;
  // Runs f() on env_.blocking and returns its result.
  template <typename R, typename F>
  asio::awaitable<R> blocking(F f);

  // One pass (scheduler_pass.cc).
  asio::awaitable<void> run_pass(std::string id);
  asio::awaitable<void> pass_body(std::shared_ptr<Pass> pass);
  asio::awaitable<void> deliver_groups(std::shared_ptr<Pass> pass);
  asio::awaitable<void> group_task(std::shared_ptr<Pass> pass, DeliveryGroup group);
  asio::awaitable<void> write_results(Pass& pass);
  asio::awaitable<Status> append(Pass& pass, std::vector<StateRecord> records);
  asio::awaitable<bool> send_notice(Pass& pass);
  void finish_pass(const std::string& id, Pass& pass);

  asio::any_io_executor loop_;
  SchedulerEnv env_;
  SchedulerOptions options_;
  // The key the per-destination limit counts `dest` under.
  std::string limit_key(const Destination& dest) const;
  ConcurrencyLimiter limiter_;
  std::map<std::string, Entry> entries_;
  std::set<std::pair<int64_t, std::string>> by_due_;  // entries not active
  // Waiting entries per destination key ("" for entries never blocked:
  // dests not known yet, or an admin operation); no zero counts.
  std::map<std::string, size_t> due_by_dest_;
  std::map<std::string, size_t>
      starting_;  // passes started per destination key, not delivering yet
  size_t active_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  asio::steady_timer timer_;
  std::vector<std::shared_ptr<Waiter>> idle_waiters_;
  std::function<void()> drained_;  // drain()'s callback, until called
};

namespace scheduler_detail {
template <typename R, typename F>
asio::awaitable<R> call(F f) {  // f is a by-value parameter: it lives in the frame
  co_return f();
}
}  // namespace scheduler_detail

// GCC 12.2 destroys twice a lambda with captures (of a class type such as
// std::string) that is a temporary inside a co_await expression: callers
// must name the lambda first (`auto f = [id] {...}; co_await blocking<R>(f);`),
// never write `co_await blocking<R>([id] {...})`.
template <typename R, typename F>
asio::awaitable<R> Scheduler::blocking(F f) {
  return asio::co_spawn(env_.blocking, scheduler_detail::call<R>(std::move(f)),
                        asio::use_awaitable);
}

}  // namespace tern
