// Internals of Scheduler shared by scheduler.cc and scheduler_pass.cc: the
// waiters of admin operations and the state of one pass. Not an API.
#pragma once

#include <asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "relay/scheduler.h"

namespace tern {

// An admin operation or run_due() waiting for a pass to end.
struct Scheduler::Waiter {
  explicit Waiter(const asio::any_io_executor& ex)
      : timer(ex, asio::steady_timer::time_point::max()) {}
  void wake(Status s) {
    done = true;
    result = std::move(s);
    timer.cancel();
  }
  asio::steady_timer timer;
  bool done = false;
  Status result;
};

// What one pass over one message carries between its steps.
struct Scheduler::Pass {
  struct Item {
    StateRecord record;
    std::vector<std::string> forward_to;  // kExpanded: to queue before the record
  };
  std::string id;
  int64_t now = 0;  // when the pass started
  AdminOp op = AdminOp::kNone;
  FlushScope force;                               // recipients due whatever their next attempt
  std::vector<std::shared_ptr<Waiter>> waiters;   // of `op`
  QueuedMessage m;                                // its state follows the records written
  std::shared_ptr<const QueuedMessage> snapshot;  // what couriers read (state as loaded)
  bool loaded = false;
  bool removed = false;
  bool store_error = false;  // something was not written: wait store_retry
  // Finished quietly: the records not appended (results, then done).
  std::vector<StateRecord> unlogged;
  Status admin_result;
  std::vector<std::string> deferred;  // destination keys that had no free slot
  std::vector<Item> ready;            // results not yet written
  size_t groups_left = 0;             // tasks not finished (their completion handlers not run)
  size_t unreported = 0;              // groups whose results are not in `ready` yet
  std::unique_ptr<asio::steady_timer> wake;  // cancelled when a group ends
};

}  // namespace tern
