// MessageTemplate: the messages `tern bench` sends, each exactly `size`
// octets as handed to DATA (before dot-stuffing; the end marker not
// counted): a small header that differs per message (Subject and
// Message-ID carry a sequence number) and a body shared by all messages.
//
//   From: <from>
//   To: <to>
//   Date: Thu, 01 Jan 2026 00:00:00 +0000
//   Subject: tern bench 0000000042
//   Message-ID: <0000000042.TAG@tern.bench>
//
//   ABCDEF...  (76 letters per line, CRLF; the last line shorter)
//
// Every line ends in CRLF, no line starts with ".", no octet is 8-bit, so
// the wire size is exactly size + 3 (".\r\n") and SIZE= would be `size`.
// The sequence number is zero-padded, so every message of a run has the
// same header length and the body is built once.
//
// Value type; const methods are thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace tern::bench {

class MessageTemplate {
 public:
  // `date`: an RFC 5322 date of exactly 31 characters
  // ("Thu, 01 Jan 2026 00:00:00 +0000"); `tag`: 8 characters that make
  // the Message-IDs of this run unique.
  // REQUIRES: size >= min_size(from, to).
  MessageTemplate(uint64_t size, std::string from, std::string to, std::string date,
                  std::string tag);

  // The smallest size possible with these addresses: the header and one
  // empty body line.
  static uint64_t min_size(const std::string& from, const std::string& to);
  // "Thu, 01 Jan 2026 00:00:00 +0000" for the current time, in UTC.
  static std::string now_date();

  uint64_t size() const { return size_; }
  // The header of message `seq` (< 10^10), with the blank line after it.
  std::string head(uint64_t seq) const;
  size_t head_size() const { return head_size_; }
  // The body: size() - head_size() octets, shared by all messages.
  const std::string& body() const { return body_; }
  // The whole message (for tests; the sender streams head() then body()).
  std::string render(uint64_t seq) const { return head(seq) + body_; }

 private:
  uint64_t size_;
  std::string from_, to_, date_, tag_;
  size_t head_size_;
  std::string body_;
};

// Lines of letters (76 and CRLF; the last ones shorter or one longer),
// exactly `octets` octets in all. Throws std::invalid_argument for 1.
std::string filler_lines(uint64_t octets);

}  // namespace tern::bench
