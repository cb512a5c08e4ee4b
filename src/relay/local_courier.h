// LocalCourier: the Courier for our own domains. Wraps deliver_local()
// (delivery/local.h: aliases, then Maildirs) and runs it on a thread pool,
// since every Maildir copy is fsynced. Mailboxes that [delivery] sends to
// an LMTP server are then handed over by the LmtpSender (lmtp_sender.h),
// one LMTP transaction per server for all of them; a recipient is delivered
// once its Maildir copies and its LMTP targets all are (lmtp_plan.h:
// merge_results), and otherwise carries the LMTP server's reply (a 5xx
// bounces with it, a 4xx is retried).
//
// Replies it reports (ours, no remote MTA):
//   250 2.0.0  delivered (or expanded: remote alias targets in forward_to)
//   451 4.3.0  a Maildir could not be written (disk full, permissions...)
//   550 5.1.1  no usable mailbox for the recipient
//
// Thread-safe: deliver() may run concurrently.
#pragma once

#include <asio/any_io_executor.hpp>
#include <functional>
#include <memory>

#include "delivery/local.h"
#include "relay/courier.h"

namespace tern {

// Hands `mailboxes` of `msg` to the LMTP server at `address` (the server
// passes LmtpSender::deliver, lmtp_sender.h); one result per mailbox, in
// order.
using LmtpHandoff = std::function<asio::awaitable<std::vector<RcptResult>>(
    std::shared_ptr<const QueuedMessage> msg, std::string address,
    std::vector<std::string> mailboxes)>;

class LocalCourier : public Courier {
 public:
  // `env` is called once per delivery for a snapshot of the aliases and
  // the config (a reload between deliveries applies to the next one).
  // `blocking` is where the Maildir writes run.
  // `lmtp` may be empty: a mailbox routed to LMTP then stays queued (451 4.3.5).
  LocalCourier(asio::any_io_executor blocking,
               std::function<std::shared_ptr<const LocalDeliveryEnv>()> env, LmtpHandoff lmtp = {});

  asio::awaitable<CourierResult> deliver(std::shared_ptr<const QueuedMessage> msg, Destination dest,
                                         std::vector<size_t> rcpts) override;

  // The courier's view of deliver_local's results.
  static CourierResult to_courier_result(const std::vector<LocalRcptResult>& results);

 private:
  asio::any_io_executor blocking_;
  std::function<std::shared_ptr<const LocalDeliveryEnv>()> env_;
  LmtpHandoff lmtp_;
};

}  // namespace tern
