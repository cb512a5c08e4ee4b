#include "dkim/dns_keys.h"

#include <utility>

namespace tern::dkim {

KeyAnswer key_answer(const TxtResult& result) {
  switch (result.status) {
    case DnsStatus::kOk:
      return KeyAnswer::found(txt_texts(result));
    case DnsStatus::kNoData:
    case DnsStatus::kNxDomain:
      return KeyAnswer::not_found(result.error.empty() ? dns_status_name(result.status)
                                                       : result.error);
    case DnsStatus::kTempFail:
      break;
  }
  return KeyAnswer::temp_fail(result.error.empty() ? dns_status_name(result.status) : result.error);
}

asio::awaitable<void> fetch_keys(Verifier& verifier, DnsLookup& dns) {
  for (const std::string& query : verifier.key_queries()) {
    const TxtResult result = co_await dns.txt(query);
    verifier.add_key(query, key_answer(result));
  }
}

asio::awaitable<std::vector<SignatureResult>> verify_with_dns(std::string message, DnsLookup& dns,
                                                              VerifyOptions options) {
  Verifier verifier(options);
  verifier.write(message);
  verifier.finish();
  co_await fetch_keys(verifier, dns);
  co_return verifier.results();
}

}  // namespace tern::dkim
