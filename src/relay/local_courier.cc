#include "relay/local_courier.h"

#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>
#include <map>
#include <set>

#include "relay/lmtp_plan.h"

namespace tern {
namespace {

// A coroutine with its inputs as by-value parameters, so they live in its
// frame while it runs on the pool.
asio::awaitable<std::vector<LocalRcptResult>> deliver_on_pool(
    std::shared_ptr<const QueuedMessage> msg, std::vector<size_t> rcpts,
    std::shared_ptr<const LocalDeliveryEnv> env) {
  co_return deliver_local(*msg, rcpts, *env);
}

}  // namespace

LocalCourier::LocalCourier(asio::any_io_executor blocking,
                           std::function<std::shared_ptr<const LocalDeliveryEnv>()> env,
                           LmtpHandoff lmtp)
    : blocking_(std::move(blocking)), env_(std::move(env)), lmtp_(std::move(lmtp)) {}

asio::awaitable<CourierResult> LocalCourier::deliver(std::shared_ptr<const QueuedMessage> msg,
                                                     Destination, std::vector<size_t> rcpts) {
  // Named, not a temporary: see Scheduler::blocking on GCC 12 and prvalue
  // arguments of coroutines inside co_await.
  std::shared_ptr<const LocalDeliveryEnv> env = env_();
  auto results = co_await asio::co_spawn(
      blocking_, deliver_on_pool(msg, std::move(rcpts), std::move(env)), asio::use_awaitable);
  CourierResult out = to_courier_result(results);
  // The LMTP targets, by server: one transaction per server.
  std::map<std::string, std::vector<std::string>> by_server;
  std::set<std::pair<std::string, std::string>> seen;  // each mailbox once per server
  for (const LocalRcptResult& l : results) {
    for (const LmtpTarget& t : l.lmtp) {
      if (seen.emplace(t.address, t.mailbox).second) by_server[t.address].push_back(t.mailbox);
    }
  }
  if (by_server.empty()) co_return out;
  std::map<std::pair<std::string, std::string>, RcptResult> sent;
  for (auto& [address, mailboxes] : by_server) {
    std::vector<RcptResult> got;
    if (lmtp_) {
      got = co_await lmtp_(msg, address, mailboxes);
    } else {  // not reached in the server, which always has a sender
      RcptResult r;
      r.reply = Reply(451, "4.3.5", "LMTP delivery is not set up");
      got.assign(mailboxes.size(), r);
    }
    for (size_t i = 0; i < mailboxes.size() && i < got.size(); ++i)
      sent[{address, mailboxes[i]}] = std::move(got[i]);
  }
  for (size_t i = 0; i < results.size(); ++i) {
    std::vector<RcptResult> targets;
    for (const LmtpTarget& t : results[i].lmtp) targets.push_back(sent[{t.address, t.mailbox}]);
    out.rcpts[i] = merge_results(std::move(out.rcpts[i]), targets);
  }
  co_return out;
}

CourierResult LocalCourier::to_courier_result(const std::vector<LocalRcptResult>& results) {
  CourierResult out;
  for (const LocalRcptResult& l : results) {
    RcptResult r;
    switch (l.kind) {
      case LocalRcptResult::Kind::kDelivered:
        r.kind = RcptResult::Kind::kDelivered;
        r.reply = Reply(250, "2.0.0", "delivered to mailbox");
        break;
      case LocalRcptResult::Kind::kExpanded:
        r.kind = RcptResult::Kind::kExpanded;
        r.reply = Reply(250, "2.0.0",
                        "alias expanded; forwarded to " + std::to_string(l.forward_to.size()) +
                            " remote address(es)");
        r.forward_to = l.forward_to;
        break;
      case LocalRcptResult::Kind::kTransient:
        r.kind = RcptResult::Kind::kTransient;
        r.reply = Reply(451, "4.3.0", "local delivery failed: " + l.detail);
        break;
      case LocalRcptResult::Kind::kPermanent:
        r.kind = RcptResult::Kind::kPermanent;
        r.reply = Reply(550, "5.1.1", "local delivery failed: " + l.detail);
        break;
    }
    out.rcpts.push_back(std::move(r));
  }
  return out;
}

}  // namespace tern
