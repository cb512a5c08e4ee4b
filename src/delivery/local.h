// Local delivery: from the queue into Maildirs, for the recipients of one
// queued message whose domains are ours. Aliases are expanded here, at
// delivery time, so an edited aliases file applies to mail already queued.
//
// This is only the Maildir side: it reads the message and writes
// mailboxes, and says per recipient what happened. Recording that in the
// queue, retrying and bouncing are the scheduler's job (relay/scheduler.h,
// through relay/local_courier.h). A Maildir copy is durable before its
// result comes back, so a crash before the result is recorded gives a
// duplicate, never a loss (docs/queue_format.md).
//
// Thread safety: deliver_local may run concurrently, also for one message.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "delivery/aliases.h"
#include "fs/file_env.h"
#include "queue/store.h"

namespace tern {

struct LocalDeliveryEnv {
  std::string mail_root;                                         // <data_dir>/mail
  std::function<bool(std::string_view domain)> is_local_domain;  // REQUIRES: set
  const Aliases* aliases = nullptr;                              // may be null: no aliases
  // Real mailboxes (e.g. the user db), which a catch-all alias must not
  // take; may be empty (then a catch-all takes every non-alias recipient).
  std::function<bool(const std::string& address)> is_mailbox;
  std::string postmaster_domain;  // "<Postmaster>" (no domain) goes to postmaster@this;
                                  // normally the first local domain
  FileEnv* files = nullptr;       // the Maildirs' file system (fs/file_env.h); null: the real one
  // The LMTP address a local target is delivered to instead of its Maildir
  // (config.h: lmtp_route), or "" for the Maildir. Empty function: Maildirs.
  std::function<std::string(const std::string& target)> lmtp_route;
};

// A local target left to LMTP (the caller sends it, relay/lmtp_sender.h).
struct LmtpTarget {
  std::string address;  // where: "unix:/run/dovecot/lmtp"
  std::string mailbox;  // who: the target's address
};

// What delivering to one recipient came to.
struct LocalRcptResult {
  enum class Kind {
    kDelivered,  // every target has its copy
    kExpanded,   // the local targets have their copy; forward_to must be queued anew
    kTransient,  // a Maildir could not be written: try again later
    kPermanent,  // can never be delivered here (unsafe mailbox name, no domain)
  };
  Kind kind = Kind::kTransient;
  std::string detail;                   // kTransient/kPermanent: why, for the log and the DSN
  std::vector<std::string> forward_to;  // kExpanded: alias targets outside the local domains
  size_t copies = 0;                    // Maildir copies written for this recipient
  // kDelivered/kExpanded: local targets still to go by LMTP; the recipient
  // is done only once they are.
  std::vector<LmtpTarget> lmtp;
};

// Delivers message `m` to the recipients whose indexes are in `rcpts`;
// returns one result per entry, in order. For each:
//  - "<Postmaster>" without a domain becomes postmaster@<postmaster_domain>
//    (RFC 5321 4.5.1); without a postmaster_domain it fails (kPermanent);
//  - it is expanded through the aliases (Aliases::expand with is_mailbox);
//  - each local target's Maildir (maildir_path) gets the content with
//    "Return-Path: <from>\r\nDelivered-To: <target>\r\n" prepended, once
//    per call per mailbox even if several recipients lead there;
//  - targets outside the local domains are not touched: they come back in
//    forward_to (kExpanded) once every local target has its copy;
//  - local targets that env.lmtp_route sends to LMTP are not written: they
//    come back in `lmtp`, the same LmtpTarget for every recipient of this
//    call that leads to that mailbox (the caller sends it once).
// A Maildir failure is kTransient (the local targets that did get a copy
// get another on the retry: at least once). A target without a safe Maildir
// path is kPermanent. A recipient outside the local domains is kPermanent
// too: the caller sends only local ones.
// REQUIRES: every index < m.envelope.rcpts.size().
std::vector<LocalRcptResult> deliver_local(const QueuedMessage& m, const std::vector<size_t>& rcpts,
                                           const LocalDeliveryEnv& env);

}  // namespace tern
