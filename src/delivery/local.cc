#include "delivery/local.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "delivery/maildir.h"

namespace tern {
namespace {

std::string_view domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return lower(x) == lower(y);
  });
}

// Text that may go into a header field as is.
bool header_safe(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

LocalRcptResult fail(LocalRcptResult::Kind kind, std::string detail) {
  LocalRcptResult r;
  r.kind = kind;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

std::vector<LocalRcptResult> deliver_local(const QueuedMessage& m, const std::vector<size_t>& rcpts,
                                           const LocalDeliveryEnv& env) {
  using Kind = LocalRcptResult::Kind;
  std::vector<LocalRcptResult> out;
  const Address& from = m.envelope.mail.from;
  std::string return_path = from.is_null() ? "" : from.local + "@" + from.domain;
  std::set<std::string> delivered;  // alias_key of mailboxes written by this call
  // alias_key -> the LMTP target of mailboxes left to LMTP by this call: a
  // second recipient leading there shares that target's fate.
  std::map<std::string, LmtpTarget> to_lmtp;
  auto is_local = [&](std::string_view a) {
    return env.is_local_domain && env.is_local_domain(domain_of(a));
  };

  for (size_t i : rcpts) {
    const Address& to = m.envelope.rcpts[i].to;
    std::string address;
    if (!to.domain.empty()) {
      address = to.local + "@" + to.domain;
    } else if (iequals(to.local, "postmaster") && !env.postmaster_domain.empty()) {
      address = "postmaster@" + env.postmaster_domain;  // RFC 5321 4.5.1
    } else {
      out.push_back(fail(Kind::kPermanent, "no domain for recipient " + to.local));
      continue;
    }
    if (!is_local(address)) {
      out.push_back(fail(Kind::kPermanent, address + " is not in a local domain"));
      continue;
    }
    std::vector<std::string> targets = env.aliases ? env.aliases->expand(address, env.is_mailbox)
                                                   : std::vector<std::string>{address};
    LocalRcptResult r;
    r.kind = Kind::kDelivered;
    for (const std::string& target : targets) {
      if (!is_local(target)) {
        r.forward_to.push_back(target);
        continue;
      }
      std::string key = alias_key(target);
      if (auto it = to_lmtp.find(key); it != to_lmtp.end()) {
        r.lmtp.push_back(it->second);
        continue;
      }
      if (delivered.count(key)) continue;
      if (std::string route = env.lmtp_route ? env.lmtp_route(target) : ""; !route.empty()) {
        LmtpTarget t{std::move(route), target};
        r.lmtp.push_back(t);
        to_lmtp.emplace(std::move(key), std::move(t));
        continue;
      }
      std::string dir = maildir_path(env.mail_root, target);
      if (dir.empty() || !header_safe(target) || !header_safe(return_path)) {
        r = fail(Kind::kPermanent, "unusable mailbox name " + target);
        break;
      }
      std::string header = "Return-Path: <" + return_path + ">\r\nDelivered-To: " + target + "\r\n";
      Status s = maildir_deliver(dir, header, m.body_path, m.body_offset,
                                 env.files ? *env.files : FileEnv::posix());
      if (!s.ok()) {
        r = fail(Kind::kTransient, s.message());
        break;
      }
      ++r.copies;
      delivered.insert(std::move(key));
    }
    if (r.kind == Kind::kDelivered && !r.forward_to.empty()) r.kind = Kind::kExpanded;
    if (r.kind != Kind::kExpanded) r.forward_to.clear();
    if (r.kind != Kind::kExpanded && r.kind != Kind::kDelivered) r.lmtp.clear();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace tern
