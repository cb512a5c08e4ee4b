// ServerSession, the connection's security: STARTTLS (RFC 3207) and AUTH
// PLAIN/LOGIN (RFC 4954, RFC 4616). The rest of the session is
// server_session.cc.
#include <string>

#include "core/base64.h"
#include "core/server_session.h"

namespace tern {

void ServerSession::cmd_starttls(std::string_view) {
  reply(Reply(220, "2.0.0", "Ready to start TLS"));
  // Plaintext pipelined after STARTTLS must not survive into the TLS
  // session (CVE-2011-0411): drop it.
  in_.clear();
  in_pos_ = 0;
  set_pending(Action::kStartTls);
}

void ServerSession::tls_started(const SessionTls& tls) {
  tls_ = tls;
  // RFC 3207 4.2: forget everything learned before TLS; EHLO again.
  helo_.clear();
  esmtp_ = false;
  reset_transaction();
  in_.clear();
  in_pos_ = 0;
  state_ = State::kCommand;
}

void ServerSession::cmd_auth(std::string_view arg) {
  size_t sp = arg.find(' ');
  std::string_view mech = arg.substr(0, sp);
  std::string_view initial = sp == std::string_view::npos ? "" : arg.substr(sp + 1);
  if (mech.empty()) return reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
  bool has_initial = sp != std::string_view::npos;
  if (iequals(mech, "PLAIN")) {
    if (!has_initial) {
      state_ = State::kAuthPlain;
      return reply(Reply(334, "", ""));
    }
    return auth_plain(initial);
  }
  if (iequals(mech, "LOGIN")) {
    auth_ = AuthRequest{"LOGIN", "", ""};
    if (!has_initial) {
      state_ = State::kAuthUser;
      return reply(Reply(334, "", "VXNlcm5hbWU6"));  // "Username:"
    }
    auto user = initial == "=" ? std::optional<std::string>("") : base64_decode(initial);
    if (!user) return reply(501, "5.5.2", "Invalid base64 data");
    auth_.user = *user;
    state_ = State::kAuthPass;
    return reply(Reply(334, "", "UGFzc3dvcmQ6"));  // "Password:"
  }
  reply(504, "5.5.4", "Unrecognized authentication type");
}

void ServerSession::handle_auth_line(std::string_view line) {
  State st = state_;
  state_ = State::kCommand;
  if (line == "*") return reply(501, "5.0.0", "Authentication cancelled");  // RFC 4954 4
  if (st == State::kAuthPlain) return auth_plain(line);
  auto decoded = line == "=" ? std::optional<std::string>("") : base64_decode(line);
  if (!decoded) return reply(501, "5.5.2", "Invalid base64 data");
  if (st == State::kAuthUser) {
    auth_.user = *decoded;
    state_ = State::kAuthPass;
    return reply(Reply(334, "", "UGFzc3dvcmQ6"));
  }
  auth_.password = *decoded;
  if (auth_.user.empty())
    return auth_failed(Reply(535, "5.7.8", "Authentication credentials invalid"));
  set_pending(Action::kCheckAuth);
}

void ServerSession::auth_plain(std::string_view b64) {
  // RFC 4616: [authzid] NUL authcid NUL passwd. "=" is an empty response.
  auto decoded = b64 == "=" ? std::optional<std::string>("") : base64_decode(b64);
  if (!decoded) return reply(501, "5.5.2", "Invalid base64 data");
  size_t a = decoded->find('\0');
  size_t b = a == std::string::npos ? a : decoded->find('\0', a + 1);
  if (b == std::string::npos || decoded->find('\0', b + 1) != std::string::npos)
    return reply(501, "5.5.2", "Malformed PLAIN response");
  std::string authzid = decoded->substr(0, a);
  auth_ = AuthRequest{"PLAIN", decoded->substr(a + 1, b - a - 1), decoded->substr(b + 1)};
  // We do not let one user act for another.
  if (auth_.user.empty() || (!authzid.empty() && authzid != auth_.user))
    return auth_failed(Reply(535, "5.7.8", "Authentication credentials invalid"));
  set_pending(Action::kCheckAuth);
}

void ServerSession::auth_checked(bool ok, std::string user) {
  state_ = State::kCommand;
  std::fill(auth_.password.begin(), auth_.password.end(), '\0');
  auth_.password.clear();
  if (!ok) return auth_failed(Reply(535, "5.7.8", "Authentication credentials invalid"));
  auth_user_ = user.empty() ? auth_.user : std::move(user);
  reply(235, "2.7.0", "Authentication successful");
}

void ServerSession::auth_unavailable() {
  state_ = State::kCommand;
  std::fill(auth_.password.begin(), auth_.password.end(), '\0');
  auth_.password.clear();
  // RFC 4954 6: "454 4.7.0 Temporary authentication failure".
  reply(Reply(454, "4.7.0", "Temporary authentication failure"), false);
}

// Credentials that were wrong (535 5.7.8): its reply, and after
// max_auth_failures of them the end of the session (the server also slows
// each failure down; see Server::auth_failure_delay). Malformed or
// cancelled exchanges try no password; max_errors bounds them.
void ServerSession::auth_failed(Reply r) {
  bool last = ++auth_failures_ >= options_.max_auth_failures;
  // The last one is counted as an error, but its 421 names the real cause.
  reply(std::move(r), !last);
  if (last) {
    ++counts_.errors;
    close_after(
        Reply(421, "4.7.0",
              options_.hostname + " Too many failed authentication attempts, closing connection"),
        SessionEnd::kTooManyAuthFailures);
  }
}

}  // namespace tern
