// SPF records (RFC 7208 4.5, 4.6, 5, 6): finding the one "v=spf1" record
// among a name's TXT records, and parsing it into mechanisms and
// modifiers. No I/O; domain-specs stay unexpanded (macro.h expands them
// when the record is evaluated, check.h).
//
// Value types and pure functions; thread-compatible.
#pragma once

#include <asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/lookup.h"

namespace tern::spf {

// RFC 7208 4.6.2: the result a matching mechanism gives.
enum class Qualifier { kPass, kFail, kSoftFail, kNeutral };

enum class MechanismKind { kAll, kInclude, kA, kMx, kPtr, kIp4, kIp6, kExists };

// "all", "include", "a", ...
const char* mechanism_name(MechanismKind kind);

struct Mechanism {
  Qualifier qualifier = Qualifier::kPass;
  MechanismKind kind = MechanismKind::kAll;
  // include, a, mx, ptr, exists: the macro-string, unexpanded, without any
  // trailing CIDR lengths. Empty for a, mx and ptr without ":": the
  // current domain.
  std::string domain_spec;
  asio::ip::address network;  // ip4, ip6
  int cidr4 = 32;             // a, mx, ip4 (0-32)
  int cidr6 = 128;            // a, mx, ip6 (0-128)
  std::string text;           // the term as written, for reports ("-ip4:192.0.2.0/24")

  // True for the mechanisms that cost a DNS lookup (RFC 7208 4.6.4).
  bool queries_dns() const;
};

struct Record {
  std::vector<Mechanism> mechanisms;    // in the record's order
  std::optional<std::string> redirect;  // domain-spec of redirect=
  std::optional<std::string> exp;       // domain-spec of exp=

  // RFC 7208 6.1: redirect= is ignored when the record has "all".
  bool has_all() const;
};

struct ParsedRecord {
  std::optional<Record> record;  // set when the record is well-formed
  std::string error;             // else: why (a permerror)
};

// True when `text` (one TXT record, its strings joined) is an SPF version 1
// record: "v=spf1" (any case) alone or followed by a space (RFC 7208 4.5).
bool is_spf_record(std::string_view text);

// Parses a record for which is_spf_record() holds. Any syntax error, an
// unknown mechanism, bad CIDR lengths or addresses, a domain-spec that does
// not end in a top label or a macro, a bad macro, or redirect=/exp= more
// than once make it malformed (RFC 7208 4.6, 12). Unknown modifiers are
// checked for macro syntax and otherwise ignored.
ParsedRecord parse_record(std::string_view text);

// RFC 7208 4.5: the outcome of looking for a domain's SPF record in its
// TXT records.
struct RecordSelection {
  enum Status {
    kFound,     // exactly one SPF record: `text`
    kNone,      // no SPF record (or no TXT at all)
    kMultiple,  // more than one: permerror
  } status = kNone;
  std::string text;
};

// Joins each record's strings (RFC 7208 3.3) and picks the SPF record.
RecordSelection select_record(const std::vector<TxtRecord>& records);

// RFC 7208 7.1 domain-end: a domain-spec must end in "." toplabel ["."] or
// in a macro. Exposed for tests.
bool valid_domain_end(std::string_view domain_spec);

}  // namespace tern::spf
