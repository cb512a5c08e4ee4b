#include "arc/dns_keys.h"

#include "dkim/dns_keys.h"

namespace tern::arc {

asio::awaitable<void> fetch_keys(ChainVerifier& verifier, DnsLookup& dns) {
  for (const std::string& query : verifier.key_queries()) {
    const TxtResult result = co_await dns.txt(query);
    verifier.add_key(query, dkim::key_answer(result));
  }
}

}  // namespace tern::arc
