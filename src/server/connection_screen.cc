// The Connection's part in the checks before DATA (docs/filtering.md):
// the lookups at connect and the two session hooks. The decisions are in
// src/screen/; the connection only says who is screened (sender_checked_:
// the smtp listener, not trusted_networks, not loopback unless
// check_loopback) and passes what the session knows.
#include "server/connection.h"

namespace tern {

asio::awaitable<std::optional<Reply>> Connection::screen_client() {
  if (!deps_.screen || !deps_.dns || !ClientScreen::wanted(*config_)) co_return std::nullopt;
  facts_ = co_await deps_.screen->connect(*config_, *deps_.dns, ip_, session_id_);
  co_return ClientScreen::greeting(facts_, ip_);
}

std::optional<Reply> Connection::screen_mail(const Address& from, const std::string& auth_user) {
  if (!sender_checked_ || !auth_user.empty()) return std::nullopt;
  return ClientScreen::check_mail(*config_, facts_, ip_, session_.helo(), from);
}

// RFC 6647 (greylisting): authenticated users and DNSWL-listed clients
// are not made to wait.
std::optional<Reply> Connection::screen_rcpt(const Address& from, const Address& rcpt,
                                             const std::string& auth_user) {
  if (!deps_.screen || !sender_checked_ || !auth_user.empty() || facts_.dnsbl.allowlisted)
    return std::nullopt;
  return deps_.screen->greylist(ip_, from, rcpt, now(), session_id_);
}

// [checks] reverse_dns = "mark": the message says so, for a Sieve rule or
// the spam filter to weigh (as the log line does).
std::string Connection::screen_header() const {
  return ClientScreen::mark_header(*config_, facts_, ip_);
}

}  // namespace tern
