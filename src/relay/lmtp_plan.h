// The LMTP side of local delivery, as pure decisions (no I/O, thread-safe):
// what the message looks like to the LMTP server, what its per-recipient
// replies (RFC 2033 4.2) mean for the queue, and whether a failed attempt
// on a reused connection deserves a fresh one. lmtp_courier.h executes them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/client_session.h"
#include "queue/store.h"
#include "relay/courier.h"

namespace tern {

// MAIL FROM the envelope's sender (its BODY= and SMTPUTF8 as received), one
// RCPT per target mailbox; no SIZE (the queued file is not scanned: the
// LMTP server is ours) and no DSN parameters (the reports are ours to
// send: LMTP delivery is final delivery). Targets that do not parse as
// addresses are left out; `ok` says which made it, in order.
OutboundMessage lmtp_message(const Envelope& env, const std::vector<std::string>& targets,
                             std::vector<bool>* ok);

// One result per recipient of `r`, with `server` ("unix:/run/dovecot/lmtp")
// as the remote MTA:
//   delivered                       kDelivered, the server's reply (250 ...)
//   a 4xx to RCPT or after the body kTransient, the server's reply
//   a 5xx to RCPT or after the body kPermanent, the server's reply (the DSN
//                                   carries it)
//   anything before MAIL (connect, greeting, LHLO), the connection lost,
//   a timeout, a protocol error     kTransient, 451 4.4.x saying what
//                                   happened: the mailbox server is ours,
//                                   so trouble talking to it is never the
//                                   recipient's fault.
std::vector<RcptResult> lmtp_results(const MessageResult& r, const std::string& server);

// A connection taken from the idle pool may have been closed by the server
// meanwhile: true when `r` failed that way before the body went out
// (nothing can have been delivered), so a new connection may try again.
bool stale_connection(const MessageResult& r);

// The recipient's result once its Maildir part (`local`) and its LMTP
// targets' results are known: the worst wins (transient, then permanent,
// then delivered); `local` when `targets` is empty.
RcptResult merge_results(RcptResult local, const std::vector<RcptResult>& targets);

}  // namespace tern
