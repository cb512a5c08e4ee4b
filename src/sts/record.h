// The MTA-STS TXT record (RFC 8461 3.1) at _mta-sts.<domain>: whether a
// domain announces a policy, and the id that changes when the policy does.
// No I/O.
//
//   sts-text-record = sts-version 1*(*WSP ";" *WSP sts-field) [";"]
//   sts-version     = %s"v=" %s"STSv1"
//   sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
//   sts-extension   = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//                     "=" 1*(%x21-3A / %x3C / %x3E-7E)
//
// RFC 8461 3.1: records that do not begin with "v=STSv1;" are discarded;
// when the number left is not exactly one, or that one is invalid, the
// domain "does not have an available MTA-STS policy". The strings of one
// TXT record are joined with nothing (RFC 7208 3.3's convention, which
// 8461 3.1 refers to for long records).
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dns/lookup.h"

namespace tern::sts {

struct RecordResult {
  enum class Kind {
    kFound,    // exactly one valid record: `id`
    kNone,     // no record beginning with "v=STSv1;"
    kInvalid,  // several, or a broken one: as kNone for the sender, but worth a log line
  };
  Kind kind = Kind::kNone;
  std::string id;     // kFound: 1-32 letters and digits
  std::string error;  // kInvalid: why ("2 records", "id missing")
};

// Parses one record's text; kFound with the id, or kInvalid with the reason
// (kNone when it does not begin with "v=STSv1;").
RecordResult parse_record(std::string_view text);

// Picks the policy record among the TXT records of _mta-sts.<domain>.
RecordResult select_record(const std::vector<TxtRecord>& records);

}  // namespace tern::sts
