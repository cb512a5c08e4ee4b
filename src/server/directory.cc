#include "server/directory.h"

#include <chrono>
#include <mutex>

#include "core/command.h"

namespace tern {

Directory::Directory(std::shared_ptr<const Config> config)
    : config_(std::move(config)),
      users_(config_->data_dir + "/users"),
      aliases_(std::make_shared<Aliases>()),
      aliases_path_(config_->data_dir + "/aliases") {}

Status Directory::load() {
  std::unique_lock lock(mu_);
  if (Status s = users_.load(); !s.ok()) return s;
  auto fresh = std::make_shared<Aliases>();
  if (Status s = fresh->load(aliases_path_); !s.ok()) return s;
  aliases_ = std::move(fresh);
  return Status::Ok();
}

void Directory::refresh() {
  using namespace std::chrono;
  long long now = duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
  {
    std::shared_lock lock(mu_);
    if (now - last_refresh_ms_ < 1000) return;
  }
  std::unique_lock lock(mu_);
  last_refresh_ms_ = now;
  users_.reload_if_changed();
  // Aliases are replaced, not mutated: a worker may hold the old snapshot.
  auto fresh = std::make_shared<Aliases>(*aliases_);
  if (fresh->reload_if_changed(aliases_path_).ok()) aliases_ = std::move(fresh);
}

void Directory::set_config(std::shared_ptr<const Config> config) {
  std::unique_lock lock(mu_);
  config_ = std::move(config);
}

std::shared_ptr<const Config> Directory::config() const {
  std::shared_lock lock(mu_);
  return config_;
}

bool Directory::is_local_domain(std::string_view domain) const {
  std::shared_lock lock(mu_);
  return tern::is_local_domain(*config_, domain);
}

RcptVerdict Directory::check_rcpt(const Address& rcpt, const std::string& auth_user) {
  refresh();
  std::shared_lock lock(mu_);
  // RFC 5321 4.5.1: <Postmaster> and postmaster@ a local domain always work.
  if (rcpt.domain.empty()) return RcptVerdict::kLocal;
  if (tern::is_local_domain(*config_, rcpt.domain)) {
    if (config_->accept_any_local_part || iequals(rcpt.local, "postmaster"))
      return RcptVerdict::kLocal;
    std::string key = alias_key(rcpt.str());
    if (users_.exists(key) || aliases_->matches(key)) return RcptVerdict::kLocal;
    return RcptVerdict::kUnknownUser;
  }
  // Never an open relay: only authenticated clients reach other domains.
  return auth_user.empty() ? RcptVerdict::kRelayDenied : RcptVerdict::kRelay;
}

bool Directory::mailbox_exists(const Address& addr) {
  if (addr.domain.empty()) return false;
  return check_rcpt(addr, "") == RcptVerdict::kLocal;
}

bool Directory::verify_password(const std::string& user, const std::string& password) const {
  std::shared_lock lock(mu_);
  return users_.verify(user, password);
}

bool Directory::is_mailbox(const std::string& address) const {
  std::shared_lock lock(mu_);
  std::string key = alias_key(address);
  size_t at = key.rfind('@');
  if (at == std::string::npos || !tern::is_local_domain(*config_, key.substr(at + 1))) return false;
  return config_->accept_any_local_part || key.substr(0, at) == "postmaster" || users_.exists(key);
}

std::shared_ptr<const Aliases> Directory::aliases() const {
  std::shared_lock lock(mu_);
  return aliases_;
}

}  // namespace tern
