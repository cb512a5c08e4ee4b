// The relay's settings from the config: the [relay] table, the hostname,
// the listeners on the relay port (which addresses are this machine's). The
// relay itself (relay/remote_courier.h) takes RelaySettings, not Config.
#pragma once

#include <asio.hpp>
#include <vector>

#include "config/config.h"
#include "relay/remote_courier.h"

namespace tern {

// Builds the settings. Throws std::runtime_error with a clear message when
// the password file cannot be read (or is empty) or the CA file cannot be
// used. `interface_addresses` are this machine's addresses, for a wildcard
// listener on the relay port (see local_addresses()).
RelaySettings relay_settings(const Config& config,
                             const std::vector<asio::ip::address>& interface_addresses);

}  // namespace tern
