// Key records for the ChainVerifier through DNS (dns/lookup.h), as DKIM
// looks them up (dkim/dns_keys.h: the same TXT answers, the same
// NXDOMAIN-is-permanent rule).
//
// Runs on the caller's executor; the verifier must not be used by anything
// else until the awaitable completes.
#pragma once

#include <asio/awaitable.hpp>

#include "arc/verifier.h"
#include "dns/lookup.h"

namespace tern::arc {

// Looks up every key verifier.key_queries() names and adds the answers.
// REQUIRES: verifier.finish() was called.
asio::awaitable<void> fetch_keys(ChainVerifier& verifier, DnsLookup& dns);

}  // namespace tern::arc
