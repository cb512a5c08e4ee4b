// RecipientPolicy: who lives here and what they may do, as a server
// connection (connection.h, connection_deps.h) asks it. The Directory
// (directory.h) is the real one; tests give a fake.
#pragma once

#include <cstdint>
#include <string>

#include "core/server_session.h"

namespace tern {

class RecipientPolicy {
 public:
  virtual ~RecipientPolicy() = default;
  // RCPT TO `rcpt` from `auth_user` ("" if none) at unix time `now`.
  virtual RcptCheck check_rcpt(const Address& rcpt, const std::string& auth_user, int64_t now) = 0;
  // MAIL FROM `from` by the authenticated `auth_user`.
  virtual SenderVerdict check_sender(const Address& from, const std::string& auth_user) = 0;
  // VRFY: does this local mailbox exist?
  virtual bool mailbox_exists(const Address& addr) = 0;
  // Re-reads the users file if it changed (before a password check).
  virtual void refresh() = 0;
  // AUTH's password check. Blocking and slow (argon2id): the Connection
  // runs it on ConnectionDeps::hashing, off the event loop.
  virtual bool verify_password(const std::string& user, const std::string& password) const = 0;
};

}  // namespace tern
