// The queue's requests on the admin socket (server/admin_socket.h), served
// by the running Scheduler. One JSON object per request:
//
//   {"op": "list"}                -> {"ok": true, "now": T, "messages": [MSG...]}
//   {"op": "show", "id": ID}      -> {"ok": true, "now": T, "message": MSG+}
//   {"op": "flush"}               -> {"ok": true, "flushed": N}   every message
//   {"op": "flush", "id": ID}     -> {"ok": true, "flushed": 1}
//   {"op": "delete", "id": ID}    -> {"ok": true}   removed, no DSN
//   {"op": "bounce", "id": ID}    -> {"ok": true}   pending recipients failed, DSN sent
//
// MSG: {"id", "received_at", "sender" ("" for <>), "rcpts" (count),
//       "pending" ([address...]), "next_attempt" (unix s, absent if none),
//       "last_error" (may be ""), "active" (a delivery is running),
//       "requiretls" (MAIL FROM had REQUIRETLS, RFC 8689)}
// MSG+ (show) adds "size", "listener", "client_ip", "auth_user", "envid",
//       "ret", "recipients": [{"address", "orcpt", "notify", "outcome",
//       "done", "attempts", "last_attempt", "next_attempt", "last_reply",
//       "remote_mta", "delay_warned"}], times in unix seconds, 0 for none.
// Errors: {"ok": false, "error": "no message ID in the queue"} and the like.
//
// Thread safety: the loop thread of the scheduler only.
#pragma once

#include <asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "relay/scheduler.h"

namespace tern {

asio::awaitable<nlohmann::json> handle_queue_request(Scheduler& scheduler, nlohmann::json request);

}  // namespace tern
