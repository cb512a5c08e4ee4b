#include "delivery/local.h"

#include <algorithm>
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

void note(Status* first, const Status& s) {
  if (s.ok()) return;
  if (first->ok() ||
      (first->kind() == Status::Kind::kPermanent && s.kind() == Status::Kind::kTransient)) {
    *first = s;
  }
}

}  // namespace

LocalDeliveryResult deliver_local(QueueStore& store, const std::string& id,
                                  const LocalDeliveryEnv& env) {
  LocalDeliveryResult r;
  QueuedMessage m;
  r.status = store.load(id, &m);
  if (!r.status.ok()) return r;

  const Address& from = m.envelope.mail.from;
  std::string return_path = from.is_null() ? "" : from.local + "@" + from.domain;
  std::set<std::string> delivered;  // alias_key of mailboxes written by this call

  for (size_t i = 0; i < m.envelope.rcpts.size(); ++i) {
    if (m.done[i]) continue;
    const Address& to = m.envelope.rcpts[i].to;
    std::string address;
    if (!to.domain.empty()) {
      address = to.local + "@" + to.domain;
    } else if (iequals(to.local, "postmaster") && !env.postmaster_domain.empty()) {
      address = "postmaster@" + env.postmaster_domain;  // RFC 5321 4.5.1
    } else {
      ++r.failed;
      note(&r.status, Status::Permanent("local: " + id + ": no domain for recipient " + to.local));
      continue;
    }
    auto is_local = [&](std::string_view a) {
      return env.is_local_domain && env.is_local_domain(domain_of(a));
    };
    if (!is_local(address)) {
      ++r.pending_remote;
      continue;
    }
    std::vector<std::string> targets = env.aliases ? env.aliases->expand(address, env.is_mailbox)
                                                   : std::vector<std::string>{address};
    size_t remote = std::count_if(targets.begin(), targets.end(),
                                  [&](const std::string& t) { return !is_local(t); });
    if (remote > 0) {
      r.pending_remote += remote;
      continue;
    }
    bool all_ok = true;
    for (const std::string& target : targets) {
      std::string key = alias_key(target);
      if (delivered.count(key)) continue;
      std::string dir = maildir_path(env.mail_root, target);
      if (dir.empty() || !header_safe(target) || !header_safe(return_path)) {
        ++r.failed;
        note(&r.status, Status::Permanent("local: " + id + ": unusable mailbox name " + target));
        all_ok = false;
        break;
      }
      std::string header = "Return-Path: <" + return_path + ">\r\nDelivered-To: " + target + "\r\n";
      Status s = maildir_deliver(dir, header, m.body_path, m.body_offset);
      if (!s.ok()) {
        note(&r.status, s.kind() == Status::Kind::kTransient ? s : Status::Transient(s.message()));
        all_ok = false;
        continue;
      }
      ++r.delivered;
      delivered.insert(std::move(key));
    }
    if (!all_ok) continue;
    Status s = store.mark_done(id, i);
    note(&r.status, s);
    if (s.ok()) m.done[i] = true;
  }

  if (std::find(m.done.begin(), m.done.end(), false) == m.done.end()) {
    Status s = store.remove(id);
    note(&r.status, s);
    r.removed = s.ok();
  }
  return r;
}

}  // namespace tern
