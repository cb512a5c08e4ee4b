// Client: sends mail to an SMTP server from code, blocking. For a
// coroutine (Asio-awaitable) interface see tern/async_client.h; both share
// the same engine, options and results.
//
//   tern::ClientOptions opt;
//   opt.host = "smtp.example.org";          // port: 587 for kStartTls
//   opt.user = "me@example.org";
//   opt.password = "...";
//   tern::Client client(opt);
//   tern::Message m;
//   m.set_from("Me <me@example.org>");
//   m.add_to("you@example.net");
//   m.set_subject("Hello");
//   m.set_text("Hi!");
//   tern::SendResult r = client.send(m);
//   if (!r.ok()) std::cerr << r.describe() << "\n";
//
// One Client holds at most one connection, opened by the first send() (or
// connect()) and reused by the next ones (RSET between messages); it is
// reopened when the server has closed it. PIPELINING is used when offered.
// Every step has a timeout. Errors are values (SmtpError), never thrown.
// A message that fails on a reused connection because the server had
// closed it meanwhile (nothing accepted yet) is sent once more on a new one.
//
// Not thread-safe: use one Client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/message.h"

namespace tern {

enum class Security {
  kNone,      // plain text; no STARTTLS even if offered
  kStartTls,  // STARTTLS required (RFC 3207); default port 587
  kTls,       // implicit TLS (RFC 8314); default port 465
};

struct ClientOptions {
  std::string host = "localhost";
  uint16_t port = 0;  // 0: 587 for kStartTls, 465 for kTls, 25 for kNone
  Security security = Security::kStartTls;
  // Check the server's certificate against the system store (or
  // SSL_CERT_FILE / SSL_CERT_DIR when set, and ca_file) and its name
  // against `host`. Turning this off is an explicit opt-out.
  bool verify_certificate = true;
  std::string ca_file;         // extra trusted CAs (PEM), besides the defaults
  std::string helo_name;       // "": this machine's host name
  std::string user;            // AUTH when set
  std::string password;        // PLAIN or LOGIN
  std::string oauth_token;     // XOAUTH2 (RFC 7628-style bearer token), instead of password
  std::string auth_mechanism;  // "PLAIN", "LOGIN", "XOAUTH2"; "": the best offered
  // Never send credentials over a connection without TLS, unless this is set.
  bool allow_cleartext_auth = false;
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{300};  // each reply; RFC 5321 4.5.3.2
  std::chrono::seconds data_timeout{600};     // the reply after the message
  // Every line sent (sent = true) and received, without CRLF. AUTH secrets
  // are shown as "<redacted>", message content as "<N octets of message data>".
  std::function<void(bool sent, std::string_view line)> transcript;
};

// Why something was not sent.
struct SmtpError {
  enum class Kind {
    kConnect,   // could not connect, or the connection was lost
    kTimeout,   // the server did not answer in time
    kTls,       // TLS failed: not offered, handshake, or certificate not trusted
    kAuth,      // AUTH refused, or no usable mechanism
    kRefused,   // the server said no: see code/enhanced/text
    kProtocol,  // the server broke the protocol
    kMessage,   // the message or envelope itself is unusable (no recipients, bad address, too big)
  };
  Kind kind = Kind::kConnect;
  // "connect", "greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "body".
  std::string phase;
  int code = 0;  // the server's reply code, 0 when there was no reply
  // "5.1.1" (RFC 3463): the server's, or for a kMessage refused here our
  // own ("5.3.4" too big for the server's SIZE, "5.6.7" needs SMTPUTF8);
  // "" when none.
  std::string enhanced;
  std::string text;  // the server's text, or ours
  // Retrying later may help (4xx, connection, timeout); false for 5xx and
  // for a message that can never be sent as it is.
  bool temporary = false;
  // True for "REQUIRETLS support required" (enhanced "5.7.30", RFC 8689 5).
  // A REQUIRETLS message (Message::set_require_tls) that cannot go out as
  // the RFC asks (security kNone, verify_certificate off, or a server that
  // does not offer REQUIRETLS) is refused here before MAIL: kind kTls,
  // phase "mail", code 0 (no server said it), temporary false, nothing
  // sent. A server answering 5.7.30 itself gives kRefused with its code.
  bool requiretls_refused() const { return enhanced == "5.7.30"; }

  // One line: "rcpt: 550 5.1.1 No such user", "connect: connection refused".
  std::string describe() const;
};

struct RecipientStatus {
  std::string address;
  bool accepted = false;
  std::optional<SmtpError> error;  // set when not accepted
};

struct SendResult {
  // Set when nothing was sent (connection, AUTH, MAIL, every RCPT refused,
  // DATA refused...).
  std::optional<SmtpError> error;
  std::vector<RecipientStatus> recipients;  // in envelope order
  int code = 0;      // the reply to the end of data ("250 2.0.0 Ok: queued as X")
  std::string text;  // its text

  // Every recipient accepted.
  bool ok() const;
  size_t accepted() const;
  // A summary for people, listing refused recipients.
  std::string describe() const;
};

// Who a message goes to, when not taken from its headers.
struct SendEnvelope {
  std::string from;             // "" is the null sender <>
  std::vector<std::string> to;  // at least one
  // REQUIRETLS (RFC 8689), as Message::set_require_tls: sent only over
  // verified TLS to a server offering REQUIRETLS, else an error kTls
  // "5.7.30" and nothing sent.
  bool require_tls = false;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  // Ends an open connection politely, like close() (waiting for the reply
  // to QUIT at most command_timeout).
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  // A moved-from Client may only be destroyed or assigned to.
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  // Connects, greets, STARTTLS, AUTH. Optional: send() connects when needed.
  std::optional<SmtpError> connect();
  // Sends a built message; the envelope comes from it (envelope_from or
  // From; To, Cc and Bcc). Bcc is never in the bytes sent.
  SendResult send(const Message& message);
  // Sends raw RFC 5322 bytes (any line ends; dot-stuffing is done here).
  SendResult send(const SendEnvelope& envelope, std::string_view raw);
  // QUIT and close; the next send() connects again.
  void close();
  // The server's name and TLS, for logs: "TLSv1.3 TLS_AES_256_GCM_SHA384
  // (verified)", or "none".
  std::string tls_description() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern
