// Message::render: the header fields, then the MIME structure described in
// include/tern/message.h.
#include "core/received.h"  // rfc5322_date
#include "mime/entity.h"
#include "mime/header.h"
#include "tern/message.h"

namespace tern {

std::string Message::render_headers() const {
  std::string out;
  const auto field = [&](std::string_view name, auto&& fill) {
    mime::FieldWriter w(name);
    fill(w);
    out += w.finish();
  };
  const auto mailboxes = [&](std::string_view name, const std::vector<Mailbox>& list) {
    if (!list.empty()) field(name, [&](mime::FieldWriter& w) { mime::add_mailboxes(w, list); });
  };
  field("Date", [&](mime::FieldWriter& w) { w.add(rfc5322_date(date_)); });
  mailboxes("From", {*from_});
  mailboxes("Reply-To", reply_to_);
  if (to_.empty() && cc_.empty()) {
    field("To", [](mime::FieldWriter& w) { w.add("undisclosed-recipients:;"); });
  }
  mailboxes("To", to_);
  mailboxes("Cc", cc_);
  if (subject_)
    field("Subject", [&](mime::FieldWriter& w) { mime::add_unstructured(w, *subject_); });
  field("Message-ID", [&](mime::FieldWriter& w) { w.add(message_id()); });
  if (!unsubscribe_.empty()) {
    field("List-Unsubscribe", [&](mime::FieldWriter& w) {
      for (size_t i = 0; i < unsubscribe_.size(); ++i)
        w.add("<" + unsubscribe_[i] + ">" + (i + 1 < unsubscribe_.size() ? "," : ""));
    });
  }
  if (one_click_) out += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
  if (tls_optional_) out += "TLS-Required: No\r\n";  // RFC 8689 3
  // Not a structured binding: clang before 16 cannot capture one (P1091).
  for (const auto& header : headers_)
    field(header.first, [&](mime::FieldWriter& w) { mime::add_unstructured(w, header.second); });
  out += "MIME-Version: 1.0\r\n";
  return out;
}

MessageStatus Message::render(std::string* out) const {
  if (!from_) return {MessageError::kNoFrom, "the message has no From"};

  // Boundaries: "=_" cannot occur in quoted-printable or base64 output
  // (RFC 2045 6.7: "=" starts an escape), so collisions need literal text.
  std::string base = "=_tern_";
  constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 8; i < token_.size(); ++i) {
    base += kHex[token_[i] >> 4];
    base += kHex[token_[i] & 15];
  }
  base += '_';

  std::vector<mime::Entity> body;  // the alternatives, best last
  if (text_) body.push_back(mime::text_entity("plain", *text_));
  if (html_) {
    mime::Entity html = mime::text_entity("html", *html_);
    if (!images_.empty()) {
      std::vector<mime::Entity> related{std::move(html)};
      for (const Attachment& a : images_)
        related.push_back(
            mime::file_entity(a.mime_type, a.data, "inline", a.filename, a.content_id));
      html = mime::multipart_entity("related", related, base, "text/html");
    }
    body.push_back(std::move(html));
  }

  // Files: inline images when there is no HTML to show them, attachments.
  std::vector<mime::Entity> files;
  if (!html_) {
    for (const Attachment& a : images_)
      files.push_back(mime::file_entity(a.mime_type, a.data, "inline", a.filename, a.content_id));
  }
  for (const Attachment& a : attachments_)
    files.push_back(mime::file_entity(a.mime_type, a.data, "attachment", a.filename, ""));

  const bool has_body = !body.empty();
  mime::Entity main;
  if (body.size() == 2)
    main = mime::multipart_entity("alternative", body, base);
  else if (body.size() == 1)
    main = std::move(body.front());
  else if (files.empty())
    main = mime::text_entity("plain", "");

  // Any file makes the message multipart/mixed, even alone: clients then
  // list it as an attachment instead of showing it as the message.
  mime::Entity top;
  if (files.empty()) {
    top = std::move(main);
  } else {
    std::vector<mime::Entity> mixed;
    if (has_body) mixed.push_back(std::move(main));
    for (mime::Entity& f : files) mixed.push_back(std::move(f));
    top = mime::multipart_entity("mixed", mixed, base);
  }

  std::string msg = render_headers() + top.fields + "\r\n" + top.body;
  if (msg.size() < 2 || msg.compare(msg.size() - 2, 2, "\r\n") != 0) msg += "\r\n";
  *out = std::move(msg);
  return {};
}

}  // namespace tern
