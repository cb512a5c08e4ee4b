// DotEncoder turns a message body into the octets that go on the wire
// after DATA (RFC 5321 4.1.1.4, 4.5.2) or after "BDAT <size> LAST"
// (RFC 3030 2), one chunk at a time, without buffering the message.
// BodyScanner reads a body the same way and reports what the sender must
// know before MAIL FROM: its size and whether it is 7-bit clean.
//
// Both treat line ends alike, which is what defeats SMTP smuggling on the
// sending side (../shared/refs/suites/smuggling.md, "sending side"):
//   * CRLF stays CRLF; a bare CR and a bare LF each become one CRLF
//     (RFC 5321 2.3.8: CR and LF only ever as a pair). So "\r\r\n" is two
//     line ends, as the server's DataReader counts it under kNormalize.
//   * a CR at the end of one chunk waits for the next to know whether an
//     LF follows.
//   * a body that does not end with a line end gets a CRLF (the CRLF of
//     the end marker <CRLF>.<CRLF> is the last line's own, 4.1.1.4).
//   * NUL octets pass unchanged (never dropped, so they can never join two
//     pieces into a CRLF.CRLF; RFC 5321 4.5.2 says all characters are to
//     be delivered). BodyScanner::has_nul() lets a caller refuse them.
// Under DATA framing every line that starts with "." gets another "."
// (4.5.2), and ".\r\n" ends the data; so "\r\n.\r\n" appears on the wire
// exactly once, as the end marker. Under BDAT framing the chunk size
// delimits the data, so there is no stuffing and no end marker (RFC 3030
// 2), but line ends are normalised just the same, so the server stores the
// same octets whichever command carried them.
//
// Thread-compatible. No I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/params.h"

namespace tern {

class DotEncoder {
 public:
  enum class Framing { kData, kBdat };

  // For DATA: normalised, dot-stuffed, terminated by ".\r\n".
  static DotEncoder Data() { return DotEncoder(Framing::kData, 0); }
  // For "BDAT <size> LAST": normalised only. `size` is what the BDAT
  // command announced; the encoder never writes more than that, and
  // finish() says whether the body came out at exactly that size.
  static DotEncoder Bdat(uint64_t size) { return DotEncoder(Framing::kBdat, size); }

  // Appends the wire form of the next piece of body to *out. `in` may end
  // anywhere, even between a CR and its LF.
  // REQUIRES: out != nullptr; finish() not called yet.
  void encode(std::string_view in, std::string* out);

  // Appends the end of the body: a CRLF unless the body is empty or ended
  // with a line end, then (DATA) ".\r\n". Returns false only under BDAT
  // framing, when the body's size differs from the announced one: then the
  // octets on the wire do not match the BDAT command and the caller must
  // close the connection (without QUIT: the server is still reading the
  // chunk) rather than let the server read the rest as commands.
  // REQUIRES: out != nullptr; called once.
  bool finish(std::string* out);

  Framing framing() const { return framing_; }
  // Octets of normalised body so far: what SIZE= counts (RFC 1870 2: line
  // ends as CRLF, without stuffing dots and end marker).
  uint64_t body_size() const { return body_; }
  // Octets appended to the output so far.
  uint64_t wire_size() const { return wire_; }
  bool finished() const { return finished_; }
  // After finish(): true if the output is a complete, well-framed body.
  bool ok() const { return finished_ && ok_; }

 private:
  DotEncoder(Framing f, uint64_t bdat_size) : framing_(f), bdat_size_(bdat_size) {}
  void text(std::string_view run, std::string* out);
  void line_end(std::string* out);
  void put(std::string_view s, bool body, std::string* out);

  Framing framing_;
  uint64_t bdat_size_;
  uint64_t body_ = 0;
  uint64_t wire_ = 0;
  bool pending_cr_ = false;    // a CR ended the last chunk
  bool at_line_start_ = true;  // nothing of the current line written yet
  bool finished_ = false;
  bool ok_ = true;
};

// Scans a body, chunk by chunk, for what must be decided before MAIL FROM.
// Every accessor describes the body fed so far as if it ended there.
class BodyScanner {
 public:
  void feed(std::string_view in);

  // True if some octet is >= 0x80: the body needs BODY=8BITMIME (RFC 6152)
  // or must not be sent.
  bool eight_bit() const { return eight_bit_; }
  BodyType body_type() const { return eight_bit_ ? BodyType::k8BitMime : BodyType::k7Bit; }
  bool has_nul() const { return has_nul_; }
  // Bare CRs and LFs (each becomes a CRLF on the wire).
  uint64_t bare_line_ends() const { return bare_ + (pending_cr_ ? 1 : 0); }
  // The longest line, in octets without its line end.
  size_t longest_line() const { return longest_; }
  // RFC 5321 4.5.3.1.6: a text line is at most 1000 octets with its CRLF.
  bool has_long_lines() const { return longest_ > 998; }
  // The octets DotEncoder::body_size() will count for this body: the value
  // for SIZE= and for "BDAT <size> LAST".
  uint64_t size() const { return size_ + line_len_ + ((pending_cr_ || line_len_ > 0) ? 2 : 0); }

 private:
  bool eight_bit_ = false;
  bool has_nul_ = false;
  uint64_t bare_ = 0;
  size_t longest_ = 0;
  size_t line_len_ = 0;
  uint64_t size_ = 0;  // octets of complete lines, CRLF included
  bool pending_cr_ = false;
};

}  // namespace tern
