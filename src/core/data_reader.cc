// The DATA decoder: a byte-level state machine (RFC 5321 4.1.1.4 end of
// data, 4.5.2 dot-stuffing, 2.3.8 CRLF only). See data_reader.h.
//
// States, and what the next octet does:
//   kLineStart      after a real CRLF (or at the start of the data, where
//                   DATA's own CRLF came before). "." -> kDot; else kText.
//   kSoftLineStart  after a bare CR or LF. "." is dropped (unstuffed) but
//                   can never begin an end marker. -> kText.
//   kText           inside a line. CR -> kCR; LF -> bare newline; other
//                   octets are body (copied in runs found with memchr; a
//                   run that ends in CRLF is copied with it in one append).
//   kCR             a CR whose LF has not been seen (possibly in the next
//                   chunk). LF -> real line end, kLineStart; else the CR was
//                   bare, and the octet is looked at again in kSoftLineStart.
//   kDot            "." at a hard line start; the dot is dropped whatever
//                   follows. CR -> kDotCR; LF -> bare newline; else kText.
//   kDotCR          ".<CR>" at a hard line start. LF -> end of data; else
//                   the CR was bare and the octet is looked at again.
//   kDone           end marker consumed.
// A bare CR or LF (RFC 5321 2.3.8 forbids them) ends the line "softly", so
// "\n.\r\n", "\r\n.\n" and the other smuggling variants never end the data.
#include "core/data_reader.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace tern {

void DataReader::emit(const char* p, size_t n, std::string* out) {
  if (error_ == Error::kNone && size_ < max_size_) {
    out->append(p, static_cast<size_t>(std::min<uint64_t>(n, max_size_ - size_)));
  }
  size_ += n;
}

void DataReader::end_line(bool hard, std::string* out) {
  emit("\r\n", 2, out);
  line_ended(hard);
}

void DataReader::line_ended(bool hard) {
  if (line_len_ + 2 > max_line_) line_too_long_ = true;  // RFC 5321 4.5.3.1.6
  line_len_ = 0;
  state_ = hard ? State::kLineStart : State::kSoftLineStart;
}

void DataReader::bare_newline(std::string* out) {
  if (policy_ == BareNewline::kReject) error_ = Error::kBareNewline;
  end_line(/*hard=*/false, out);
}

DataReader::Result DataReader::feed(std::string_view in, std::string* out) {
  if (state_ == State::kDone) return {Status::kDone, 0};
  const char* const data = in.data();
  const size_t n = in.size();
  // Next CR / LF at or after i, cached so that each memchr covers new
  // ground (a chunk without CR but with many bare LFs stays linear).
  // -1: not searched yet; n: none left.
  std::ptrdiff_t next_cr = -1;
  std::ptrdiff_t next_lf = -1;
  const auto find = [&](size_t from, char c) -> std::ptrdiff_t {
    const void* hit = std::memchr(data + from, c, n - from);
    return hit ? static_cast<const char*>(hit) - data : static_cast<std::ptrdiff_t>(n);
  };

  size_t i = 0;
  while (i < n) {
    const char c = data[i];
    switch (state_) {
      case State::kLineStart:
        if (c == '.') {
          state_ = State::kDot;
          ++i;
        } else {
          state_ = State::kText;
        }
        break;
      case State::kSoftLineStart:
        if (c == '.') ++i;  // unstuffed, but not an end marker
        state_ = State::kText;
        break;
      case State::kText: {
        const auto pos = static_cast<std::ptrdiff_t>(i);
        if (next_cr < pos) next_cr = find(i, '\r');
        if (next_lf < pos) next_lf = find(i, '\n');
        if (next_lf == next_cr + 1 && static_cast<size_t>(next_lf) < n) {
          // Fast path, the usual case: the line ends in CRLF within this
          // chunk. Copy it with its CRLF in one go.
          const auto cr = static_cast<size_t>(next_cr);
          emit(data + i, cr + 2 - i, out);
          line_len_ += cr - i;
          line_ended(/*hard=*/true);
          i = cr + 2;
          break;
        }
        const auto stop = static_cast<size_t>(std::min(next_cr, next_lf));
        emit(data + i, stop - i, out);
        line_len_ += stop - i;
        i = stop;
        if (i == n) break;
        if (data[i] == '\r') {
          state_ = State::kCR;
        } else {
          bare_newline(out);
        }
        ++i;
        break;
      }
      case State::kCR:
        if (c == '\n') {
          end_line(/*hard=*/true, out);
          ++i;
        } else {
          bare_newline(out);  // c is looked at again from kSoftLineStart
        }
        break;
      case State::kDot:
        if (c == '\r') {
          state_ = State::kDotCR;
          ++i;
        } else if (c == '\n') {
          bare_newline(out);
          ++i;
        } else {
          state_ = State::kText;
        }
        break;
      case State::kDotCR:
        if (c == '\n') {
          state_ = State::kDone;
          return {Status::kDone, i + 1};
        }
        bare_newline(out);
        break;
      case State::kDone:
        return {Status::kDone, i};  // not reached: kDone returns above
    }
  }
  return {Status::kNeedMore, n};
}

}  // namespace tern
