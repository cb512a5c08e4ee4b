// Delivery Status Notifications: the report a sender gets when a message
// failed, is delayed, or (when asked) was delivered. RFC 3464 format:
//
//   multipart/report; report-type=delivery-status   (RFC 6522)
//     text/plain                 what happened, for a person
//     message/delivery-status    the same for a program (RFC 3464 2)
//     text/rfc822-headers        the original's header (RET=HDRS, default)
//       or message/rfc822        the whole original (RET=FULL, if small enough)
//
// Whether a recipient's outcome is reported at all follows RFC 3461 4.1
// (NOTIFY) and is decided by the caller (relay/plan.h); this file only
// writes reports. Never sent for the null sender: that is the caller's rule
// too.
//
// Pure functions; no I/O, no clock (the date is a parameter). Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/received.h"  // rfc5322_date
#include "tern/reply.h"

namespace tern {

// RFC 3464 2.3.3.
enum class DsnAction { kFailed, kDelayed, kDelivered, kRelayed, kExpanded };
const char* dsn_action_name(DsnAction a);  // "failed", "delayed", ...

struct DsnRecipient {
  std::string original_recipient;  // ORCPT "addr-type;address"; "" omits Original-Recipient
  std::string final_recipient;     // the address as queued: "local@domain"
  DsnAction action = DsnAction::kFailed;
  std::string status;            // RFC 3463 "5.1.1"; see dsn_status()
  std::string remote_mta;        // host name; "" omits Remote-MTA
  std::string diagnostic;        // the remote SMTP reply; "" omits Diagnostic-Code
  std::string reason;            // for the person: our own words when there is no reply
  int64_t last_attempt = 0;      // unix seconds; 0 omits Last-Attempt-Date
  int64_t will_retry_until = 0;  // delayed: unix seconds; 0 omits Will-Retry-Until
};

enum class DsnReturn {
  kHeaders,  // text/rfc822-headers
  kFull,     // message/rfc822
};

struct DsnReport {
  std::string reporting_mta;  // our host name (Reporting-MTA, From: MAILER-DAEMON@...)
  std::string queue_id;       // of the original, as X-Tern-Queue-ID
  std::string envid;          // ENVID; "" omits Original-Envelope-Id
  int64_t arrival = 0;        // Arrival-Date: when the original was queued
  std::string sender;         // the original envelope sender: the report goes there (To:)
  std::vector<DsnRecipient> rcpts;
  // The original content (CRLF lines): its header section for kHeaders,
  // the whole message for kFull. See returned_part().
  std::string_view original;
  DsnReturn returned = DsnReturn::kHeaders;
  bool full_too_large = false;  // RET=FULL was asked but only the headers come back
  int64_t date = 0;             // Date: of the report (unix seconds)
  std::string message_id;       // Message-ID of the report, without angle brackets
};

// The whole report message, CRLF line ends, ready to queue from "<>".
// Text that came from outside (replies, host names, ENVID, ORCPT) is made
// printable ASCII ('?' for anything else) and folded, so it can neither
// break a header line nor the report's structure; the MIME boundary is
// chosen so that it does not occur in `original`.
std::string build_dsn(const DsnReport& r);

// The status code a recipient's entry shows (RFC 3464 2.3.4): the reply's
// enhanced code when it has one, else "X.0.0" from the reply's class, else
// from the action (failed 5.0.0, delayed 4.0.0, others 2.0.0).
std::string dsn_status(DsnAction a, const Reply& reply);

// The header section of an RFC 5322 message: up to and including the CRLF
// of its last header line, without the empty line after it. All of
// `content` if it has no empty line.
std::string_view header_section(std::string_view content);

// What to return of an original of `size` octets (RFC 3461 4.3): the whole
// message only for RET=FULL (`want_full`), when it is at most `max_full`
// octets and not binary (BINARYMIME cannot travel inside a report).
DsnReturn choose_return(bool want_full, bool binary, uint64_t size, uint64_t max_full);

}  // namespace tern
