// ReplyParser: the client side's reader of SMTP replies (RFC 5321 4.2),
// and parse_ehlo_reply(), what a 250 to EHLO announces (4.1.1.1). ReplyParser is
// fed with whatever bytes the connection yields, in chunks cut anywhere.
// It hands out complete replies, multi-line ones joined:
//
//   parser.feed(bytes);
//   while (std::optional<Reply> r = parser.next()) handle(*r);
//   if (parser.error() != ReplyParser::Error::kNone) give up on the connection;
//
// Accepted syntax (RFC 5321 4.2 Reply-line):
//   * a line is a three-digit code, then "-" (more lines follow), " " or
//     nothing (the last line), then text. Every line of one reply carries
//     the same code. The code is 2xx..5xx with a second digit 0..5.
//   * lines end with CRLF. A bare LF is tolerated as a line end (the CR is
//     optional), as most clients do: how a client splits replies creates
//     no ambiguity for any third party (unlike a server reading DATA), and
//     leniency here keeps sloppy servers reachable.
//     A CR anywhere else, or a NUL, is a syntax error: reply text ends up
//     in logs and bounce messages, where such octets could forge lines.
//   * UTF-8 and other 8-bit octets are kept as they are (RFC 6531 allows
//     UTF-8 reply text).
//   * an RFC 3463 enhanced status code ("5.1.1") at the start of the text
//     is taken out into Reply::enhanced when its class digit matches the
//     code's first digit (RFC 3463 2: a 5xx reply carries 5.x.x). This is
//     done whether or not ENHANCEDSTATUSCODES was announced, as many
//     servers send the codes regardless. The code comes from the first
//     line and is removed from every line that repeats it (RFC 2034 3).
//     Reply::wire() therefore gives back an equivalent of what was read.
// Limits (every limit is a parameter; any excess is an error, and no more
// than max_line octets of an unfinished line are ever buffered per line):
//   max_line  octets per line, line end included (RFC 5321 4.5.3.1.5 says
//             512; real servers exceed it, so the default is 4096);
//   max_lines lines per reply.
//
// An error is final: next() returns nullopt from then on, because a client
// that lost track of the server's replies cannot know what it agreed to.
//
// Thread-compatible. No I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/reply.h"

namespace tern {

class ReplyParser {
 public:
  struct Limits {
    size_t max_line = 4096;
    size_t max_lines = 64;
  };

  enum class Error {
    kNone,
    kSyntax,        // not "ddd", "ddd text" or "ddd-text"; a bare CR or NUL; a code out of range
    kCodeMismatch,  // a line of a multi-line reply carries another code
    kLineTooLong,   // a line over Limits::max_line
    kTooManyLines,  // a reply over Limits::max_lines
  };

  ReplyParser();
  explicit ReplyParser(Limits limits) : limits_(limits) {}

  // Appends bytes read from the server. Nothing is parsed until next().
  void feed(std::string_view bytes);

  // Returns the next complete reply, or nullopt when more input is needed
  // or an error has occurred (see error()).
  std::optional<Reply> next();

  Error error() const { return error_; }
  // A short description of the error for logs (the offending line,
  // truncated and with control octets escaped); empty when there is none.
  const std::string& error_detail() const { return detail_; }

  // The lines of the reply last returned by next(), as received, without
  // their line ends. For transcripts.
  const std::vector<std::string>& raw_lines() const { return raw_; }

  // Octets fed but not yet part of a returned reply (including the lines
  // of an unfinished multi-line reply).
  size_t buffered() const { return in_.size() - pos_ + pending_octets_; }

  // Drops everything fed but not yet returned, including an unfinished
  // multi-line reply. Used after the 220 to STARTTLS: plaintext that came
  // after it must never be read as a reply (RFC 3207 5, CVE-2011-0411
  // family; Poddebniak et al. 2021).
  void discard();

 private:
  // Parses one line (no line end). Returns false on error.
  bool take_line(std::string_view line);
  void fail(Error e, std::string_view line);

  Limits limits_;
  std::string in_;
  size_t pos_ = 0;
  Error error_ = Error::kNone;
  std::string detail_;
  // The reply being assembled.
  Reply cur_;
  std::vector<std::string> cur_raw_;
  size_t pending_octets_ = 0;  // octets of the lines in cur_raw_
  bool complete_ = false;
  std::vector<std::string> raw_;
};

// Splits an RFC 3463 enhanced status code off the front of `text` when it
// is one ("2.1.0 Ok" -> "2.1.0", text "Ok") and its class digit equals
// `klass`, which must be 2, 4 or 5 (the only classes). Returns the code, or "" (text unchanged)
// when there is none. class "." subject "." detail, subject and detail 1..3 digits (RFC 3463 2),
// followed by a space or the end of the text.
std::string take_enhanced_code(std::string_view* text, int klass);

// What the server announced in its reply to EHLO (RFC 5321 4.1.1.1).
struct Capabilities {
  bool esmtp = false;  // EHLO was answered; false after the HELO fallback
  bool pipelining = false;
  bool size = false;
  uint64_t max_size = 0;  // SIZE's value; 0: no fixed limit announced (RFC 1870 4)
  bool eightbitmime = false;
  bool smtputf8 = false;
  bool chunking = false;
  bool dsn = false;
  bool starttls = false;
  bool enhanced_status_codes = false;
  bool requiretls = false;        // RFC 8689 2
  std::vector<std::string> auth;  // mechanisms, upper case, from "AUTH" and legacy "AUTH="

  bool offers_auth(std::string_view mechanism) const;
};

// Parses a 250 reply to EHLO: keywords are case-insensitive; unknown ones
// are ignored, as is a SIZE value that is not a number.
Capabilities parse_ehlo_reply(const Reply& reply);

}  // namespace tern
