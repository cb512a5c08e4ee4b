// Privileges: which user `tern serve` (and the admin subcommands that write
// in the data dir) run as, and the one-way switch to it (docs/security.md).
//
// The rule (plan_run_as):
//   started as root   run_as unset: switch to "tern"; run_as = "NAME":
//                     switch to NAME; run_as = "root": stay root (the only
//                     way to keep root, said on purpose). The embedded
//                     default config (no --config: loopback ports, a trial
//                     set-up in ./tern-data) stays as whoever started it.
//   started as a user run_as unset or naming that same user: stay; any
//                     other run_as is an error (only root can switch).
//
// The switch (drop_privileges) is setgroups (the user's groups, as
// initgroups(3) finds them, so membership in e.g. Debian's ssl-cert group
// works), setresgid, setresuid, then a check that it took: real, effective
// and saved ids all the target's, the groups as planned, and setuid(0) /
// setgid(0) refused. `tern serve` switches after binding its listeners and
// before it makes any thread, opens the queue or reads a key, so everything
// it reads at start it reads as it will at SIGHUP.
//
// Thread safety: plan_run_as is pure; the others change or read the
// process's credentials and belong at start-up, on the main thread.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/status.h"

namespace tern {

// A user account, as the password database has it.
struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;  // primary group
};

// What plan_run_as decided.
struct RunAsPlan {
  bool change = false;  // switch to `account`; false: stay as we are
  Account account;      // the target (change) or the current user
  std::string warning;  // for the log, e.g. why we stay root; may be empty
};

// Finds an account by name; nullopt when there is none.
using AccountLookup = std::function<std::optional<Account>(std::string_view name)>;

// The rule above. `run_as`: the config's value ("" when unset); `embedded`:
// the config is the embedded default; `self`: who we run as now (euid).
// Returns an error message (naming the fix) in *error instead of a plan when
// the rule forbids it or the user does not exist.
std::optional<RunAsPlan> plan_run_as(std::string_view run_as, bool embedded, const Account& self,
                                     const AccountLookup& lookup, std::string* error);

// The password database's answer (getpwnam_r / getpwuid_r).
std::optional<Account> lookup_account(std::string_view name);
Account current_account();  // the effective user; name "uid N" if unknown

// plan_run_as for `config`, from the running process's identity.
std::optional<RunAsPlan> plan_for(const Config& config, std::string* error);

// As root, before switching: creates config.data_dir if missing (mode
// 0700) and gives it to `to`, so that a fresh install needs no chown. An
// existing data dir is left as it is (check_files says what is wrong).
Status prepare_data_dir(const Config& config, const Account& to);

// Switches to `to` for good and verifies it (above). An error means the
// process must not go on.
Status drop_privileges(const Account& to);

// After the server made its threads: every thread of the process (as
// /proc/self/task/*/status shows them) has `to`'s uids and gids. Ok when
// /proc is not mounted (nothing to read).
Status verify_threads(const Account& to);

// For admin subcommands that write in the data dir (`tern user`, `tern dkim
// keygen`): plans, and when that means switching (run as root), prepares the
// data dir and switches, so that every file they make is the server's.
Status become_run_as(const Config& config);

}  // namespace tern
