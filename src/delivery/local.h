// Local delivery: from the queue into Maildirs, for the recipients of one
// queued message whose domains are ours. Aliases are expanded here, at
// delivery time, so an edited aliases file applies to mail already queued.
//
// Delivery is at least once (docs/queue_format.md): a Maildir copy is made
// durable before the recipient is marked done, so a crash in between gives
// a duplicate, never a loss.
//
// Thread safety: deliver_local may run concurrently for different ids; one
// id must not be delivered by two threads at once.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "delivery/aliases.h"
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
};

struct LocalDeliveryResult {
  size_t delivered = 0;       // Maildir copies written by this call
  size_t pending_remote = 0;  // remote addresses left for the outbound relay (see below)
  size_t failed = 0;          // recipients that can never be delivered here (left pending)
  bool removed = false;       // every recipient done: the message left the queue
  Status status;              // first transient error, else first permanent one, else Ok
};

// For each recipient of message `id` not yet done:
//  - "<Postmaster>" without a domain becomes postmaster@<postmaster_domain>;
//  - a recipient outside the local domains is left pending (pending_remote);
//  - a local recipient is expanded through the aliases (Aliases::expand
//    with is_mailbox). If any target is
//    remote, the whole recipient is left pending (pending_remote counts its
//    remote targets) and none of its local targets gets a copy yet: the
//    store keeps one done flag per recipient, so delivering part of it now
//    would deliver that part again on every run;
//  - otherwise each target's Maildir (maildir_path) gets the content with
//    "Return-Path: <from>\r\nDelivered-To: <target>\r\n" prepended (once
//    per call per mailbox, even if several recipients lead there), and then
//    the recipient is marked done.
// A Maildir failure is transient: the recipient stays pending and the
// Status says why. A target without a safe Maildir path (or Postmaster with
// no postmaster_domain) counts as failed and also stays pending, with a
// Permanent status: bouncing it, then marking it done, is the caller's job.
// When every recipient is done, the message is removed from the store.
LocalDeliveryResult deliver_local(QueueStore& store, const std::string& id,
                                  const LocalDeliveryEnv& env);

}  // namespace tern
