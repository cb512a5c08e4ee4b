// DKIM private key files where the server finds them (key_store.h):
// <data_dir>/dkim/<domain>/<selector>.key, PKCS#8 PEM, mode 0600, in
// directories of mode 0700. Written by `tern dkim keygen` and `tern init`.
//
// Thread safety: the functions touch only the paths they are given; call
// write_key_file for one path from one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tern::dkim {

// "rsa-202601": `type` ("rsa", "ed25519") and the month (UTC) of
// `unix_seconds`. A new month gives a new selector, so keys can be rotated
// without replacing a record that is still published.
std::string default_selector(std::string_view type, int64_t unix_seconds);

// <data_dir>/dkim/<domain>/<selector>.key.
// REQUIRES: domain and selector pass valid_domain (keys.h), so they are
// safe as path components.
std::string key_file_path(const std::string& data_dir, std::string_view domain,
                          std::string_view selector);

// Writes `pem` to key_file_path(): data_dir is created if missing (0700),
// then dkim/ and dkim/<domain>/ (0700). The key goes to a temporary file
// (mode 0600, synced), then is linked into place, which fails if a key of
// that selector exists, or with `replace` renamed over it. A crash leaves
// either no key or the whole key. An existing key is a Permanent error
// saying "... exists; use --force ...".
Status write_key_file(const std::string& data_dir, std::string_view domain,
                      std::string_view selector, std::string_view pem, bool replace);

}  // namespace tern::dkim
