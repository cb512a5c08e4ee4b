#include "server/privileges.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tern {
namespace {

constexpr std::string_view kDefaultUser = "tern";

std::optional<Account> from_passwd(const passwd* pw) {
  if (pw == nullptr) return std::nullopt;
  return Account{pw->pw_name, pw->pw_uid, pw->pw_gid};
}

std::string errno_text(int err) { return std::strerror(err); }

// The supplementary groups `to` gets: those initgroups(3) would set.
std::vector<gid_t> groups_of(const Account& to) {
  int n = 32;
  for (;;) {
    std::vector<gid_t> groups(static_cast<size_t>(n));
    int want = n;
    if (::getgrouplist(to.name.c_str(), to.gid, groups.data(), &want) >= 0) {
      groups.resize(static_cast<size_t>(want));
      std::sort(groups.begin(), groups.end());
      return groups;
    }
    n = std::max(want, n * 2);
  }
}

std::vector<gid_t> current_groups() {
  const int n = ::getgroups(0, nullptr);
  std::vector<gid_t> groups(static_cast<size_t>(std::max(n, 0)));
  if (n > 0 && ::getgroups(n, groups.data()) < 0) groups.clear();
  std::sort(groups.begin(), groups.end());
  return groups;
}

}  // namespace

std::optional<RunAsPlan> plan_run_as(std::string_view run_as, bool embedded, const Account& self,
                                     const AccountLookup& lookup, std::string* error) {
  RunAsPlan plan;
  plan.account = self;
  if (self.uid != 0) {
    // An ordinary user cannot switch; it runs as itself (ports above 1024,
    // or CAP_NET_BIND_SERVICE from the service manager).
    if (run_as.empty() || run_as == self.name) return plan;
    if (std::optional<Account> a = lookup(run_as); a && a->uid == self.uid) return plan;
    *error = fmt::format(
        "run_as = \"{}\", but tern was started as user {} (uid {}), and only root can switch "
        "users: start it as root or as {}, or remove run_as from the config",
        run_as, self.name, self.uid, run_as);
    return std::nullopt;
  }
  if (run_as == "root") {
    plan.warning = "running as root, as the config says (run_as = \"root\")";
    return plan;
  }
  if (run_as.empty() && embedded) {
    // The embedded default listens on loopback only and keeps its data in
    // ./tern-data, a trial set-up (`bash scripts/serve.sh`); a config file
    // is the way to a real server, and it drops root by default.
    plan.warning =
        "running as root with the embedded default config (loopback only); a config file "
        "makes tern drop to run_as (default \"tern\")";
    return plan;
  }
  const std::string_view name = run_as.empty() ? kDefaultUser : run_as;
  std::optional<Account> a = lookup(name);
  if (!a) {
    *error = fmt::format(
        "run_as user '{}' does not exist: create it (useradd --system --user-group "
        "--no-create-home --shell /usr/sbin/nologin {}), or set run_as in the config to an "
        "existing unprivileged user (run_as = \"root\" keeps root, not recommended)",
        name, name);
    return std::nullopt;
  }
  if (a->uid == 0) {
    *error = fmt::format(
        "run_as user '{}' has uid 0, which is root: name an unprivileged user, or say run_as = "
        "\"root\" to keep root on purpose",
        name);
    return std::nullopt;
  }
  plan.change = true;
  plan.account = *a;
  return plan;
}

std::optional<Account> lookup_account(std::string_view name) {
  const std::string n(name);
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwnam_r(n.c_str(), &pw, buf.data(), buf.size(), &found) != 0) return std::nullopt;
  return from_passwd(found);
}

Account current_account() {
  const uid_t uid = ::geteuid();
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr)
    return *from_passwd(found);
  return Account{fmt::format("uid {}", uid), uid, ::getegid()};
}

std::optional<RunAsPlan> plan_for(const Config& config, std::string* error) {
  return plan_run_as(config.run_as, config.source == "<embedded>", current_account(),
                     lookup_account, error);
}

Status prepare_data_dir(const Config& config, const Account& to) {
  const std::string& dir = config.data_dir;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Permanent(fmt::format("cannot create {}: {}", dir, ec.message()));
  if (::chown(dir.c_str(), to.uid, to.gid) != 0 || ::chmod(dir.c_str(), 0700) != 0) {
    return Status::Permanent(
        fmt::format("cannot give {} to user {}: {}", dir, to.name, errno_text(errno)));
  }
  return Status::Ok();
}

Status drop_privileges(const Account& to) {
  auto failed = [&](const char* what) {
    return Status::Permanent(
        fmt::format("cannot switch to user {}: {}: {}", to.name, what, errno_text(errno)));
  };
  // Groups first, while we still may: after setuid, setgroups is refused.
  if (::initgroups(to.name.c_str(), to.gid) != 0) return failed("initgroups");
  if (::setresgid(to.gid, to.gid, to.gid) != 0) return failed("setresgid");
  if (::setresuid(to.uid, to.uid, to.uid) != 0) return failed("setresuid");

  // Verify, as OpenSMTPD and Postfix do: a switch that half took (a
  // saved uid left at 0) would let an exploit switch back.
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (::getresuid(&ru, &eu, &su) != 0 || ru != to.uid || eu != to.uid || su != to.uid)
    return Status::Permanent(fmt::format("switch to user {} did not take (uids)", to.name));
  if (::getresgid(&rg, &eg, &sg) != 0 || rg != to.gid || eg != to.gid || sg != to.gid)
    return Status::Permanent(fmt::format("switch to user {} did not take (gids)", to.name));
  if (current_groups() != groups_of(to))
    return Status::Permanent(fmt::format("switch to user {} did not take (groups)", to.name));
  if (::setuid(0) == 0 || ::seteuid(0) == 0 || (to.gid != 0 && ::setgid(0) == 0))
    return Status::Permanent(fmt::format("switched to user {}, but root came back", to.name));
  return Status::Ok();
}

Status verify_threads(const Account& to) {
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream in(task.path() / "status");
    std::string line;
    while (std::getline(in, line)) {
      const bool uid = line.rfind("Uid:", 0) == 0;
      if (!uid && line.rfind("Gid:", 0) != 0) continue;
      std::istringstream ids(line.substr(4));
      unsigned long id = 0;
      int n = 0;
      for (; ids >> id; ++n) {
        if (id != (uid ? to.uid : to.gid)) {
          return Status::Permanent(fmt::format("thread {} still has {} {} after the switch to {}",
                                               task.path().filename().string(), uid ? "uid" : "gid",
                                               id, to.name));
        }
      }
      if (n != 4) return Status::Permanent("cannot read " + (task.path() / "status").string());
    }
  }
  return Status::Ok();
}

Status become_run_as(const Config& config) {
  std::string error;
  std::optional<RunAsPlan> plan = plan_for(config, &error);
  if (!plan) return Status::Permanent(error);
  if (!plan->change) return Status::Ok();
  if (Status s = prepare_data_dir(config, plan->account); !s.ok()) return s;
  return drop_privileges(plan->account);
}

}  // namespace tern
