// DataReader decodes the mail data that follows DATA (RFC 5321 4.1.1.4, 4.5.2):
// it removes dot-stuffing, finds the end marker and enforces limits, one
// chunk of input at a time, without buffering the message.
//
// The only end of data is <CRLF>.<CRLF> (the first line may be "."
// directly, since DATA's own CRLF precedes it). A bare CR or LF never ends
// the data: depending on policy it is an error or is normalised to CRLF.
// This is what defeats "SMTP smuggling" (see ../shared/refs/suites/smuggling.md).
//
// Thread-compatible. No I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tern {

enum class BareNewline {
  kReject,     // any bare CR or LF is an error (default; as chasquid, Postfix 3.9)
  kNormalize,  // bare CR, bare LF become CRLF in the stored body
};

class DataReader {
 public:
  enum class Status {
    kNeedMore,  // all input consumed, end not seen yet
    kDone,      // end marker consumed; `consumed` says how much of the input was used
    kError,     // protocol error (bare CR/LF under kReject): stop, reply, close
  };
  enum class Error { kNone, kBareNewline };

  struct Result {
    Status status;
    size_t consumed;  // octets of `in` used, including the end marker
  };

  DataReader(uint64_t max_size, size_t max_line, BareNewline policy)
      : max_size_(max_size), max_line_(max_line), policy_(policy) {}

  // Decodes `in` and appends body octets (CRLF line ends, unstuffed) to
  // *out, except octets beyond max_size, which are counted but dropped.
  // After kDone or kError, further calls are not allowed.
  Result feed(std::string_view in, std::string* out);

  // Octets of body seen so far (after unstuffing), including dropped ones.
  uint64_t size() const { return size_; }
  bool too_big() const { return size_ > max_size_; }
  // True if a line longer than max_line octets (including CRLF) was seen.
  bool line_too_long() const { return line_too_long_; }
  Error error() const { return error_; }

 private:
  uint64_t max_size_;
  size_t max_line_;
  BareNewline policy_;
  uint64_t size_ = 0;
  bool line_too_long_ = false;
  Error error_ = Error::kNone;
  // Parser state; the implementation documents it.
  int state_ = 0;
  size_t line_len_ = 0;
};

}  // namespace tern
