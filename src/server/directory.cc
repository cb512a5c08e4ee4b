#include "server/directory.h"

#include <chrono>
#include <mutex>

#include "core/command.h"
#include "delivery/maildir.h"

namespace tern {

Directory::Directory(std::shared_ptr<const Config> config)
    : config_(std::move(config)),
      users_(config_->data_dir + "/users"),
      aliases_(std::make_shared<Aliases>()),
      aliases_path_(config_->data_dir + "/aliases") {
  users_.set_verify_cache(config_->auth_cache.count());
}

Status Directory::load() {
  std::unique_lock lock(mu_);
  if (!srs_) {
    // Kept across reloads: data_dir does not change without a restart.
    std::string secret;
    Status s = load_or_create_srs_key(config_->data_dir + "/srs.key", &secret);
    if (!s.ok()) return s;
    srs_ = std::make_shared<const Srs>(std::move(secret));
  }
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
  if (config->auth_cache != config_->auth_cache)
    users_.set_verify_cache(config->auth_cache.count());
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

RcptVerdict Directory::local_verdict(const Address& rcpt) const {
  // A name no Maildir can have is refused now, whatever the aliases say,
  // rather than accepted and bounced later (to a sender that may be forged).
  if (maildir_path(config_->data_dir + "/mail", rcpt.str()).empty())
    return RcptVerdict::kBadMailbox;
  // RFC 5321 4.5.1: postmaster@ a local domain always works.
  if (config_->accept_any_local_part || iequals(unquote_local(rcpt.local), "postmaster"))
    return RcptVerdict::kLocal;
  std::string key = alias_key(rcpt.str());
  if (users_.exists(key) || aliases_->matches(key)) return RcptVerdict::kLocal;
  return RcptVerdict::kUnknownUser;
}

RcptCheck Directory::check_rcpt(const Address& rcpt, const std::string& auth_user, int64_t now) {
  refresh();
  std::shared_lock lock(mu_);
  RcptCheck out;
  // RFC 5321 4.5.1: <Postmaster> always works.
  if (rcpt.domain.empty()) {
    out.verdict = RcptVerdict::kLocal;
    return out;
  }
  if (srs_ && is_srs_local(rcpt.local) && iequals(rcpt.domain, config_->relay.srs_domain)) {
    Srs::Reversed r = srs_->reverse(rcpt.local, now);
    if (r.error != SrsError::kOk) {
      out.verdict = RcptVerdict::kUnknownUser;
      out.reason = srs_error_text(r.error);
      return out;
    }
    bool local = tern::is_local_domain(*config_, r.address.domain);
    out.verdict = local ? local_verdict(r.address) : RcptVerdict::kRelay;
    out.rewrite = std::move(r.address);
    return out;
  }
  if (tern::is_local_domain(*config_, rcpt.domain)) {
    out.verdict = local_verdict(rcpt);
    return out;
  }
  // Never an open relay: only authenticated clients reach other domains.
  out.verdict = auth_user.empty() ? RcptVerdict::kRelayDenied : RcptVerdict::kRelay;
  return out;
}

SenderVerdict Directory::check_sender(const Address& from, const std::string& auth_user) {
  refresh();
  std::shared_lock lock(mu_);
  if (!config_->relay.sender_check || from.is_null()) return SenderVerdict::kOk;
  const std::string user = alias_key(auth_user);
  if (alias_key(from.str()) == user) return SenderVerdict::kOk;  // even if it forwards away
  // An alias owned through its final targets. Exact aliases only: the
  // expansion with every address taken for a mailbox never falls back to a
  // catch-all, which would let its target send as anyone in the domain.
  auto no_catch_all = [](const std::string&) { return true; };
  for (const std::string& target : aliases_->expand(from.str(), no_catch_all))
    if (alias_key(target) == user) return SenderVerdict::kOk;
  return SenderVerdict::kNotOwned;
}

Address Directory::forward_sender(const Address& from, int64_t now) const {
  std::shared_lock lock(mu_);
  if (!config_->relay.srs || !srs_) return from;
  const Config& c = *config_;
  return srs_forward_sender(*srs_, from, c.relay.srs_domain, now,
                            [&c](std::string_view d) { return tern::is_local_domain(c, d); });
}

Address Directory::bounce_recipient(const Address& sender, int64_t now) {
  if (!is_srs_local(sender.local)) return sender;
  RcptCheck c = check_rcpt(sender, "", now);
  bool accepted = c.verdict == RcptVerdict::kLocal || c.verdict == RcptVerdict::kRelay;
  return accepted && c.rewrite ? *c.rewrite : sender;
}

bool Directory::mailbox_exists(const Address& addr) {
  if (addr.domain.empty()) return false;
  refresh();
  std::shared_lock lock(mu_);
  return tern::is_local_domain(*config_, addr.domain) && local_verdict(addr) == RcptVerdict::kLocal;
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
