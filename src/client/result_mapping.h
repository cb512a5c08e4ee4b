// The engine's results (core/client_session.h: Failure, MessageResult) as
// the public client API reports them (tern/client.h: SmtpError,
// SendResult). One place decides which Kind a failure is, so the blocking
// client, the awaitable one and the C API all say the same thing.
//
// Pure functions; thread-safe. No I/O.
#pragma once

#include <string>
#include <vector>

#include "core/client_session.h"
#include "tern/client.h"

namespace tern {

// "REQUIRETLS support required" (RFC 8689 5).
inline constexpr char kRequireTlsEnhanced[] = "5.7.30";

// Failure -> SmtpError:
//   cause kReply       kAuth in the auth phase, kTls for STARTTLS, else kRefused
//   cause kLocal       kMessage (code 0: no server spoke; enhanced and text are
//                      ours), but kTls for 5.7.30 (REQUIRETLS, RFC 8689 5)
//   cause kProtocol    kProtocol
//   cause kConnection  kTimeout when a deadline passed, else kConnect
//   cause kTls         kTls
//   cause kPolicy      kAuth in the auth phase (no mechanism, cleartext), kTls
//                      for STARTTLS, else kConnect (an unusable EHLO name)
// temporary is !permanent: 4xx, connection, timeouts, TLS and protocol
// errors may go away; 5xx and local refusals of the message do not.
SmtpError to_smtp_error(const Failure& failure);

// MessageResult -> SendResult: per recipient in envelope order, the
// message-wide error when nothing was delivered, and the final reply.
SendResult to_send_result(const MessageResult& result);

// A SendResult for a message that never reached the server: `error` for
// the message and each of `recipients`.
SendResult failed_result(const SmtpError& error, const std::vector<std::string>& recipients);

// An error of ours, before or outside any SMTP reply.
SmtpError local_error(SmtpError::Kind kind, std::string phase, std::string text, bool temporary);

}  // namespace tern
