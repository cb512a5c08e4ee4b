// Directory: who lives here. Answers the server's recipient questions from
// the config (local domains), the user db and the aliases, re-reading the
// two files when they change (so `tern user add` takes effect at once).
//
// Thread-safe: lookups take a shared lock, reloads an exclusive one.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "auth/users.h"
#include "config/config.h"
#include "core/server_session.h"
#include "delivery/aliases.h"

namespace tern {

class Directory {
 public:
  explicit Directory(std::shared_ptr<const Config> config);

  // Loads users and aliases; errors are returned for the caller to log.
  Status load();
  // Re-reads users/aliases if their files changed; at most once a second.
  void refresh();
  void set_config(std::shared_ptr<const Config> config);
  std::shared_ptr<const Config> config() const;

  RcptVerdict check_rcpt(const Address& rcpt, const std::string& auth_user);
  bool mailbox_exists(const Address& addr);
  bool verify_password(const std::string& user, const std::string& password) const;
  bool is_local_domain(std::string_view domain) const;
  // True if `address` has its own mailbox (a user, postmaster, or any local
  // part under accept_any_local_part): a catch-all alias never takes it.
  bool is_mailbox(const std::string& address) const;
  // Snapshot for the delivery worker.
  std::shared_ptr<const Aliases> aliases() const;

 private:
  mutable std::shared_mutex mu_;
  std::shared_ptr<const Config> config_;
  UserDb users_;
  std::shared_ptr<Aliases> aliases_;
  std::string aliases_path_;
  long long last_refresh_ms_ = 0;
};

}  // namespace tern
