// MIME entities. See entity.h for the contracts.
#include "mime/entity.h"

#include <algorithm>

#include "mime/header.h"
#include "mime/text.h"
#include "mime/transfer_encoding.h"

namespace tern::mime {
namespace {

std::string transfer_encoding_field(TransferEncoding e) {
  FieldWriter w("Content-Transfer-Encoding");
  w.add(encoding_name(e));
  return w.finish();
}

bool occurs_in(std::string_view needle, const std::vector<Entity>& parts) {
  for (const Entity& p : parts)
    if (p.fields.find(needle) != std::string::npos || p.body.find(needle) != std::string::npos)
      return true;
  return false;
}

}  // namespace

Entity text_entity(std::string_view subtype, std::string_view text) {
  const std::string crlf = to_crlf(text);
  const TransferEncoding enc = choose_text_encoding(crlf);
  FieldWriter type("Content-Type");
  type.add("text/" + std::string(subtype));
  add_param(type, "charset", "utf-8");
  std::string body = encode_body(crlf, enc);
  // Quoted-printable text without a final line break ends with a soft one,
  // so that the CRLF that must follow (before a boundary or at the end of
  // the message) adds nothing to the text.
  if (enc == TransferEncoding::kQuotedPrintable && !body.empty() &&
      body.compare(body.size() - std::min<size_t>(2, body.size()), 2, "\r\n") != 0)
    body += "=\r\n";
  return {type.finish() + transfer_encoding_field(enc), std::move(body)};
}

Entity file_entity(std::string_view mime_type, std::string_view data, std::string_view disposition,
                   std::string_view filename, std::string_view content_id) {
  FieldWriter type("Content-Type");
  type.add(mime_type);
  if (!filename.empty()) add_param(type, "name", filename);
  FieldWriter disp("Content-Disposition");
  disp.add(disposition);
  if (!filename.empty()) add_param(disp, "filename", filename);
  std::string fields = type.finish() + disp.finish();
  if (!content_id.empty()) {
    FieldWriter id("Content-ID");
    id.add("<" + std::string(content_id) + ">");
    fields += id.finish();
  }
  fields += transfer_encoding_field(TransferEncoding::kBase64);
  return {std::move(fields), base64_lines(data)};
}

Entity multipart_entity(std::string_view subtype, const std::vector<Entity>& parts,
                        std::string_view base, std::string_view type) {
  std::string boundary;
  for (size_t n = 0;; ++n) {
    boundary = std::string(base) + std::to_string(n);
    if (!occurs_in(boundary, parts)) break;
  }
  FieldWriter w("Content-Type");
  w.add("multipart/" + std::string(subtype));
  if (!type.empty()) add_param(w, "type", type);
  add_param(w, "boundary", boundary);

  std::string body;
  for (const Entity& p : parts) {
    body += "--" + boundary + "\r\n";
    body += p.fields;
    body += "\r\n";
    body += p.body;
    body += "\r\n";  // belongs to the next delimiter (RFC 2046 5.1.1)
  }
  body += "--" + boundary + "--\r\n";
  return {w.finish(), std::move(body)};
}

}  // namespace tern::mime
