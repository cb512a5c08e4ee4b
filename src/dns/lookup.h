// DNS lookups as the rest of tern sees them: typed results that say
// whether to try again, and an abstract DnsLookup so that routing and
// policy code (MX routes, later SPF, DKIM, DMARC) can be tested with a
// fake. The real implementation is Resolver (dns/resolver.h).
//
// Names are ASCII domain names without the trailing dot; every name that
// comes back is lower-cased, without the trailing dot, and the root is
// written ".".
//
// Value types; thread-compatible. DnsLookup implementations say their own
// thread rules (Resolver: one per io_context thread).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace tern {

// The outcome of one query. Like Postfix's DNS_OK / DNS_NOTFOUND /
// DNS_RETRY, every caller must decide what "try again" means for it.
enum class DnsStatus {
  kOk,        // at least one record of the requested type (after CNAMEs)
  kNoData,    // the name exists but has no record of that type (NOERROR, empty answer)
  kNxDomain,  // the name does not exist (RCODE 3), or is not a valid domain name
  kTempFail,  // SERVFAIL, REFUSED, timeout, network or resolver error: try again later
  // When DNSSEC validation is switched on (DANE, RFC 7672), a bogus answer
  // will be reported as kTempFail with `error` naming the validation
  // failure: RFC 7672 2.1.1 treats it as a reason to defer, not to bounce.
};

// "ok", "no data", "NXDOMAIN", "temporary failure".
const char* dns_status_name(DnsStatus s);

struct MxRecord {
  uint16_t preference = 0;
  std::string host;  // "." for the root (a null MX, RFC 7505)

  friend bool operator==(const MxRecord&, const MxRecord&) = default;
};

// One TXT record: its character-strings, in order, each without its
// length octet. Joining them is the caller's business (SPF, RFC 7208
// 3.3, joins with nothing; DKIM keys likewise).
using TxtRecord = std::vector<std::string>;

template <typename T>
struct DnsResult {
  DnsStatus status = DnsStatus::kTempFail;
  std::vector<T> records;  // non-empty exactly when status is kOk, in answer order
  // The name the answer is for, after following CNAMEs: the query name
  // itself when there was no CNAME or the answer does not say.
  std::string canonical_name;
  uint32_t ttl = 0;  // seconds; for kNoData/kNxDomain the negative TTL when known
  // Why, for anything but kOk: "SERVFAIL", "timed out after 10s",
  // "NXDOMAIN"; for logs and bounce texts.
  std::string error;

  bool ok() const { return status == DnsStatus::kOk; }
};

using MxResult = DnsResult<MxRecord>;
using AddressResult = DnsResult<asio::ip::address>;  // A gives v4, AAAA gives v6
using TxtResult = DnsResult<TxtRecord>;
using NameResult = DnsResult<std::string>;  // PTR targets

// The lookups tern needs. Each returns when the answer is in, or with
// kTempFail when the implementation's deadline passes; none throws.
// `name` is a domain name without the trailing dot (a trailing dot is
// tolerated); a syntactically invalid name gives kNxDomain.
class DnsLookup {
 public:
  virtual ~DnsLookup() = default;

  virtual asio::awaitable<MxResult> mx(std::string name) = 0;
  virtual asio::awaitable<AddressResult> a(std::string name) = 0;
  virtual asio::awaitable<AddressResult> aaaa(std::string name) = 0;
  virtual asio::awaitable<TxtResult> txt(std::string name) = 0;
  // The PTR records of `address` (queried at reverse_name(address)).
  virtual asio::awaitable<NameResult> ptr(asio::ip::address address) = 0;
};

}  // namespace tern
