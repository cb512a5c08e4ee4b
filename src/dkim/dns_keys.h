// Key records through DNS for the Verifier: TXT lookups with DnsLookup
// (dns/lookup.h), their answers turned into KeyAnswers (RFC 6376 3.6.2.2:
// the strings of each record joined with nothing between them).
//
// Runs on the caller's executor; the Verifier must not be used by anything
// else until the awaitable completes.
#pragma once

#include <asio/awaitable.hpp>
#include <string>
#include <vector>

#include "dkim/verifier.h"
#include "dns/lookup.h"

namespace tern::dkim {

// kOk gives the records, NXDOMAIN / no data give kNotFound (permerror),
// anything else kTempFail (temperror).
KeyAnswer key_answer(const TxtResult& result);

// Looks up every key verifier.key_queries() names, one after the other, and
// adds the answers. Call it after finish() (or earlier, once
// headers_done(), to fetch while the body streams; then call it again after
// finish() for anything still missing: nothing is looked up twice).
asio::awaitable<void> fetch_keys(Verifier& verifier, DnsLookup& dns);

// A message in memory, verified with keys from `dns`.
asio::awaitable<std::vector<SignatureResult>> verify_with_dns(std::string message, DnsLookup& dns,
                                                              VerifyOptions options);

}  // namespace tern::dkim
