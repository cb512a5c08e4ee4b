// The queue's requests on the admin socket (server/admin_socket.h), served
// by the running Scheduler. One JSON object per request:
//
//   {"op": "list"}                -> {"ok": true, "now": T, "messages": [MSG...]}
//   {"op": "show", "id": ID}      -> {"ok": true, "now": T, "message": MSG+}
//   {"op": "flush"}               -> {"ok": true, "flushed": N}   every message
//   {"op": "flush", "id": ID}     -> {"ok": true, "flushed": 1}
//   {"op": "delete", "id": ID}    -> {"ok": true, "from": "queue" | "quarantine"}
//                                    removed, no DSN; a quarantined message too
//   {"op": "bounce", "id": ID}    -> {"ok": true}   pending recipients failed, DSN sent
//   {"op": "quarantine"}          -> {"ok": true, "now": T, "messages": [HELD...]}
//   {"op": "release", "id": ID}   -> {"ok": true}   moved into the queue, due now
//                                    (+ "warning" if the quarantine copy stays
//                                    until the next start: queue/quarantine.h)
//
// MSG: {"id", "received_at", "sender" ("" for <>), "rcpts" (count),
//       "pending" ([address...]), "next_attempt" (unix s, absent if none),
//       "last_error" (may be ""), "active" (a delivery is running),
//       "requiretls" (MAIL FROM had REQUIRETLS, RFC 8689)}
// MSG+ (show) adds "size", "listener", "client_ip", "auth_user", "envid",
//       "ret", "recipients": [{"address", "orcpt", "notify", "outcome",
//       "done", "attempts", "last_attempt", "next_attempt", "last_reply",
//       "remote_mta", "delay_warned"}], times in unix seconds, 0 for none.
// HELD (quarantine): {"id", "received_at", "sender", "recipients"
//       ([address...]), "size" (octets of content), "reason" (the milter's
//       SMFIR_QUARANTINE text, may be ""), "listener", "client_ip"}
// Errors: {"ok": false, "error": "no message ID in the queue"} and the like.
//
// Thread safety: the loop thread of the scheduler only; the quarantine's
// file work runs on `blocking`.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "queue/quarantine.h"
#include "relay/scheduler.h"

namespace tern {

struct QueueAdmin {
  Scheduler& scheduler;
  Quarantine* quarantine = nullptr;  // null: the quarantine ops fail
  asio::any_io_executor blocking;    // a thread pool, for the quarantine's I/O
};

asio::awaitable<nlohmann::json> handle_queue_request(QueueAdmin admin, nlohmann::json request);

}  // namespace tern
