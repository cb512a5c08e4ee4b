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
  // When DNSSEC validation is on (DANE, RFC 7672), a bogus answer is
  // kTempFail with security kBogus and `error` naming the validation
  // failure: RFC 7672 2.1.1 treats it as a reason to defer, never as "no
  // record".
};

// What DNSSEC validation (RFC 4033 5, RFC 4035 4.3) said of an answer.
// Without validation every answer is kInsecure.
enum class DnsSecurity {
  kInsecure,  // not signed (or not validated): usable, but proves nothing
  kSecure,    // validated up to a trust anchor; also a proven NXDOMAIN/NODATA
  kBogus,     // should be signed but does not validate: status is kTempFail
};

// "insecure", "secure", "bogus".
const char* dns_security_name(DnsSecurity s);

// "ok", "no data", "NXDOMAIN", "temporary failure".
const char* dns_status_name(DnsStatus s);

struct MxRecord {
  uint16_t preference = 0;
  std::string host;  // "." for the root (a null MX, RFC 7505)

  friend bool operator==(const MxRecord&, const MxRecord&) = default;
};

// One TXT record: its character-strings, in order, each without its
// length octet. txt_text() joins them as every user here reads them.
using TxtRecord = std::vector<std::string>;

// One TLSA record (RFC 6698 2.1): certificate usage, selector, matching
// type and the certificate association data (binary, not hex).
struct TlsaRecord {
  uint8_t usage = 0;     // 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE (RFC 7218)
  uint8_t selector = 0;  // 0 Cert, 1 SPKI
  uint8_t matching = 0;  // 0 Full, 1 SHA2-256, 2 SHA2-512
  std::string data;

  friend bool operator==(const TlsaRecord&, const TlsaRecord&) = default;
};

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
  DnsSecurity security = DnsSecurity::kInsecure;

  bool ok() const { return status == DnsStatus::kOk; }
  bool secure() const { return security == DnsSecurity::kSecure; }
  bool bogus() const { return security == DnsSecurity::kBogus; }
};

using MxResult = DnsResult<MxRecord>;
using AddressResult = DnsResult<asio::ip::address>;  // A gives v4, AAAA gives v6
using TxtResult = DnsResult<TxtRecord>;
using NameResult = DnsResult<std::string>;  // PTR targets
using TlsaResult = DnsResult<TlsaRecord>;

// The text of one TXT record: its strings joined with nothing between, as
// SPF (RFC 7208 3.3), DKIM keys (RFC 6376 3.6.2.2), DMARC (RFC 7489 6.6.3),
// MTA-STS (RFC 8461 3.1) and TLS-RPT (RFC 8460 3) all read them.
inline std::string txt_text(const TxtRecord& record) {
  std::string out;
  for (const std::string& s : record) out += s;
  return out;
}

// txt_text() of each record of `answer`, in order.
inline std::vector<std::string> txt_texts(const TxtResult& answer) {
  std::vector<std::string> out;
  for (const TxtRecord& r : answer.records) out.push_back(txt_text(r));
  return out;
}

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
  // The TLSA records at `name` ("_25._tcp.mx.example.org", RFC 6698 3).
  // Not pure, so that fakes without DANE need not care: the default says
  // kNoData, insecure (no DANE).
  virtual asio::awaitable<TlsaResult> tlsa(std::string name);
};

}  // namespace tern
