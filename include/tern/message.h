// Message: a builder for Internet messages (RFC 5322) with MIME bodies
// (RFC 2045, 2046), as `tern send` and the client library submit them.
//
// Set the parts, then render() the bytes to hand to SMTP DATA. The envelope
// comes from the same object: envelope_from(), recipients() (To, Cc and Bcc)
// and whether the transaction needs SMTPUTF8 or 8BITMIME.
//
// The body structure follows from what was set:
//   text only                 text/plain
//   html only                 text/html
//   text and html             multipart/alternative (text, html)   RFC 2046 5.1.4
//   inline images + html      the html becomes multipart/related
//                             (html, images...)                    RFC 2387
//   attachments               multipart/mixed (body, attachments)  RFC 2046 5.1.3
//   inline images, no html    they go into multipart/mixed as inline parts
//   nothing at all            an empty text/plain
//
// What render() guarantees:
//   - CRLF line breaks only, and no line over 998 octets (RFC 5322 2.1.1);
//     header fields are folded at whitespace to 76 octets where a word
//     allows it (RFC 5322 2.2.3; 76 rather than 78 for RFC 2047 2).
//   - Bodies are 7-bit: 7bit text when ASCII with short lines, otherwise
//     quoted-printable or base64, whichever is shorter; attachments and
//     images always base64 (so their bytes survive exactly). Text is sent as
//     charset=utf-8 with its line breaks turned into CRLF. (A message that
//     is one 7bit text part gets a final CRLF if its text has none.)
//   - Non-ASCII display names, subjects and custom header values become
//     RFC 2047 encoded words; non-ASCII attachment names use RFC 2231.
//     The only raw UTF-8 the output can hold is in addresses (RFC 6532),
//     and then needs_smtputf8() and is_8bit() are true.
//   - Bcc is never written. Without To and Cc, "To: undisclosed-recipients:;"
//     is written instead, as many filters expect a To field.
//   - Multipart boundaries occur nowhere in the parts they separate.
//
// Errors are values: each setter that can refuse its input returns a
// MessageStatus and leaves the message unchanged when it does. Nothing
// throws except std::bad_alloc.
//
// Value type; thread-compatible (const methods may be called concurrently).
// Only the default constructor (clock, randomness) and the *_file methods
// (file system) touch the outside world.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tern/mailbox.h"

namespace tern {

// Why a Message refused a value or could not be rendered.
enum class MessageError {
  kOk = 0,
  // An address that is not an RFC 5321 mailbox (RFC 6531 UTF-8 allowed), or
  // a list or mailbox string that does not parse (see Mailbox::parse).
  kBadAddress,
  // A display name holding CR, LF or NUL.
  kBadName,
  // A custom header name that is empty, longer than 76 octets or not
  // printable ASCII without ":" (RFC 5322 3.6.8).
  kBadHeaderName,
  // A custom header the builder writes itself: Date, From, To, Cc, Bcc,
  // Reply-To, Subject, Message-ID, MIME-Version or any Content-*.
  kReservedHeader,
  // A header value or subject holding CR, LF or NUL (header injection).
  kBadHeaderValue,
  // A Message-ID that is not "left@right" of printable ASCII without
  // whitespace, "<", ">" or a second "@", at most 250 octets.
  kBadMessageId,
  // A Content-ID that is empty, longer than 250 octets, or holds anything
  // but ASCII letters, digits and ".-_+@$" (so that "cid:" + id needs no
  // URL escaping in the HTML).
  kBadContentId,
  // A second inline image with the same Content-ID.
  kDuplicateContentId,
  // A media type that is not "type/subtype" of RFC 2045 tokens.
  kBadMimeType,
  // A file that could not be read (the detail says which and why).
  kFileError,
  // render() without a From (RFC 5322 3.6 requires one).
  kNoFrom,
};

class [[nodiscard]] MessageStatus {
 public:
  MessageStatus() = default;  // ok
  MessageStatus(MessageError code, std::string detail) : code_(code), detail_(std::move(detail)) {}

  bool ok() const { return code_ == MessageError::kOk; }
  MessageError code() const { return code_; }
  // For people: what was refused and why, e.g. "not a mailbox: \"a b@c\"".
  // Quoted input has its control characters shown as "?", so the text is
  // safe to log.
  const std::string& message() const { return detail_; }

 private:
  MessageError code_ = MessageError::kOk;
  std::string detail_;
};

class Message {
 public:
  // 128 random bits behind the generated Message-ID and the boundaries.
  using Token = std::array<uint8_t, 16>;

  // A message dated now (the system clock), with a fresh random token
  // (getrandom(2)).
  Message();
  // A message with the given date (unix seconds) and token: nothing outside
  // is read, so render() is fully determined by the calls made. For tests,
  // and for callers that inject their own clock and randomness.
  Message(int64_t date, const Token& token);

  // ---- Originator and recipients (RFC 5322 3.6.2, 3.6.3).

  // Sets From (replacing any earlier one). The string form takes one
  // mailbox as Mailbox::parse does: "Name <a@b>".
  MessageStatus set_from(const Mailbox& m);
  MessageStatus set_from(std::string_view mailbox);
  // Sets the envelope sender (MAIL FROM) when it differs from From, e.g.
  // for `sendmail -f`. "" is the null reverse-path "<>" (RFC 5321 4.5.5).
  MessageStatus set_envelope_from(std::string_view address);

  // Add recipients, in order. The string forms take an address list as
  // Mailbox::parse_list does ("a@x, Name <b@y>, Team: c@z;"); on error
  // nothing is added.
  MessageStatus add_to(const Mailbox& m);
  MessageStatus add_to(std::string_view list);
  MessageStatus add_cc(const Mailbox& m);
  MessageStatus add_cc(std::string_view list);
  // Bcc recipients get the message but appear in no header.
  MessageStatus add_bcc(const Mailbox& m);
  MessageStatus add_bcc(std::string_view list);
  MessageStatus add_reply_to(const Mailbox& m);
  MessageStatus add_reply_to(std::string_view list);

  // ---- Other header fields.

  // Subject in UTF-8 (any text but CR, LF and NUL). Leading and trailing
  // whitespace is not kept. Without a call, no Subject field is written.
  MessageStatus set_subject(std::string_view subject);
  // The Date field (RFC 5322 3.3), written in UTC.
  void set_date(int64_t unix_seconds);
  // Replaces the generated Message-ID ("<hex token@domain of From>"):
  // "left@right" or "<left@right>" (RFC 5322 3.6.4).
  MessageStatus set_message_id(std::string_view id);
  // Adds a header field written after the standard ones, in call order.
  // The value is unstructured text (RFC 5322 3.2.5), trimmed like the
  // subject, folded at whitespace, with non-ASCII words as encoded words;
  // so for fields with structure (addresses, msg-ids) give ASCII. Refuses
  // reserved names (see kReservedHeader) and CR, LF or NUL in the value.
  MessageStatus add_header(std::string_view name, std::string_view value);

  // Asks receivers to show an unsubscribe link, as Gmail and Yahoo require
  // of bulk senders. Writes "List-Unsubscribe: <uri>, <uri>" (RFC 2369 3.2)
  // with the URIs in order, and with `one_click` also
  // "List-Unsubscribe-Post: List-Unsubscribe=One-Click" (RFC 8058 3.1:
  // the receiver then POSTs to the https URI instead of opening it). Each
  // URI is https:, http: or mailto: (any case) of printable ASCII without
  // whitespace, "<" or ">", at most 900 octets; `one_click` needs an https
  // URI among them (RFC 8058 3.1). Replaces an earlier call; an empty list
  // removes both fields. Both fields must be covered by the DKIM signature
  // (RFC 8058 4): tern's signer signs and oversigns them by default.
  MessageStatus set_list_unsubscribe(const std::vector<std::string>& uris, bool one_click = false);

  // ---- Transport security (RFC 8689).

  // REQUIRETLS: the message must travel over TLS on every hop. An envelope
  // option, nothing is written into the message: the client library sends
  // "MAIL FROM:<...> REQUIRETLS" (RFC 8689 4.2.1), and only over TLS whose
  // certificate it verified, to a server that offers REQUIRETLS. Otherwise
  // nothing is sent and send() fails with SmtpError kind kTls and enhanced
  // "5.7.30" (RFC 8689 5). Each relay onward must in turn authenticate the
  // next hop by DANE or MTA-STS and find REQUIRETLS there, or return the
  // message (5.7.30). Off by default.
  void set_require_tls(bool on);
  bool require_tls() const { return require_tls_; }
  // Writes "TLS-Required: No" (RFC 8689 3): the sender asks relays to
  // deliver even where the recipient's domain publishes a DANE or MTA-STS
  // policy that cannot be met, for mail whose delivery matters more than
  // its confidentiality (an alert about a broken TLS setup). Receivers
  // ignore the field on a message sent with REQUIRETLS (RFC 8689 4.1), so
  // do not set both. Off by default; `false` removes the field.
  void set_tls_optional(bool on);
  bool tls_optional() const { return tls_optional_; }

  // ---- Body.

  // The plain text and HTML bodies, UTF-8 (not checked), any line breaks.
  void set_text(std::string_view body);
  void set_html(std::string_view body);

  // Adds an attachment from memory. `filename` (UTF-8, may be "") names it
  // for the recipient; `mime_type` "" means by the file name's extension
  // (application/octet-stream when unknown).
  MessageStatus attach(std::string_view filename, std::string_view data,
                       std::string_view mime_type = "");
  // Reads `path` now and attaches its bytes under its base name.
  MessageStatus attach_file(const std::string& path, std::string_view mime_type = "");

  // Adds an image the HTML shows with <img src="cid:CONTENT_ID">.
  // `content_id` is given without angle brackets (they are stripped if
  // present); `mime_type` "" means by the file name's extension.
  MessageStatus inline_image(std::string_view content_id, std::string_view data,
                             std::string_view mime_type, std::string_view filename = "");
  // Reads `path` now and adds it as inline_image(content_id, bytes, type, base name).
  MessageStatus inline_image_file(std::string_view content_id, const std::string& path,
                                  std::string_view mime_type = "");

  // ---- Output.

  // The message as it goes into SMTP DATA (before dot-stuffing), ending with
  // CRLF. Fails only without a From (kNoFrom); *out is untouched then.
  // Rendering twice gives the same bytes.
  MessageStatus render(std::string* out) const;

  // The Message-ID written: the one set, or "<32 hex digits@domain of
  // From>" ("@localhost" while there is no From).
  std::string message_id() const;
  // MAIL FROM: the envelope sender set, else From's address, else "".
  std::string envelope_from() const;
  // RCPT TO: the To, Cc and Bcc addresses in that order, without repeats
  // (same local part and, ignoring ASCII case, same domain; the first
  // spelling is kept).
  std::vector<std::string> recipients() const;
  // True if an envelope address or a written header holds UTF-8: the
  // transaction needs SMTPUTF8 (RFC 6531).
  bool needs_smtputf8() const;
  // True if the rendered bytes hold octets above 127 (MAIL FROM needs
  // BODY=8BITMIME, RFC 6152). Bodies are always 7-bit here, so this happens
  // only with UTF-8 addresses in headers, which also need SMTPUTF8.
  bool is_8bit() const;

 private:
  struct Attachment {
    std::string filename;    // UTF-8, may be empty
    std::string mime_type;   // "type/subtype", lower case
    std::string data;        // raw bytes
    std::string content_id;  // inline images only, without brackets
  };

  MessageStatus add_mailbox(std::vector<Mailbox>* list, const Mailbox& m);
  MessageStatus add_list(std::vector<Mailbox>* list, std::string_view s);
  std::string render_headers() const;

  std::optional<Mailbox> from_;
  std::optional<std::string> envelope_from_;
  std::vector<Mailbox> to_, cc_, bcc_, reply_to_;
  std::optional<std::string> subject_;
  int64_t date_ = 0;
  std::string message_id_;  // "<...>", or "" to generate
  std::vector<std::pair<std::string, std::string>> headers_;
  std::vector<std::string> unsubscribe_;  // List-Unsubscribe URIs, without <>
  bool one_click_ = false;                // List-Unsubscribe-Post
  bool require_tls_ = false;              // REQUIRETLS on MAIL FROM (RFC 8689)
  bool tls_optional_ = false;             // TLS-Required: No (RFC 8689 3)
  std::optional<std::string> text_, html_;
  std::vector<Attachment> attachments_;
  std::vector<Attachment> images_;
  Token token_{};
};

}  // namespace tern
