// Exit statuses of `tern send` and `tern sendmail` (sysexits.h values, as
// sendmail, msmtp and mailx use them), and how send results map to them.
//
// The one distinction every caller needs: 75 means "try again later, the
// message was not sent"; the permanent codes mean retrying the same thing
// will fail again. Pure; thread-compatible.
#pragma once

#include "tern/client.h"

namespace tern::sendcli {

enum ExitCode : int {
  kExitOk = 0,            // every message went to every recipient
  kExitUsage = 64,        // EX_USAGE: bad command line
  kExitDataErr = 65,      // EX_DATAERR: the message or an address is unusable
  kExitNoInput = 66,      // EX_NOINPUT: an input file cannot be read
  kExitUnavailable = 69,  // EX_UNAVAILABLE: the server refused permanently (5xx), TLS refused
  kExitTempFail = 75,     // EX_TEMPFAIL: temporary (4xx, no connection, timeout)
  kExitNoPerm = 77,       // EX_NOPERM: AUTH failed (wrong credentials)
  kExitConfig = 78,       // EX_CONFIG: bad client.toml, environment or server config
};

// The status for a failure: 75 whenever error.temporary; otherwise by kind
// (kMessage 65, kAuth 77, everything else 69).
int exit_code(const SmtpError& error);

// The status for one message: 0 when ok(); the error's status when nothing
// was sent; when some recipients were refused, 69 if any refusal was
// permanent, else 75.
int exit_code(const SendResult& result);

// Combines the statuses of several messages: a permanent failure outranks
// a temporary one (retrying the batch would not fix it), which outranks
// success. Between two permanent codes the first is kept.
int worse(int a, int b);

}  // namespace tern::sendcli
