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
  // Any bare CR or LF is an error (default; as chasquid, Postfix 3.9). The
  // reader then keeps scanning, dropping the rest, until the real
  // <CRLF>.<CRLF>, so the session stays in step with the client and can
  // reject the message with a reply instead of running smuggled commands.
  kReject,
  kNormalize,  // bare CR, bare LF become CRLF in the stored body
};

class DataReader {
 public:
  enum class Status {
    kNeedMore,  // all input consumed, end not seen yet
    kDone,      // end marker consumed; `consumed` says how much of the input was used
  };
  enum class Error { kNone, kBareNewline };

  struct Result {
    Status status;
    // kNeedMore: in.size(). kDone: octets of `in` used, up to and including
    // the LF of the end marker; the rest belongs to the next command.
    size_t consumed;
  };

  DataReader(uint64_t max_size, size_t max_line, BareNewline policy)
      : max_size_(max_size), max_line_(max_line), policy_(policy) {}

  // Decodes `in` and appends body octets (CRLF line ends, unstuffed) to
  // *out, except octets beyond max_size, which are counted but dropped.
  // `in` may be split anywhere: state (such as a CR whose LF has not come
  // yet) carries over to the next call. A leading "." is removed from every
  // line (RFC 5321 4.5.2). NUL octets are ordinary data.
  // A bare CR or LF ends a line (so a "." after it is unstuffed) but is
  // never part of the end marker. Under kNormalize it is stored as CRLF.
  // Under kReject the first one sets error() to kBareNewline; from there on
  // nothing more is appended (size() still counts), and the caller must
  // discard *out and reject the message once kDone comes.
  // REQUIRES: out != nullptr. After kDone, further calls are not allowed
  // (they consume nothing and return kDone again).
  Result feed(std::string_view in, std::string* out);

  // Octets of body seen so far (after unstuffing), including dropped ones.
  uint64_t size() const { return size_; }
  bool too_big() const { return size_ > max_size_; }
  // True if a line longer than max_line octets (including CRLF, not
  // counting a stuffed leading dot: RFC 5321 4.5.3.1.6) was seen. Decoding
  // goes on to the end marker; the session reports it then.
  bool line_too_long() const { return line_too_long_; }
  Error error() const { return error_; }

 private:
  uint64_t max_size_;
  size_t max_line_;
  BareNewline policy_;
  uint64_t size_ = 0;
  bool line_too_long_ = false;
  Error error_ = Error::kNone;
  // Where the decoder stands; data_reader.cc documents each state.
  enum class State { kLineStart, kSoftLineStart, kText, kCR, kDot, kDotCR, kDone };

  // Appends n body octets, dropping what is beyond max_size or after an error.
  void emit(const char* p, size_t n, std::string* out);
  // Ends the current line with CRLF. `hard` if it was a real CRLF, which is
  // the only kind of line end an end marker may follow.
  void end_line(bool hard, std::string* out);
  // The bookkeeping of end_line once the CRLF has been emitted.
  void line_ended(bool hard);
  // Handles a bare CR or LF: records the error under kReject, then ends the
  // line softly.
  void bare_newline(std::string* out);

  State state_ = State::kLineStart;
  size_t line_len_ = 0;  // octets of the current line so far, after unstuffing, without CRLF
};

}  // namespace tern
