#include "core/received.h"

#include <cctype>
#include <ctime>
#include <string_view>
#include <utility>
#include <vector>

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

// RFC 5322 3.2.3 atext plus '.', as a dot-atom allows.
bool dot_atom(const std::string& s) {
  if (s.empty() || s.front() == '.' || s.back() == '.' || s.find("..") != std::string::npos)
    return false;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '.') continue;
    if (std::string_view("!#$%&'*+-/=?^_`{|}~").find(char(c)) == std::string_view::npos)
      return false;
  }
  return true;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s.substr(0, 255)) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c >= 0x20 && c != 0x7f) ? char(c) : '?';
  }
  return out + '"';
}

// Comment text (ctext): no parentheses, backslashes or controls.
std::string comment_text(const std::string& s) {
  std::string out;
  for (unsigned char c : s.substr(0, 255)) {
    if (c == '(' || c == ')' || c == '\\' || c < 0x20 || c == 0x7f)
      out += '_';
    else
      out += char(c);
  }
  return out;
}

}  // namespace

std::string build_received_spf(const ReceivedSpfInfo& info) {
  // The comment's wording is pyspf's / policyd-spf's.
  std::string who = info.identity == "helo" ? info.helo : info.envelope_from;
  if (who.empty()) who = "postmaster@" + info.helo;
  const std::string& r = info.result;
  std::string c;
  if (r == "pass")
    c = "domain of " + who + " designates " + info.client_ip + " as permitted sender";
  else if (r == "fail")
    c = "domain of " + who + " does not designate " + info.client_ip + " as permitted sender";
  else if (r == "softfail")
    c = "domain of transitioning " + who + " does not designate " + info.client_ip +
        " as permitted sender";
  else if (r == "neutral")
    c = info.client_ip + " is neither permitted nor denied by domain of " + who;
  else if (r == "none")
    c = "domain of " + who + " does not designate permitted sender hosts";
  else
    c = "error in processing during lookup of " + who +
        (info.problem.empty() ? "" : ": " + info.problem);
  std::string h = "Received-SPF: " + r + " (" + comment_text(info.receiver + ": " + c) + ")";
  std::vector<std::pair<std::string, std::string>> kv = {{"client-ip", info.client_ip},
                                                         {"envelope-from", info.envelope_from},
                                                         {"helo", info.helo},
                                                         {"receiver", info.receiver},
                                                         {"identity", info.identity}};
  if (!info.mechanism.empty()) kv.emplace_back("mechanism", info.mechanism);
  if (!info.problem.empty()) kv.emplace_back("problem", info.problem);
  size_t line_start = 0;
  for (size_t i = 0; i < kv.size(); ++i) {
    const auto& [k, v] = kv[i];
    std::string pair = k + "=" + (dot_atom(v) ? v : quoted(v)) + (i + 1 < kv.size() ? ";" : "");
    if (h.size() - line_start + 1 + pair.size() > 76) {
      h += "\r\n\t";
      line_start = h.size() - 1;
    } else {
      h += ' ';
    }
    h += pair;
  }
  return h + "\r\n";
}

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
