// UserDb: the users who may AUTH, in <data_dir>/users, one per line:
//   address SP argon2id-hash          (libsodium crypto_pwhash_str format)
// Addresses are stored lower-cased. The file is replaced atomically
// (write temp, fsync, rename, fsync dir) on every change.
//
// Thread safety: const methods may be called concurrently; reload() and the
// mutators need external exclusion against each other.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tern {

class UserDb {
 public:
  explicit UserDb(std::string path) : path_(std::move(path)) {}

  // (Re)reads the file; a missing file is an empty db. '#' starts a comment
  // line; blank lines are ignored. A malformed line is a Permanent error
  // "PATH:LINE: problem", an unreadable file a Transient one; on either the
  // users loaded before stay in effect.
  Status load();
  // Re-reads if the file changed since the last load (inode, mtime, size);
  // cheap. A file that failed to parse is not re-read until it changes.
  Status reload_if_changed();

  // `address` is matched case-insensitively (it is lower-cased first).
  bool exists(const std::string& address) const;
  // Constant-time argon2id verification. Slow (tens of ms) by design:
  // call it off the event loop. An unknown address costs the same time as
  // a wrong password, so timing does not reveal which users exist.
  bool verify(const std::string& address, const std::string& password) const;
  // Addresses, sorted.
  std::vector<std::string> list() const;

  // The mutators validate the address (normalize_user_address), refuse an
  // empty password, and save the file before changing the loaded state:
  // on error nothing changed. Permanent errors: invalid input, user exists
  // (add) or is absent (set_password, remove); Transient: I/O.
  // REQUIRES: the directory of the file exists.
  Status add(const std::string& address, const std::string& password);           // error if exists
  Status set_password(const std::string& address, const std::string& password);  // error if absent
  Status remove(const std::string& address);                                     // error if absent

 private:
  Status save(const std::map<std::string, std::string>& users);
  void stamp(long long ino, long long mtime_ns, long long size);
  std::string path_;
  std::map<std::string, std::string> users_;  // address -> hash
  long long ino_ = -1;
  long long mtime_ns_ = -1;
  long long size_ = -1;
};

// Checks a user address loosely (exactly one '@' with something on both
// sides; no spaces, control characters or DEL; at most 320 octets) and
// stores it lower-cased (ASCII) in *out. Permanent error otherwise.
Status normalize_user_address(std::string_view address, std::string* out);

}  // namespace tern
