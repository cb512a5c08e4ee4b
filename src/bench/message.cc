#include "bench/message.h"

#include <fmt/format.h>

#include <ctime>
#include <stdexcept>

namespace tern::bench {

namespace {

constexpr size_t kLetters = 76;  // per full body line, then CRLF
constexpr std::string_view kSampleDate = "Thu, 01 Jan 2026 00:00:00 +0000";
constexpr std::string_view kSampleTag = "00000000";

std::string make_head(const std::string& from, const std::string& to, std::string_view date,
                      std::string_view tag, uint64_t seq) {
  return fmt::format(
      "From: <{}>\r\nTo: <{}>\r\nDate: {}\r\nSubject: tern bench {:010}\r\n"
      "Message-ID: <{:010}.{}@tern.bench>\r\n\r\n",
      from, to, date, seq, seq, tag);
}

}  // namespace

std::string filler_lines(uint64_t octets) {
  if (octets == 1) throw std::invalid_argument("filler_lines: 1 octet cannot end in CRLF");
  std::string out;
  out.reserve(octets);
  uint64_t left = octets;
  size_t line = 0;
  while (left > 0) {
    // A full line is kLetters + 2 octets; the last one takes what is left,
    // except that 1 octet cannot be a line: the line before grows by one.
    size_t len = left >= kLetters + 2 ? kLetters + 2 : static_cast<size_t>(left);
    if (left - len == 1) ++len;
    for (size_t i = 0; i + 2 < len; ++i) {
      out.push_back(static_cast<char>('A' + (line + i) % 26));
    }
    out += "\r\n";
    left -= len;
    ++line;
  }
  return out;
}

MessageTemplate::MessageTemplate(uint64_t size, std::string from, std::string to, std::string date,
                                 std::string tag)
    : size_(size),
      from_(std::move(from)),
      to_(std::move(to)),
      date_(std::move(date)),
      tag_(std::move(tag)) {
  if (date_.size() != kSampleDate.size() || tag_.size() != kSampleTag.size()) {
    throw std::invalid_argument("MessageTemplate: date must be 31 and tag 8 characters");
  }
  head_size_ = make_head(from_, to_, date_, tag_, 0).size();
  if (size_ < head_size_ + 2) throw std::invalid_argument("MessageTemplate: size too small");
  body_ = filler_lines(size_ - head_size_);
}

uint64_t MessageTemplate::min_size(const std::string& from, const std::string& to) {
  return make_head(from, to, kSampleDate, kSampleTag, 0).size() + 2;
}

std::string MessageTemplate::now_date() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  // %d is zero-padded and the names are English in the C locale: always 31.
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string MessageTemplate::head(uint64_t seq) const {
  return make_head(from_, to_, date_, tag_, seq % 10000000000ULL);
}

}  // namespace tern::bench
