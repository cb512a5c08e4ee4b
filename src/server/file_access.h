// File access checks of `tern serve`, at start and at each SIGHUP reload,
// run as the user the server runs as (after privileges.h's switch): the
// data dir, the config file, the TLS certificate and every private key.
// A file the server could not read or write later (at the next reload, at
// the next delivery) is an error now, naming the file and the fix.
//
// Private keys (the TLS key, <data_dir>/srs.key, <data_dir>/dkim/*/*.key)
// must also not be writable by group or others: someone who can replace a
// key can take over the server's identity, so tern refuses it (as OpenSSH
// refuses such host keys). Keys are only ever named in messages, never
// logged.
//
// The decision functions (permits, explain_denied, key_mode_problem) are
// pure, for unit tests; check_files does the I/O.
//
// Thread safety: check_files reads the file system only; call it from one
// thread at a time per data dir.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/status.h"

namespace tern {

// The owner and mode of a file, and the names to show for them.
struct FileFacts {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0;    // permission bits and type (st_mode)
  std::string owner;  // "root", or the number
  std::string group;
};

// Who wants access.
struct Principal {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
};

enum Need : unsigned { kRead = 4, kWrite = 2, kSearch = 1 };  // bits, as in a mode

// The classic Unix rule (owner class, else group class, else others; root
// may do anything): true when `who` has every bit of `need` on the file.
// ACLs are not considered.
bool permits(const FileFacts& f, const Principal& who, unsigned need);

// "TLS private key /etc/tern/key.pem: user tern cannot read it (owner
// root:root, mode 0600); fix: FIX". `what` names the role of the file.
std::string explain_denied(std::string_view what, const std::string& path, const FileFacts& f,
                           const Principal& who, unsigned need, std::string_view fix);

// Empty, or why the private key at `path` with `mode` is refused (group- or
// world-writable) with the chmod that fixes it.
std::string key_mode_problem(std::string_view what, const std::string& path, mode_t mode);

// The fix for anything in the data dir: the whole tree is the server's.
std::string data_dir_fix(const Config& config, const std::string& user);

// Checks, as the running process (access(2) answers; stat explains):
// data_dir and its entries two levels down (directories need read, write
// and search; files read), the config file (`config_path`, when not
// empty: SIGHUP re-reads it), tls_certificate and tls_private_key (or the
// self-signed pair in data_dir/tls), and every private key's mode. Returns
// the first problem. A data dir that does not exist yet is no problem (the
// server makes it).
Status check_files(const Config& config, const std::string& config_path);

}  // namespace tern
