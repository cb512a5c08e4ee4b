// Message: setters, validation and the envelope. Rendering is in
// message_render.cc, the outside world (clock, randomness, files) in
// message_io.cc. See include/tern/message.h for the contract.
#include "tern/message.h"

#include <algorithm>

#include "mime/header.h"
#include "mime/mime_types.h"
#include "mime/text.h"
#include "tern/address.h"

namespace tern {
namespace {

constexpr size_t kMaxId = 250;  // Message-ID and Content-ID, ours

// Input quoted in an error message: control characters shown as "?" (the
// caller may log it) and at most 200 octets.
std::string shown(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 200))
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out + (s.size() > 200 ? "...\"" : "\"");
}

MessageStatus bad_address(std::string_view what) {
  return {MessageError::kBadAddress, "not a mailbox: " + shown(what)};
}

bool id_char(char c) { return mime::is_atext(c) || c == '.'; }

// RFC 5322 3.6.4 msg-id without the brackets: id-left "@" id-right, where
// id-right may be a domain literal. Printable ASCII only, one "@".
bool valid_msg_id(std::string_view id) {
  const size_t at = id.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == id.size() || id.size() > kMaxId)
    return false;
  const std::string_view left = id.substr(0, at), right = id.substr(at + 1);
  if (!std::all_of(left.begin(), left.end(), id_char)) return false;
  if (right.front() == '[' && right.back() == ']' && right.size() > 2) {
    for (unsigned char c : right.substr(1, right.size() - 2))
      if (c < 33 || c > 126 || c == '[' || c == ']' || c == '\\') return false;
    return true;
  }
  return std::all_of(right.begin(), right.end(), id_char);
}

bool valid_content_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxId) return false;
  for (char c : id) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view(".-_+@$").find(c) == std::string_view::npos) return false;
  }
  return true;
}

// RFC 2045 5.1 token.
bool mime_token(std::string_view t) {
  if (t.empty()) return false;
  for (unsigned char c : t)
    if (c <= 0x20 || c >= 0x7f ||
        std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos)
      return false;
  return true;
}

// The media type to use: `given` checked and lower-cased, or the one for
// `filename`'s extension when `given` is empty.
std::optional<std::string> media_type(std::string_view given, std::string_view filename) {
  if (given.empty()) return std::string(mime::mime_type_for(filename));
  const size_t slash = given.find('/');
  if (slash == std::string_view::npos || given.size() > 127 ||
      !mime_token(given.substr(0, slash)) || !mime_token(given.substr(slash + 1)))
    return std::nullopt;
  return mime::ascii_lower(given);
}

bool reserved_header(std::string_view name) {
  static constexpr std::string_view kReserved[] = {
      "date", "from", "to", "cc", "bcc", "reply-to", "subject", "message-id", "mime-version"};
  const std::string n = mime::ascii_lower(name);
  if (n.rfind("content-", 0) == 0) return true;
  return std::find(std::begin(kReserved), std::end(kReserved), n) != std::end(kReserved);
}

}  // namespace

Message::Message(int64_t date, const Token& token) : date_(date), token_(token) {}

MessageStatus Message::add_mailbox(std::vector<Mailbox>* list, const Mailbox& m) {
  if (mime::has_line_break_or_nul(m.name))
    return {MessageError::kBadName, "CR, LF or NUL in a display name"};
  if (!parse_mailbox(m.address, /*allow_utf8=*/true)) return bad_address(m.address);
  list->push_back(m);
  return {};
}

MessageStatus Message::add_list(std::vector<Mailbox>* list, std::string_view s) {
  std::optional<std::vector<Mailbox>> parsed = Mailbox::parse_list(s);
  if (!parsed) return bad_address(s);
  std::vector<Mailbox> checked;  // all or nothing
  for (const Mailbox& m : *parsed)
    if (MessageStatus st = add_mailbox(&checked, m); !st.ok()) return st;
  list->insert(list->end(), checked.begin(), checked.end());
  return {};
}

MessageStatus Message::set_from(const Mailbox& m) {
  std::vector<Mailbox> one;
  MessageStatus st = add_mailbox(&one, m);
  if (st.ok()) from_ = std::move(one.front());
  return st;
}

MessageStatus Message::set_from(std::string_view mailbox) {
  std::optional<Mailbox> m = Mailbox::parse(mailbox);
  if (!m) return bad_address(mailbox);
  return set_from(*m);
}

MessageStatus Message::set_envelope_from(std::string_view address) {
  if (!address.empty() && !parse_mailbox(address, /*allow_utf8=*/true)) return bad_address(address);
  envelope_from_ = std::string(address);
  return {};
}

MessageStatus Message::add_to(const Mailbox& m) { return add_mailbox(&to_, m); }
MessageStatus Message::add_to(std::string_view list) { return add_list(&to_, list); }
MessageStatus Message::add_cc(const Mailbox& m) { return add_mailbox(&cc_, m); }
MessageStatus Message::add_cc(std::string_view list) { return add_list(&cc_, list); }
MessageStatus Message::add_bcc(const Mailbox& m) { return add_mailbox(&bcc_, m); }
MessageStatus Message::add_bcc(std::string_view list) { return add_list(&bcc_, list); }
MessageStatus Message::add_reply_to(const Mailbox& m) { return add_mailbox(&reply_to_, m); }
MessageStatus Message::add_reply_to(std::string_view list) { return add_list(&reply_to_, list); }

MessageStatus Message::set_subject(std::string_view subject) {
  if (mime::has_line_break_or_nul(subject))
    return {MessageError::kBadHeaderValue, "CR, LF or NUL in the subject"};
  subject_ = std::string(subject);
  return {};
}

void Message::set_date(int64_t unix_seconds) { date_ = unix_seconds; }

MessageStatus Message::set_message_id(std::string_view id) {
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
  if (!valid_msg_id(id)) return {MessageError::kBadMessageId, "not a msg-id: " + shown(id)};
  message_id_ = "<" + std::string(id) + ">";
  return {};
}

MessageStatus Message::add_header(std::string_view name, std::string_view value) {
  if (!mime::valid_field_name(name))
    return {MessageError::kBadHeaderName, "not a header name: " + shown(name)};
  if (reserved_header(name))
    return {MessageError::kReservedHeader, std::string(name) + " is written by the builder"};
  if (mime::has_line_break_or_nul(value))
    return {MessageError::kBadHeaderValue, "CR, LF or NUL in the value of " + std::string(name)};
  headers_.emplace_back(name, value);
  return {};
}

MessageStatus Message::set_list_unsubscribe(const std::vector<std::string>& uris, bool one_click) {
  const auto scheme = [](std::string_view uri, std::string_view prefix) {
    return uri.size() > prefix.size() && mime::ascii_lower(uri.substr(0, prefix.size())) == prefix;
  };
  bool has_https = false;
  for (const std::string& uri : uris) {
    // RFC 2369 2: each URI in angle brackets, so none may hold them; no
    // whitespace either (folding would change the URI).
    const bool printable = std::all_of(uri.begin(), uri.end(), [](char c) {
      return c > 0x20 && c < 0x7f && c != '<' && c != '>';
    });
    if (!printable || uri.size() > 900 ||
        !(scheme(uri, "https:") || scheme(uri, "http:") || scheme(uri, "mailto:"))) {
      return {MessageError::kBadHeaderValue, "not an https:, http: or mailto: URI: " + shown(uri)};
    }
    has_https = has_https || scheme(uri, "https:");
  }
  if (one_click && !uris.empty() && !has_https) {
    return {MessageError::kBadHeaderValue, "one-click unsubscribe needs an https: URI (RFC 8058)"};
  }
  unsubscribe_ = uris;
  one_click_ = one_click && !uris.empty();
  return {};
}

void Message::set_require_tls(bool on) { require_tls_ = on; }
void Message::set_tls_optional(bool on) { tls_optional_ = on; }

void Message::set_text(std::string_view body) { text_ = std::string(body); }
void Message::set_html(std::string_view body) { html_ = std::string(body); }

MessageStatus Message::attach(std::string_view filename, std::string_view data,
                              std::string_view mime_type) {
  std::optional<std::string> type = media_type(mime_type, filename);
  if (!type) return {MessageError::kBadMimeType, "not a media type: " + shown(mime_type)};
  attachments_.push_back({std::string(filename), std::move(*type), std::string(data), ""});
  return {};
}

MessageStatus Message::inline_image(std::string_view content_id, std::string_view data,
                                    std::string_view mime_type, std::string_view filename) {
  if (content_id.size() >= 2 && content_id.front() == '<' && content_id.back() == '>')
    content_id = content_id.substr(1, content_id.size() - 2);
  if (!valid_content_id(content_id))
    return {MessageError::kBadContentId, "not a content-id: " + shown(content_id)};
  for (const Attachment& a : images_)
    if (a.content_id == content_id)
      return {MessageError::kDuplicateContentId, "content-id used twice: " + a.content_id};
  std::optional<std::string> type = media_type(mime_type, filename);
  if (!type) return {MessageError::kBadMimeType, "not a media type: " + shown(mime_type)};
  images_.push_back(
      {std::string(filename), std::move(*type), std::string(data), std::string(content_id)});
  return {};
}

std::string Message::message_id() const {
  if (!message_id_.empty()) return message_id_;
  constexpr char kHex[] = "0123456789abcdef";
  std::string id = "<";
  for (uint8_t b : token_) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  std::string domain = "localhost";
  if (from_) {
    if (std::optional<Address> a = parse_mailbox(from_->address, true); a && !a->domain.empty())
      domain = a->domain;
  }
  return id + "@" + domain + ">";
}

std::string Message::envelope_from() const {
  if (envelope_from_) return *envelope_from_;
  return from_ ? from_->address : "";
}

std::vector<std::string> Message::recipients() const {
  std::vector<std::string> out;
  std::vector<std::pair<std::string, std::string>> seen;  // (local, lower-case domain)
  for (const auto* list : {&to_, &cc_, &bcc_}) {
    for (const Mailbox& m : *list) {
      const std::optional<Address> a = parse_mailbox(m.address, true);
      std::pair<std::string, std::string> key{a ? a->local : m.address, a ? a->domain_lower() : ""};
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
      seen.push_back(std::move(key));
      out.push_back(m.address);
    }
  }
  return out;
}

bool Message::is_8bit() const {
  if (!mime::is_ascii(message_id())) return true;
  if (from_ && !mime::is_ascii(from_->address)) return true;
  for (const auto* list : {&to_, &cc_, &reply_to_})
    for (const Mailbox& m : *list)
      if (!mime::is_ascii(m.address)) return true;
  return false;
}

bool Message::needs_smtputf8() const {
  if (is_8bit() || !mime::is_ascii(envelope_from())) return true;
  for (const Mailbox& m : bcc_)
    if (!mime::is_ascii(m.address)) return true;
  return false;
}

}  // namespace tern
