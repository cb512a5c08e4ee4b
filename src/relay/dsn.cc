#include "relay/dsn.h"

#include <algorithm>

namespace tern {
namespace {

constexpr size_t kFoldAt = 78;  // RFC 5322 2.1.1: lines SHOULD be at most 78 characters

// Printable ASCII and spaces only: anything else (CR, LF, NUL, 8-bit) is '?'.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out += (c >= 32 && c <= 126) ? c : (c == '\t' ? ' ' : '?');
  return out;
}

// "Name: value" folded at spaces so that lines stay within 78 characters
// where the value allows it (a long word stays whole: lines may reach 998).
std::string field(std::string_view name, std::string_view value) {
  std::string v = printable(value);
  std::string out(name);
  out += ':';
  size_t line_len = out.size();
  size_t pos = 0;
  bool first = true;
  while (pos < v.size()) {
    size_t sp = v.find(' ', pos);
    std::string_view word =
        std::string_view(v).substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
    pos = sp == std::string::npos ? v.size() : sp + 1;
    if (word.empty()) continue;
    if (!first && line_len + 1 + word.size() > kFoldAt) {
      out += "\r\n";
      line_len = 0;
    }
    out += ' ';
    out += word;
    line_len += 1 + word.size();
    first = false;
  }
  out += "\r\n";
  return out;
}

// `text` (one logical line) as CRLF lines of at most 78 characters where
// its words allow, continuation lines indented by four spaces.
std::string wrapped(std::string_view text) {
  std::string out;
  size_t line_len = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t sp = text.find(' ', pos);
    std::string_view word =
        text.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
    pos = sp == std::string_view::npos ? text.size() : sp + 1;
    if (word.empty()) continue;
    if (line_len > 0 && line_len + 1 + word.size() > kFoldAt) {
      out += "\r\n    ";
      line_len = 4;
    } else if (line_len > 0) {
      out += ' ';
      ++line_len;
    }
    out += word;
    line_len += word.size();
  }
  return out + "\r\n";
}

bool any_action(const DsnReport& r, DsnAction a) {
  return std::any_of(r.rcpts.begin(), r.rcpts.end(),
                     [a](const DsnRecipient& x) { return x.action == a; });
}

std::string subject(const DsnReport& r) {
  if (any_action(r, DsnAction::kFailed)) return "Undelivered Mail Returned to Sender";
  if (any_action(r, DsnAction::kDelayed)) return "Delayed Mail (still being retried)";
  return "Successful Mail Delivery Report";
}

std::string human_part(const DsnReport& r) {
  std::string t = "This is the mail system at host " + printable(r.reporting_mta) + ".\r\n\r\n";
  if (any_action(r, DsnAction::kFailed)) {
    t += "I'm sorry to have to inform you that your message could not\r\n"
         "be delivered to one or more recipients. It's attached below.\r\n\r\n";
  }
  if (any_action(r, DsnAction::kDelayed)) {
    t += "Your message could not be delivered yet to one or more recipients.\r\n"
         "It will be retried until the time shown for each recipient;\r\n"
         "you do not need to send it again.\r\n\r\n";
  }
  if (any_action(r, DsnAction::kDelivered) || any_action(r, DsnAction::kRelayed) ||
      any_action(r, DsnAction::kExpanded)) {
    t += "Your message was successfully delivered to the destinations below.\r\n\r\n";
  }
  for (const DsnRecipient& x : r.rcpts) {
    std::string line = "<" + printable(x.final_recipient) + ">: " + dsn_action_name(x.action);
    if (!x.diagnostic.empty()) {
      line += x.remote_mta.empty() ? ": " : ": host " + printable(x.remote_mta) + " said: ";
      line += printable(x.diagnostic);
    } else if (!x.reason.empty()) {
      line += ": " + printable(x.reason);
    }
    if (x.action == DsnAction::kDelayed && x.will_retry_until != 0)
      line += " (will retry until " + rfc5322_date(x.will_retry_until) + ")";
    t += wrapped(line);
  }
  if (r.full_too_large)
    t += "\r\nThe message was too large to return in full; its header follows.\r\n";
  return t;
}

std::string status_part(const DsnReport& r) {
  std::string s = field("Reporting-MTA", "dns; " + r.reporting_mta);
  if (!r.queue_id.empty()) s += field("X-Tern-Queue-ID", r.queue_id);
  if (!r.envid.empty()) s += field("Original-Envelope-Id", r.envid);
  s += field("Arrival-Date", rfc5322_date(r.arrival));
  for (const DsnRecipient& x : r.rcpts) {
    s += "\r\n";
    if (!x.original_recipient.empty()) s += field("Original-Recipient", x.original_recipient);
    s += field("Final-Recipient", "rfc822; " + x.final_recipient);
    s += field("Action", dsn_action_name(x.action));
    s += field("Status", x.status);
    if (!x.remote_mta.empty()) s += field("Remote-MTA", "dns; " + x.remote_mta);
    if (!x.diagnostic.empty()) s += field("Diagnostic-Code", "smtp; " + x.diagnostic);
    if (x.last_attempt != 0) s += field("Last-Attempt-Date", rfc5322_date(x.last_attempt));
    if (x.will_retry_until != 0) s += field("Will-Retry-Until", rfc5322_date(x.will_retry_until));
  }
  return s;
}

}  // namespace

const char* dsn_action_name(DsnAction a) {
  switch (a) {
    case DsnAction::kFailed:
      return "failed";
    case DsnAction::kDelayed:
      return "delayed";
    case DsnAction::kDelivered:
      return "delivered";
    case DsnAction::kRelayed:
      return "relayed";
    case DsnAction::kExpanded:
      return "expanded";
  }
  return "failed";
}

std::string dsn_status(DsnAction a, const Reply& reply) {
  if (!reply.enhanced.empty()) return reply.enhanced;
  if (reply.code >= 200 && reply.code < 600) return std::to_string(reply.code / 100) + ".0.0";
  switch (a) {
    case DsnAction::kFailed:
      return "5.0.0";
    case DsnAction::kDelayed:
      return "4.0.0";
    default:
      return "2.0.0";
  }
}

std::string_view header_section(std::string_view content) {
  if (content.starts_with("\r\n")) return content.substr(0, 0);
  size_t end = content.find("\r\n\r\n");
  return end == std::string_view::npos ? content : content.substr(0, end + 2);
}

DsnReturn choose_return(bool want_full, bool binary, uint64_t size, uint64_t max_full) {
  return want_full && !binary && size <= max_full ? DsnReturn::kFull : DsnReturn::kHeaders;
}

std::string build_dsn(const DsnReport& r) {
  std::string boundary = "=_tern_dsn_" + printable(r.message_id);
  std::replace_if(
      boundary.begin(), boundary.end(),
      [](char c) {
        return !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 c == '=' || c == '_' || c == '.' || c == '-');
      },
      '.');
  boundary.resize(std::min<size_t>(boundary.size(), 60));
  while (r.original.find(boundary) != std::string_view::npos) boundary += '_';  // RFC 2046 5.1.1

  std::string m;
  m += field("From", "Mail Delivery System <MAILER-DAEMON@" + r.reporting_mta + ">");
  m += "To: <" + printable(r.sender) + ">\r\n";
  m += field("Subject", subject(r));
  m += field("Date", rfc5322_date(r.date));
  m += field("Message-ID", "<" + r.message_id + ">");
  m += "Auto-Submitted: auto-replied\r\n";  // RFC 3834 5
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n";
  m += "\tboundary=\"" + boundary + "\"\r\n";
  m += "\r\nThis is a MIME-encapsulated message.\r\n";

  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Description: Notification\r\n";
  m += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  m += human_part(r);

  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Description: Delivery report\r\n";
  m += "Content-Type: message/delivery-status\r\n\r\n";
  m += status_part(r);

  m += "\r\n--" + boundary + "\r\n";
  if (r.returned == DsnReturn::kFull) {
    m += "Content-Description: Undelivered Message\r\n";
    m += "Content-Type: message/rfc822\r\n\r\n";
  } else {
    m += "Content-Description: Undelivered Message Headers\r\n";
    m += "Content-Type: text/rfc822-headers\r\n\r\n";
  }
  m.append(r.original);
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

}  // namespace tern
