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
#include <vector>

#include "core/status.h"

namespace tern {

class UserDb {
 public:
  explicit UserDb(std::string path) : path_(std::move(path)) {}

  // (Re)reads the file; a missing file is an empty db.
  Status load();
  // Re-reads if the file changed since the last load (mtime/size); cheap.
  Status reload_if_changed();

  bool exists(const std::string& address) const;
  // Constant-time argon2id verification. Slow (tens of ms) by design:
  // call it off the event loop.
  bool verify(const std::string& address, const std::string& password) const;
  std::vector<std::string> list() const;

  Status add(const std::string& address, const std::string& password);     // error if exists
  Status set_password(const std::string& address, const std::string& password);  // error if absent
  Status remove(const std::string& address);                               // error if absent

 private:
  Status save();
  std::string path_;
  std::map<std::string, std::string> users_;  // address -> hash
  long long mtime_ns_ = -1;
  long long size_ = -1;
};

}  // namespace tern
