// Envelope: what SMTP says about a message besides its content
// (RFC 5321 2.3.1): the reverse-path, the forward-paths and their
// parameters, plus where the message came from. Stored with the message.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/params.h"

namespace tern {

struct Envelope {
  std::string id;  // queue id: [0-9A-Za-z], made by us, safe in file names
  MailArgs mail;
  std::vector<RcptArgs> rcpts;
  std::string client_ip;  // textual, no brackets
  std::string helo;
  std::string auth_user;    // empty if not authenticated
  std::string listener;     // "smtp", "submission", "submissions"
  int64_t received_at = 0;  // unix seconds
  // Why a milter quarantined the message (SMFIR_QUARANTINE), kept with it
  // for `tern queue quarantine`; empty otherwise. A released message keeps
  // it (its file is never rewritten).
  std::string quarantine_reason;
};

}  // namespace tern
