#include "sendcli/prepare.h"

#include "core/received.h"  // rfc5322_date
#include "mime/header.h"
#include "sendcli/addresses.h"
#include "sendcli/exit_codes.h"
#include "sendcli/raw_message.h"

namespace tern::sendcli {
namespace {

Prepared failure(int code, std::string error) {
  Prepared p;
  p.exit_code = code;
  p.error = std::move(error);
  return p;
}

// The single address of `s` ("root", "<a@b>", "Name <a@b>"), qualified.
std::optional<std::string> one_address(std::string_view s, std::string_view domain) {
  const auto list = parse_qualified_list(s, domain);
  if (!list || list->size() != 1) return std::nullopt;
  return list->front().address;
}

struct Request {
  std::string_view message;
  std::optional<std::string> sender;     // given on the command line; "" is <>
  std::optional<std::string> full_name;  // sendmail -F
  std::vector<std::string> recipients;   // command-line lists
  bool header_recipients = false;        // -t, or a batch
  bool sendmail = false;                 // for the error when there are no recipients
};

Prepared prepare(const Request& rq, const Identity& id) {
  const HeaderBlock h = parse_headers(rq.message);
  const std::optional<Mailbox> configured =
      id.from.empty() ? std::nullopt : Mailbox::parse(id.from);
  const std::string login_address = id.login + "@" + id.domain;
  std::string error;

  std::string sender;
  if (rq.sender) {
    if (!rq.sender->empty()) {
      const auto a = one_address(*rq.sender, id.domain);
      if (!a) return failure(kExitUsage, "not an address: \"" + *rq.sender + "\"");
      sender = *a;
    }
  } else {
    const auto from_headers = sender_from_headers(h, id.domain, &error);
    if (!from_headers) return failure(kExitDataErr, error);
    sender = !from_headers->empty() ? *from_headers
             : configured           ? configured->address
                                    : login_address;
  }

  std::vector<std::string> rcpts;
  for (const std::string& arg : rq.recipients) {
    const auto list = parse_qualified_list(arg, id.domain);
    if (!list) return failure(kExitUsage, "not an address: \"" + arg + "\"");
    std::vector<std::string> addresses;
    for (const Mailbox& m : *list) addresses.push_back(m.address);
    add_unique(&rcpts, addresses);
  }
  if (rq.header_recipients) {
    const auto more = recipients_from_headers(h, id.domain, &error);
    if (!more) return failure(kExitDataErr, error);
    add_unique(&rcpts, *more);
  }
  if (rcpts.empty()) {
    if (rq.sendmail && !rq.header_recipients) {
      return failure(kExitUsage, "no recipients given (name them, or use -t)");
    }
    return failure(kExitDataErr, "no recipients: the message has no To, Cc or Bcc address");
  }

  Completion c;
  if (!has_field(h, "From")) {
    const std::string name = rq.full_name ? *rq.full_name : configured ? configured->name : "";
    const std::string address = rq.sender && !sender.empty() ? sender
                                : configured                 ? configured->address
                                                             : login_address;
    c.from = from_field_value(name, address);
  }
  c.date = rfc5322_date(id.now);
  c.message_id = "<" + id.unique + "@" + id.domain + ">";

  Prepared p;
  p.envelope.from = sender;
  p.envelope.to = std::move(rcpts);
  p.message = complete_message(rq.message, c);
  return p;
}

}  // namespace

Prepared prepare_sendmail(const SendmailArgs& args, std::string_view input, const Identity& id) {
  Request rq;
  rq.message = strip_postmark(input);  // mbox-minded callers may pipe one in
  rq.sender = args.sender;
  rq.full_name = args.full_name;
  rq.recipients = args.recipients;
  rq.header_recipients = args.extract_recipients;
  rq.sendmail = true;
  return prepare(rq, id);
}

Prepared prepare_ready(std::string_view message, const std::optional<std::string>& sender,
                       const Identity& id) {
  Request rq;
  rq.message = strip_postmark(message);
  rq.sender = sender;
  rq.header_recipients = true;
  return prepare(rq, id);
}

bool ends_input(std::string_view line, bool ignore_dots) {
  return !ignore_dots && (line == ".\n" || line == ".\r\n" || line == ".");
}

std::string from_field_value(std::string_view name, std::string_view address) {
  mime::FieldWriter w("From");
  std::string clean(name);
  for (char& ch : clean)  // -F comes from a command line: no header injection
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  const std::string trimmed = mime::collapse_whitespace(clean);
  if (trimmed.empty()) {
    w.add(address);
  } else {
    mime::add_phrase(w, trimmed);
    w.add("<" + std::string(address) + ">");
  }
  std::string field = w.finish();  // "From: ...\r\n"
  field.erase(0, field.find(':') + 1);
  if (!field.empty() && field.front() == ' ') field.erase(0, 1);
  if (field.ends_with("\r\n")) field.resize(field.size() - 2);
  return field;
}

}  // namespace tern::sendcli
