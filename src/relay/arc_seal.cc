#include "relay/arc_seal.h"

#include <fmt/format.h>

#include <algorithm>

namespace tern {

std::shared_ptr<const ArcSealing> arc_sealing(const Config& config, const dkim::KeyStore& keys,
                                              std::string* problem) {
  problem->clear();
  const ArcConfig& a = config.arc;
  if (!a.seal) return nullptr;
  const dkim::KeyType type =
      a.algorithm == "ed25519-sha256" ? dkim::KeyType::kEd25519 : dkim::KeyType::kRsa;
  for (const dkim::SigningKey& k : keys.keys_for(a.domain)) {
    const bool fits = a.selector.empty() ? k.key.type() == type : k.selector == a.selector;
    if (!fits) continue;
    auto s = std::make_shared<ArcSealing>();
    s->domain = a.domain;
    s->selector = k.selector;
    s->authserv_id = config.hostname;
    s->key = k.key;
    s->forwarders = a.trusted_forwarders;
    return s;
  }
  *problem = a.selector.empty()
                 ? fmt::format("no {} key for {} in the DKIM key store: nothing is sealed",
                               a.algorithm, a.domain)
                 : fmt::format("no key {} for {} in the DKIM key store: nothing is sealed",
                               a.selector, a.domain);
  return nullptr;
}

bool should_seal(const Envelope& env, const ArcSealing& s) {
  if (env.listener == "forward") return true;
  if (env.auth_user.empty()) return false;
  return std::find(s.forwarders.begin(), s.forwarders.end(), env.auth_user) != s.forwarders.end();
}

std::unique_ptr<arc::Sealer> make_sealer(const ArcSealing& s, int64_t now) {
  return std::make_unique<arc::Sealer>(s.key, arc::SealOptions{.domain = s.domain,
                                                               .selector = s.selector,
                                                               .authserv_id = s.authserv_id,
                                                               .timestamp = now});
}

void finish_seal(arc::Sealer& sealer, const ArcSealing& s, std::string* prefix, std::string* log) {
  std::string fields;
  if (Status st = sealer.finish(&fields); !st.ok()) {
    *log = "not sealed: " + st.message();
    return;
  }
  *prefix = fields + *prefix;
  *log = fmt::format("i={} cv={} d={} s={}", sealer.instance(), arc::chain_status_name(sealer.cv()),
                     s.domain, s.selector);
}

}  // namespace tern
