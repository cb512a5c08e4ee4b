// DMARC policy records (RFC 7489 6.3, 6.4): telling a DMARC record from the
// other TXT records at _dmarc.<domain>, and parsing one into the policy a
// receiver applies and the addresses reports go to. No I/O.
//
// What counts as what (RFC 7489 6.3, 6.4, 6.6.3):
//   - A record is a DMARC record when it starts with "v=DMARC1" (tag name
//     any case, "DMARC1" exactly as written: ABNF %x44.4d.41.52.43.31),
//     with optional WSP around "=", followed by the end, WSP or ";".
//   - Tags are "name=value" separated by ";" with WSP (SP, HTAB) allowed
//     around both. Tag names and the keyword values (none, quarantine,
//     reject, r, s, 0, 1, d) are case-insensitive: ABNF quoted strings are.
//   - Unknown tags are ignored. A tag that is syntactically broken or has an
//     invalid value falls back to its default and leaves a warning ("Syntax
//     errors in the remainder of the record SHOULD be discarded in favor of
//     default values", 6.3), except p and sp: see parse_record().
//   - A tag given twice makes the whole record invalid: DMARC records use
//     DKIM's tag-list syntax (6.3), where a repeated tag invalidates the
//     list (RFC 6376 3.2).
//   - p need not be the second tag: 6.4 wants v then p, but a record with p
//     later states the owner's intent just as clearly (OpenDMARC accepts it
//     too), so we honour it and say so in a warning.
//
// Value types and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::dmarc {

// The requested handling of mail that fails DMARC (RFC 7489 6.3 p, sp).
enum class Policy { kNone, kQuarantine, kReject };

// "none", "quarantine", "reject".
const char* policy_name(Policy p);

// Identifier alignment modes (RFC 7489 3.1, 6.3 adkim, aspf).
enum class Alignment { kRelaxed, kStrict };

// "r", "s" (as written in records and aggregate reports).
const char* alignment_name(Alignment a);

// One reporting URI of rua= or ruf= (RFC 7489 6.2).
struct ReportUri {
  std::string uri;      // as written, without the "!size" suffix: "mailto:d@example.com"
  std::string address;  // the mailto: address, percent-decoded: "d@example.com"
  // The size limit of "!10m" in octets (units are powers of two, 6.4);
  // 0 when none was given.
  uint64_t max_size = 0;

  // The address's domain (after the last "@"), lower-cased.
  std::string domain() const;
  // The URI as it would be written in a record: uri, then "!<octets>" when
  // max_size is set.
  std::string text() const;

  friend bool operator==(const ReportUri&, const ReportUri&) = default;
};

struct Record {
  Policy p = Policy::kNone;
  std::optional<Policy> sp;  // absent: p applies to subdomains too
  Alignment adkim = Alignment::kRelaxed;
  Alignment aspf = Alignment::kRelaxed;
  int pct = 100;               // 0-100
  std::vector<ReportUri> rua;  // mailto: URIs only (others are ignored, 6.3)
  std::vector<ReportUri> ruf;  // likewise; tern sends no failure reports
  std::string fo = "0";        // as given when valid, e.g. "1:d"
  uint32_t ri = 86400;         // seconds
  // True when the record had no valid p= (or an invalid sp=) and is used
  // as p=none because rua= named a valid URI (6.6.3 step 6.1).
  bool p_defaulted = false;
  // What was ignored or defaulted, for people ("pct=150 is not 0-100;
  // using 100"). Never affects evaluation.
  std::vector<std::string> warnings;
};

// True when `txt` (one TXT record, its strings joined with nothing between)
// is a DMARC record: starts with "v=DMARC1" as above. Records for which
// this is false are discarded during discovery (6.6.3 steps 2 and 4).
bool is_dmarc_record(std::string_view txt);

// Parses a DMARC record. Returns nullopt, with the reason in *error when
// `error` is not null, when:
//   - is_dmarc_record(txt) is false;
//   - a tag appears twice;
//   - p= is missing or invalid, or sp= is invalid, and rua= holds no
//     syntactically valid URI (6.6.3 step 6.2: no DMARC processing).
// When p= is missing or invalid (or sp= invalid) but rua= holds a valid
// URI, the record is used as p=none with no sp (6.6.3 step 6.1) and
// p_defaulted is set; rua= and the other tags keep their values.
// pct= outside 0-100 is clamped (above 100: 100); a pct= that is not
// digits gives the default 100.
std::optional<Record> parse_record(std::string_view txt, std::string* error);

// Parses one dmarc-uri: URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ] (6.4).
// Returns false when it is not a URI (no scheme, whitespace or nothing
// after the ":"), when the size does not fit in 64 bits, or when it is a
// mailto: URI without a usable address. *is_mailto says whether the scheme
// is mailto (case-insensitive); out->address is set only for mailto:.
bool parse_report_uri(std::string_view text, ReportUri* out, bool* is_mailto);

}  // namespace tern::dmarc
