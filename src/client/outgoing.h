// Outgoing: a message made ready for the engine: the envelope with what
// must be known before MAIL FROM (SIZE, BODY=8BITMIME, SMTPUTF8; RFC 1870,
// 6152, 6531), and the bytes to send. Made from a tern::Message (envelope
// from its headers, Bcc never in the bytes) or from an envelope and raw
// bytes.
//
// Pure functions; thread-safe. No I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/client_session.h"
#include "tern/client.h"
#include "tern/message.h"

namespace tern {

struct Outgoing {
  OutboundMessage envelope;
  std::string body;                     // before dot-stuffing, any line ends
  std::vector<std::string> recipients;  // as given, for results when nothing is sent
  // Set when the message cannot be sent as it is (kMessage): no From, no
  // recipient, an address that does not parse.
  std::optional<SmtpError> error;
};

Outgoing make_outgoing(const Message& message);
Outgoing make_outgoing(const SendEnvelope& envelope, std::string raw);

}  // namespace tern
