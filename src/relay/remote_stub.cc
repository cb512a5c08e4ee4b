#include "relay/remote_stub.h"

namespace tern {

asio::awaitable<CourierResult> RemoteStubCourier::deliver(std::shared_ptr<const QueuedMessage>,
                                                          Destination, std::vector<size_t> rcpts) {
  CourierResult out;
  RcptResult r;
  r.kind = RcptResult::Kind::kTransient;
  r.reply = Reply(451, "4.3.0", "outbound relay not built yet");
  out.rcpts.assign(rcpts.size(), r);
  co_return out;
}

}  // namespace tern
