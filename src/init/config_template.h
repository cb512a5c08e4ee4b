// The config file `tern init` writes for a real deployment: listeners on
// 25, 587 and 465 of every address, one local domain, the data dir, the
// user to run as, TLS, SPF/DMARC checks and DKIM signing on, every line
// commented, and commented-out keys for what an administrator may want
// next (smarthost, trusted networks, DMARC reports, limits).
//
// No I/O: the text is a function of InitSettings, so a unit test parses
// it with the real loader (config/config.h), commented keys included.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace tern::init {

struct InitSettings {
  std::string domain;    // the local domain, lower-case, valid (REQUIRES)
  std::string hostname;  // this server's name (greeting, MX target), lower-case, valid
  std::string data_dir = "/var/lib/tern";
  std::string run_as = "tern";
  // Both set: the certificate and key to serve (e.g. certbot's
  // /etc/letsencrypt/live/<hostname>/). Both empty: a self-signed pair in
  // <data_dir>/tls/, with certbot's paths commented out.
  std::string tls_certificate;
  std::string tls_private_key;
  std::string dkim_key_path;  // the key tern init made or found, named in a comment
};

// The TOML text. Every active and every commented-out `key = value` line
// is one the loader accepts.
std::string render_config(const InitSettings& s);

// The line a file tern init may replace without --force starts with: a
// package's placeholder config says it is one by carrying this line.
inline constexpr std::string_view kReplaceableMarker = "# tern init may replace this file";

// The hostname to use when none is given: the system's host name when it is
// a name in the DNS sense (two labels or more, not "localhost..."), else
// "mail.<domain>" (what `tern check` suggests too). Lower-cased.
std::string choose_hostname(std::string_view system_name, std::string_view domain);

}  // namespace tern::init
