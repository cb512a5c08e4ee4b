// Turning a ready-made message (sendmail's standard input, a .eml file, an
// mbox entry) into what goes to SMTP: the envelope and the final bytes.
//
// The envelope sender is, first found: the sender given on the command
// line (sendmail -f, tern send -r), the message's Sender or From, the
// configured `from`, login@domain. The recipients are the command line's
// (sendmail) plus, with -t or for batches, the To, Cc and Bcc addresses.
// Addresses without "@" get "@domain". The bytes lose Bcc and Return-Path
// and gain From, Date and Message-ID when missing (raw_message.h).
//
// Pure: the clock, the login name and the randomness come in as Identity.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sendcli/sendmail_args.h"
#include "tern/client.h"

namespace tern::sendcli {

// Who is sending and when, from the outside world.
struct Identity {
  std::string login;   // the user's login name
  std::string from;    // the configured `from` mailbox ("Name <a@b>"), or ""
  std::string domain;  // for addresses without "@"
  int64_t now = 0;     // unix seconds, for Date
  std::string unique;  // random hex, for Message-ID
};

struct Prepared {
  SendEnvelope envelope;
  std::string message;  // the bytes to send
  int exit_code = 0;    // 0, or the sysexits status of `error`
  std::string error;    // why the message cannot be sent
};

// sendmail: `input` is standard input as read (see ends_input).
Prepared prepare_sendmail(const SendmailArgs& args, std::string_view input, const Identity& id);

// A message of a batch or mbox: recipients from its headers only.
// `sender` is tern send -r's address when given.
Prepared prepare_ready(std::string_view message, const std::optional<std::string>& sender,
                       const Identity& id);

// True if `line` (with its line end) ends sendmail's input: a single "."
// (RFC 5321 4.1.1.4 style), unless -i/-oi was given.
bool ends_input(std::string_view line, bool ignore_dots);

// The From field value for a generated From: "Name <addr>" (the name as
// RFC 2047 encoded words when not ASCII), or "addr" without a name. May
// hold folds (CRLF + space).
std::string from_field_value(std::string_view name, std::string_view address);

}  // namespace tern::sendcli
