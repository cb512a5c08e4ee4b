#include "core/received.h"

#include <ctime>

namespace tern {

namespace {

// Text from the client goes into a comment or a token of our header: keep
// only printable ASCII without the characters that would end either.
std::string sanitize(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '\\' && c != ';')
      out += c;
    else if (c >= 0x80)
      out += c;  // UTF-8 in an SMTPUTF8 trail (RFC 6532)
    else
      out += '_';
  }
  return out.substr(0, 255);
}

}  // namespace

std::string rfc5322_date(int64_t unix_seconds) {
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string build_received(const ReceivedInfo& info) {
  std::string with = info.utf8 ? "UTF8SMTP" : (info.esmtp ? "ESMTP" : "SMTP");
  // RFC 3848: S for TLS, A for AUTH; "SMTP" with TLS/AUTH is still ESMTP-based.
  if (!info.tls_version.empty() || !info.auth_user.empty()) {
    if (with == "SMTP") with = "ESMTP";
    if (!info.tls_version.empty()) with += 'S';
    if (!info.auth_user.empty()) with += 'A';
  }
  std::string h = "Received: from " + sanitize(info.helo.empty() ? "unknown" : info.helo) + " ([" +
                  sanitize(info.client_ip) + "])\r\n";
  h += "\tby " + sanitize(info.by) + " (tern) with " + with + " id " + info.id + "\r\n";
  if (!info.tls_version.empty())
    h += "\t(version=" + sanitize(info.tls_version) + " cipher=" + sanitize(info.tls_cipher) +
         ")\r\n";
  if (!info.auth_user.empty()) h += "\t(authenticated user " + sanitize(info.auth_user) + ")\r\n";
  if (!info.for_rcpt.empty())
    h += "\tfor <" + sanitize(info.for_rcpt) + ">";
  else
    h.resize(h.size() - 2);  // the date follows the last clause
  h += "; " + rfc5322_date(info.time) + "\r\n";
  return h;
}

}  // namespace tern
