// ARC sealing of what the relay sends (docs/arc.md, "Sealing"): which
// messages get our ARC set, and with which key. The Sealer itself is in
// arc/sealer.h; file_body.cc feeds it while it scans the queued file.
//
// A message is sealed when [arc] seal is on and it is a copy an alias
// forwards to an outside address (envelope listener "forward",
// relay/plan.h forward_envelope): the case RFC 8617 1 was made for, where
// SPF breaks and DKIM may not survive; or when it was submitted by one of
// the AUTH users in [arc] trusted_forwarders (a list server relaying
// through us, whose posts keep their authors' From and so are not
// DKIM-signed by us). Everything else keeps what it has.
//
// Thread safety: ArcSealing is immutable; share it read-only.
#pragma once

#include <memory>
#include <string>

#include "arc/sealer.h"
#include "config/config.h"
#include "core/envelope.h"
#include "dkim/key_store.h"

namespace tern {

struct ArcSealing {
  std::string domain;       // d=
  std::string selector;     // s=
  std::string authserv_id;  // ours (the host name): the AAR copies our Authentication-Results
  dkim::PrivateKey key;
  std::vector<std::string> forwarders;  // [arc] trusted_forwarders: AUTH users
};

// The sealing key [arc] names, from the DKIM key store: the domain's key
// with `selector`, or without one its key of `algorithm`. Null when
// sealing is off; also null, with *problem set, when the store has no such
// key (the server runs on and seals nothing; the caller logs it).
std::shared_ptr<const ArcSealing> arc_sealing(const Config& config, const dkim::KeyStore& keys,
                                              std::string* problem);

// True when `env` is a message to seal with `s` (see above).
bool should_seal(const Envelope& env, const ArcSealing& s);

// A Sealer for one message sent at `now`.
std::unique_ptr<arc::Sealer> make_sealer(const ArcSealing& s, int64_t now);

// Ends `sealer`: its fields go before *prefix (our ARC set on top of
// everything), and *log says what happened ("i=2 cv=pass d=example.org
// s=arc", or why the message was not sealed).
void finish_seal(arc::Sealer& sealer, const ArcSealing& s, std::string* prefix, std::string* log);

}  // namespace tern
