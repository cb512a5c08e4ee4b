// UserDb: the users who may AUTH, in <data_dir>/users, one per line:
//   address SP argon2id-hash          (libsodium crypto_pwhash_str format)
// Addresses are stored lower-cased. The file is replaced atomically
// (write temp, fsync, rename, fsync dir) on every change.
//
// Thread safety: const methods may be called concurrently; reload() and the
// mutators need external exclusion against each other.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "fs/file_env.h"

namespace tern {

class UserDb {
 public:
  explicit UserDb(std::string path);
  ~UserDb();
  UserDb(UserDb&&) noexcept;
  UserDb& operator=(UserDb&&) noexcept;

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
  // Remembers successful verifications for `ttl_seconds` (0, the default:
  // never), so a client that AUTHs on every connection pays for argon2 once
  // an hour rather than each time (64 MiB and tens of ms of CPU). Kept in
  // memory only, as HMAC-SHA-256 under a random per-process key of the
  // stored hash and the password: a changed password or a removed user
  // misses. Failures are never cached. `clock` gives monotonic seconds
  // (tests); the default is std::chrono::steady_clock.
  void set_verify_cache(int64_t ttl_seconds, std::function<int64_t()> clock = {});
  // argon2 verifications run so far (cache misses; for tests and metrics).
  uint64_t slow_verifications() const;
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
  // Where the mutators write (fs/file_env.h; null, the default: the real
  // file system). For tests that fail a write; must outlive the db.
  void set_file_env(FileEnv* env) { files_ = env; }

 private:
  Status save(const std::map<std::string, std::string>& users);
  void stamp(long long ino, long long mtime_ns, long long size);
  struct VerifyCache;
  std::string path_;
  std::map<std::string, std::string> users_;  // address -> hash
  std::unique_ptr<VerifyCache> cache_;        // never null
  long long ino_ = -1;
  long long mtime_ns_ = -1;
  long long size_ = -1;
  FileEnv* files_ = nullptr;
};

// Checks a user address loosely (exactly one '@' with something on both
// sides; no spaces, control characters or DEL; at most 320 octets) and
// stores it lower-cased (ASCII) in *out. Permanent error otherwise.
Status normalize_user_address(std::string_view address, std::string* out);

}  // namespace tern
