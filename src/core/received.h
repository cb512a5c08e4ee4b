// The Received: trace header a server prepends (RFC 5321 4.4), with the
// "with" protocol names of RFC 3848 / RFC 6531 (ESMTP, ESMTPS, ESMTPSA,
// UTF8SMTPS, ...). No I/O: the time comes in as a number.
#pragma once

#include <cstdint>
#include <string>

namespace tern {

struct ReceivedInfo {
  std::string helo;         // what the client said in EHLO/HELO
  std::string client_ip;    // "192.0.2.1" or "2001:db8::1"
  std::string by;           // our host name
  bool esmtp = true;        // EHLO (true) or HELO (false)
  bool utf8 = false;        // SMTPUTF8 used for this message
  std::string tls_version;  // empty without TLS
  std::string tls_cipher;
  std::string auth_user;  // empty without AUTH
  std::string id;         // queue id
  std::string for_rcpt;   // set only when the message has one recipient
  int64_t time = 0;       // unix seconds
};

// The full header field, folded at clause boundaries, ending with CRLF.
std::string build_received(const ReceivedInfo& info);

// What the Received-SPF field (RFC 7208 9.1) says.
struct ReceivedSpfInfo {
  std::string result;    // "pass", "fail", ... (spf_result_name)
  std::string receiver;  // our host name
  std::string client_ip;
  std::string envelope_from;  // MAIL FROM without brackets; "" for <>
  std::string helo;
  std::string identity;   // "mailfrom" or "helo"
  std::string mechanism;  // may be empty
  std::string problem;    // errors: why; may be empty
};

// "Received-SPF: RESULT (comment) client-ip=...; envelope-from=...; ...",
// folded, ending with CRLF. Values are dot-atoms or quoted strings.
std::string build_received_spf(const ReceivedSpfInfo& info);

// RFC 5322 3.3 date-time in UTC: "Mon, 23 Nov 2026 09:00:00 +0000".
std::string rfc5322_date(int64_t unix_seconds);

}  // namespace tern
