// Directory: who lives here, and what they may do. Answers the server's
// questions about recipients and senders from the config (local domains,
// [relay]), the user db, the aliases and the SRS key, re-reading the users
// and aliases files when they change (so `tern user add` takes effect at
// once).
//
// SRS (relay/srs.h) is decided here on both sides: RCPT TO an SRS address
// in relay.srs_domain is checked and rewritten to the address it stands
// for at RCPT time (so the queue holds the real destination, and a forged
// or expired one is refused while the client is there to hear it), and
// the delivery side asks forward_sender() for the sender of a forwarded
// copy, and bounce_recipient() where a DSN about such a copy goes.
//
// Thread-safe: lookups take a shared lock, reloads an exclusive one.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "auth/users.h"
#include "config/config.h"
#include "core/server_session.h"
#include "delivery/aliases.h"
#include "relay/srs.h"
#include "server/recipient_policy.h"

namespace tern {

class Directory : public RecipientPolicy {
 public:
  explicit Directory(std::shared_ptr<const Config> config);

  // Loads users and aliases, and the SRS key (<data_dir>/srs.key, made on
  // first start; kept across reloads); errors are returned for the caller
  // to log.
  Status load();
  // Re-reads users/aliases if their files changed; at most once a second.
  void refresh() override;
  void set_config(std::shared_ptr<const Config> config);
  std::shared_ptr<const Config> config() const;

  // A recipient, at unix time `now` (for SRS timestamps):
  //  - "<Postmaster>" (no domain): local;
  //  - an SRS0/SRS1 address in relay.srs_domain: refused (kUnknownUser,
  //    with the reason) unless its signature and age check out, else
  //    rewritten to the address it encodes, which is relayed if remote
  //    (we signed it: not an open relay) or looked up if local. Decoded
  //    whether or not relay.srs is on, so that bounces of mail forwarded
  //    before it was turned off still go home;
  //  - in a local domain: kBadMailbox for a local part no Maildir can be
  //    named by (maildir_path() gives ""), even if an alias would match;
  //    else a user, an alias, postmaster (RFC 5321 4.5.1) or any local
  //    part under accept_any_local_part; else kUnknownUser. Local parts
  //    are compared unquoted (alias_key()): "\"me\"" is "me";
  //  - elsewhere: kRelay for an authenticated client, kRelayDenied for
  //    anyone else (never an open relay).
  RcptCheck check_rcpt(const Address& rcpt, const std::string& auth_user, int64_t now) override;
  // MAIL FROM `from` by the authenticated `auth_user` (RFC 6409 6.1): kOk
  // when relay.sender_check is off, for "<>", for the user's own address
  // (and its +tag forms; compared as alias_key(), so without regard to
  // ASCII case), and for an address whose exact alias expansion has the
  // user among its final targets (a catch-all does not count; nor does an
  // alias that reaches the user only through the user's own alias to
  // elsewhere); else kNotOwned.
  SenderVerdict check_sender(const Address& from, const std::string& auth_user) override;
  // The sender of a copy of mail from `from` forwarded at `now` to another
  // domain: its SRS form when relay.srs is on and `from` is foreign
  // (srs_forward_sender), else `from`.
  Address forward_sender(const Address& from, int64_t now) const;
  // The recipient of a DSN to `sender` at `now`: the address it encodes
  // when `sender` is one of our SRS addresses that check_rcpt() accepts
  // (the copy an alias forwarded failed: the original sender hears of
  // it), else `sender`.
  Address bounce_recipient(const Address& sender, int64_t now);

  bool mailbox_exists(const Address& addr) override;
  bool verify_password(const std::string& user, const std::string& password) const override;
  bool is_local_domain(std::string_view domain) const;
  // True if `address` has its own mailbox (a user, postmaster, or any local
  // part under accept_any_local_part): a catch-all alias never takes it.
  bool is_mailbox(const std::string& address) const;
  // Snapshot for the delivery worker.
  std::shared_ptr<const Aliases> aliases() const;

 private:
  // The verdict for `rcpt` in a local domain. REQUIRES: mu_ held.
  RcptVerdict local_verdict(const Address& rcpt) const;

  mutable std::shared_mutex mu_;
  std::shared_ptr<const Config> config_;
  UserDb users_;
  std::shared_ptr<Aliases> aliases_;
  std::string aliases_path_;
  std::shared_ptr<const Srs> srs_;  // set by load()
  long long last_refresh_ms_ = 0;
};

}  // namespace tern
