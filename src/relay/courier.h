// Courier: takes one queued message to a group of its recipients that
// share a destination, and says per recipient how it went. The scheduler
// (scheduler.h) decides who is due and records the results; a courier only
// delivers. Two exist: LocalCourier (Maildirs, local_courier.h) and
// RemoteCourier (SMTP to the destination's MX hosts or the smarthost,
// remote_courier.h).
//
// A courier must not throw (the scheduler treats an exception as a
// transient failure of the whole group) and must bound every wait by a
// deadline of its own. It may be called concurrently, for different
// destinations and for different messages.
#pragma once

#include <asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "queue/store.h"
#include "tern/reply.h"

namespace tern {

// Where a group of recipients goes: our own Maildirs, or a remote domain.
struct Destination {
  enum class Kind { kLocal, kRemote };
  Kind kind = Kind::kLocal;
  std::string domain;  // kRemote: the recipients' domain, lower-cased (may be a literal "[...]")

  // The name the concurrency limits count by: "local" or the domain.
  std::string key() const { return kind == Kind::kLocal ? "local" : domain; }
  friend bool operator==(const Destination&, const Destination&) = default;
  friend auto operator<=>(const Destination&, const Destination&) = default;
};

// What delivering to one recipient came to.
struct RcptResult {
  enum class Kind {
    kDelivered,  // accepted: local final delivery, or the next hop said 250
    kExpanded,   // local alias: local targets done, forward_to must be queued anew
    kTransient,  // 4xx, no connection, timeout...: try again later (next MX first)
    kPermanent,  // 5xx: fails now, the sender gets a DSN
  };
  Kind kind = Kind::kTransient;
  // What the next hop said, or what we say for ourselves (local delivery,
  // connection failures: "451 4.4.1 connection refused by ..."). A reply
  // without an enhanced code gets one from its class in the DSN.
  Reply reply;
  std::string remote_mta;               // the host that said it; "" when the reply is ours
  std::vector<std::string> forward_to;  // kExpanded only
};

struct CourierResult {
  std::vector<RcptResult> rcpts;  // one per requested recipient, in order
  // The next hop advertised DSN (RFC 3461) and was given NOTIFY, ORCPT,
  // RET and ENVID: success reports are its job, not ours.
  bool next_hop_dsn = false;
};

class Courier {
 public:
  virtual ~Courier() = default;
  // Delivers `msg` to the recipients `rcpts` (indexes into
  // msg->envelope.rcpts, all for `dest`, none done). Returns exactly
  // rcpts.size() results.
  virtual asio::awaitable<CourierResult> deliver(std::shared_ptr<const QueuedMessage> msg,
                                                 Destination dest, std::vector<size_t> rcpts) = 0;
};

}  // namespace tern
