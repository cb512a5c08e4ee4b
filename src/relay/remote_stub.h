// RemoteStubCourier: the Courier for remote domains until the outbound
// relay (MX lookup through src/dns, SMTP through core/client_session) is
// built on the Courier interface. It sends nothing: every recipient gets a
// transient "451 4.3.0 outbound relay not built yet", so remote mail waits
// in the queue, retried on the normal schedule, and shows that reason in
// `tern queue list`; after max_age it is bounced like any expired mail.
//
// Thread-safe.
#pragma once

#include "relay/courier.h"

namespace tern {

class RemoteStubCourier : public Courier {
 public:
  asio::awaitable<CourierResult> deliver(std::shared_ptr<const QueuedMessage> msg, Destination dest,
                                         std::vector<size_t> rcpts) override;
};

}  // namespace tern
