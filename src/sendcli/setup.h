// The outside world of `tern send` and `tern sendmail`, gathered in one
// place: the environment, client.toml files, the tern server config (for
// the default target), the password command, the login name, the host
// name, the clock and randomness. Everything else in src/sendcli is pure.
//
// Thread-compatible; blocking file and process I/O.
#pragma once

#include <string>

#include "sendcli/client_config.h"
#include "sendcli/prepare.h"

namespace tern::sendcli {

struct Sources {
  ClientSettings flags;       // from the command line
  std::string client_config;  // --client-config; "" for client_config_path()
  // --config: the tern server config whose smtp listener is the default
  // target; "" for $TERN_CONFIG, else /etc/tern/tern.toml if it exists,
  // else the embedded default (127.0.0.1:2525). Read only when no layer
  // sets a host.
  std::string server_config;
  // --require-tls: the merged settings go through require_verified_tls.
  bool require_tls = false;
};

// Merges flags, environment, the user's client.toml and
// /etc/tern/client.toml (a missing file is fine unless named explicitly)
// and runs password_command. Throws ClientConfigError.
Target load_target(const Sources& sources);

// The login name, the clock and a fresh Message-ID token, with the
// target's from and domain.
Identity make_identity(const Target& target);

// Reads a whole file; false with *error set ("PATH: No such file ...").
bool read_file(const std::string& path, std::string* out, std::string* error);

}  // namespace tern::sendcli
