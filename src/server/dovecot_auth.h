// AUTH checked by Dovecot ([auth] backend = "dovecot"): the I/O around
// auth/dovecot_client.h. Each check opens its own connection to the
// auth-client socket, runs the handshake and one AUTH, and closes it.
// AUTH is a handful of checks per session at most and the socket is local,
// so a connection per check costs little and keeps no shared state between
// the server's threads (one long-lived connection with request ids would
// need its own reconnect logic and a lock).
//
// Never blocks the event loop: every read, write and the connect are
// asynchronous, and the whole check is bounded by `timeout`; a Dovecot that
// is down, slow or confused gives kTemporary (454 4.7.0), never a success.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "auth/dovecot_client.h"

namespace tern {

asio::awaitable<DovecotAuthResult> dovecot_authenticate(std::string socket_path,
                                                        std::chrono::steady_clock::duration timeout,
                                                        DovecotAuthRequest request);

}  // namespace tern
