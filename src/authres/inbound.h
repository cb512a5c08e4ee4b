// The inbound message filter: what happens to the octets of one incoming
// message between the DATA reader and the spool, without I/O.
//
//   authres::InboundFilter f({.authserv_id = config.hostname});
//   for (each chunk as stored) spool.write(f.write(chunk));
//   spool.write(f.finish());
//   ... f.verifier(): look up its key_queries() (dkim/dns_keys.h), results()
//   ... f.from_domains(): the RFC 5322 From domain(s) for DMARC
//   then prepend authres::build_header(...) (authres/header.h).
//
// It does three things while the message streams:
//
// - Removes forged Authentication-Results fields. RFC 8601 5: a border MTA
//   MUST delete any field that claims, by its authserv-id, to come from
//   inside its trust boundary (ours: options.authserv_id, compared ignoring
//   ASCII case, surrounding whitespace and trailing dots) when it arrives from outside. Fields of
//   other servers stay (a reader may trust them by their authserv-id; we do not). To decide, the
//   whole header section is held back until its blank line and then released, minus those fields;
//   body octets pass straight through. Removal only drops whole fields (with their folded lines);
//   every other octet, the server's own Received/Received-SPF fields on top included, is released
//   unchanged and in order.
//
// - Feeds the DKIM verifier the message as it arrived, BEFORE any removal:
//   a signature may cover an Authentication-Results field (RFC 8601 5 notes
//   that removing one "may invalidate signed messages"), and we judge the
//   signature on what the signer sent. The stored copy lacks the forged
//   field, so a later re-verification of such a signature by someone else
//   (a MUA, a filter) fails: the price RFC 8601 5 accepts for not passing
//   on a forged result.
//
// - Reads the From fields (RFC 5322 3.6.2) for DMARC (RFC 7489 6.6.1): how
//   many there are and the domain of each mailbox they hold.
//
// A header section longer than options.max_header (no blank line within
// it) is released unchanged as soon as that is known, and everything after
// passes through: nothing is removed and no From is read (overflow()).
//
// Thread-compatible; no I/O, no clock (options.dkim.now).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/message.h"
#include "dkim/verifier.h"

namespace tern::authres {

struct InboundOptions {
  std::string authserv_id;    // ours (the host name); empty: nothing is removed
  bool remove_forged = true;  // false: every Authentication-Results field stays
  bool verify_dkim = true;    // false: the verifier is given nothing
  dkim::VerifyOptions dkim;
  size_t max_header = 1 << 20;  // octets of header section held back at most
};

class InboundFilter {
 public:
  explicit InboundFilter(InboundOptions options);
  InboundFilter(const InboundFilter&) = delete;
  InboundFilter& operator=(const InboundFilter&) = delete;

  // Takes the next octets of the message as stored (CRLF line ends,
  // dot-unstuffed, chunked any way). Returns the octets to store now: empty
  // while the header section is held back; at its blank line the filtered
  // header section, the blank line and whatever of the body came with it;
  // afterwards `chunk` itself. The view points into `chunk` or into the
  // filter, and stays valid until the next call (and as long as `chunk`).
  // REQUIRES: finish() was not called.
  std::string_view write(std::string_view chunk);

  // Ends the message: returns what is still held (a message without a
  // blank line is all header section, RFC 5322 2.1, and is filtered as
  // such) and finishes the verifier. Valid until the filter is destroyed.
  // REQUIRES: called once.
  std::string_view finish();

  // The DKIM verifier, fed the original octets when options.verify_dkim
  // (otherwise it saw nothing and, after finish(), reports no signature).
  // Its key_queries() may be looked up once its headers_done(); results()
  // after finish().
  dkim::Verifier& verifier() { return verifier_; }

  // The number of From fields seen, and the domain of every mailbox they
  // hold, lower-cased, in order (one per mailbox, so the same domain may
  // repeat). Groups contribute their members; display names may be
  // quoted, RFC 2047 encoded or raw UTF-8. A From that does not parse as an
  // address list contributes no domain (but counts as a field). Known once
  // the header section is released (header_released()).
  size_t from_fields() const { return from_fields_; }
  const std::vector<std::string>& from_domains() const { return from_domains_; }

  // Forged Authentication-Results fields dropped.
  size_t removed() const { return removed_; }
  // True once the header section has gone out (filtered or, on overflow,
  // not).
  bool header_released() const { return state_ != State::kHeader; }
  // True when the header section was longer than max_header: released
  // unchanged, no From read.
  bool overflow() const { return overflow_; }

 private:
  enum class State { kHeader, kBody, kDone };

  // Appends the fields of `section` (complete lines, no blank line) to
  // out_, without our forged Authentication-Results fields, and reads From.
  void filter_header(std::string_view section);
  void read_from(const dkim::HeaderField& field);
  bool forged(const dkim::HeaderField& field) const;

  InboundOptions options_;
  dkim::Verifier verifier_;
  State state_ = State::kHeader;
  bool overflow_ = false;
  bool verifier_finished_ = false;
  std::string held_;  // the header section so far
  std::string out_;   // what the last write()/finish() returned, when not `chunk`
  size_t from_fields_ = 0;
  std::vector<std::string> from_domains_;
  size_t removed_ = 0;
};

}  // namespace tern::authres
