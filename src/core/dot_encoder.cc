#include "core/dot_encoder.h"

#include <algorithm>
#include <cstring>

namespace tern {

namespace {

// The first CR or LF at or after `from`, or npos. Two memchr scans instead
// of find_first_of, which libstdc++ runs as one lookup per octet (it was
// half of `tern bench`'s CPU at 100 KiB); the CR scan stops at the LF, so
// each octet is looked at twice at most.
size_t find_line_end(std::string_view in, size_t from) {
  const char* p = in.data() + from;
  const size_t len = in.size() - from;
  const char* lf = static_cast<const char*>(std::memchr(p, '\n', len));
  const size_t until = lf ? static_cast<size_t>(lf - p) : len;
  const char* cr = static_cast<const char*>(std::memchr(p, '\r', until));
  if (cr) return from + static_cast<size_t>(cr - p);
  return lf ? from + until : std::string_view::npos;
}

// Splits `in` into runs of line content and line ends, calling text(run)
// (never empty) and eol(bare). A CRLF is one line end, and so is a bare CR
// or a bare LF. A CR at the end of `in` is left in *pending_cr until the
// next call shows what follows it.
template <class Text, class Eol>
void split_lines(std::string_view in, bool* pending_cr, Text&& text, Eol&& eol) {
  size_t i = 0;
  const size_t n = in.size();
  if (*pending_cr && n > 0) {
    *pending_cr = false;
    if (in[0] == '\n') {
      eol(false);
      i = 1;
    } else {
      eol(true);
    }
  }
  while (i < n) {
    const size_t stop = find_line_end(in, i);
    if (stop == std::string_view::npos) {
      text(in.substr(i));
      return;
    }
    if (stop > i) text(in.substr(i, stop - i));
    if (in[stop] == '\n') {
      eol(true);
      i = stop + 1;
    } else if (stop + 1 == n) {
      *pending_cr = true;
      return;
    } else if (in[stop + 1] == '\n') {
      eol(false);
      i = stop + 2;
    } else {
      eol(true);
      i = stop + 1;
    }
  }
}

}  // namespace

void DotEncoder::put(std::string_view s, bool body, std::string* out) {
  if (framing_ == Framing::kBdat) {
    // Never more than the BDAT command announced.
    const uint64_t room = bdat_size_ > body_ ? bdat_size_ - body_ : 0;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(room, s.size()));
    out->append(s.data(), n);
    wire_ += n;
  } else {
    out->append(s);
    wire_ += s.size();
  }
  if (body) body_ += s.size();
}

void DotEncoder::text(std::string_view run, std::string* out) {
  // RFC 5321 4.5.2: a line that starts with "." gets one more.
  if (at_line_start_ && framing_ == Framing::kData && run.front() == '.') put(".", false, out);
  at_line_start_ = false;
  put(run, true, out);
}

void DotEncoder::line_end(std::string* out) {
  put("\r\n", true, out);
  at_line_start_ = true;
}

void DotEncoder::encode(std::string_view in, std::string* out) {
  split_lines(
      in, &pending_cr_, [&](std::string_view run) { text(run, out); },
      [&](bool) { line_end(out); });
}

bool DotEncoder::finish(std::string* out) {
  if (pending_cr_ || !at_line_start_) line_end(out);
  pending_cr_ = false;
  if (framing_ == Framing::kData) put(".\r\n", false, out);
  finished_ = true;
  ok_ = framing_ == Framing::kData || body_ == bdat_size_;
  return ok_;
}

void BodyScanner::feed(std::string_view in) {
  split_lines(
      in, &pending_cr_,
      [&](std::string_view run) {
        if (!eight_bit_) {
          eight_bit_ = std::any_of(run.begin(), run.end(),
                                   [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
        }
        if (!has_nul_) has_nul_ = std::memchr(run.data(), '\0', run.size()) != nullptr;
        line_len_ += run.size();
        longest_ = std::max(longest_, line_len_);
      },
      [&](bool bare) {
        if (bare) ++bare_;
        size_ += line_len_ + 2;
        line_len_ = 0;
      });
}

}  // namespace tern
