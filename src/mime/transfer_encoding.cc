// Body transfer encodings. See transfer_encoding.h for the contracts.
#include "mime/transfer_encoding.h"

#include "core/base64.h"
#include "mime/header.h"

namespace tern::mime {
namespace {

constexpr size_t kMaxEncodedLine = 76;  // RFC 2045 6.7 (5), 6.8
constexpr char kHex[] = "0123456789ABCDEF";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool is_crlf_at(std::string_view s, size_t i) {
  return i + 1 < s.size() && s[i] == '\r' && s[i + 1] == '\n';
}

}  // namespace

std::string_view encoding_name(TransferEncoding e) {
  switch (e) {
    case TransferEncoding::k7bit:
      return "7bit";
    case TransferEncoding::kQuotedPrintable:
      return "quoted-printable";
    case TransferEncoding::kBase64:
      return "base64";
  }
  return "base64";
}

TransferEncoding choose_text_encoding(std::string_view text) {
  bool seven_bit = true;
  size_t line = 0;
  for (size_t i = 0; i < text.size() && seven_bit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (is_crlf_at(text, i)) {
      line = 0;
      ++i;
    } else if (c == 0 || c >= 0x80 || c == '\r' || c == '\n' || ++line > kHardLineLimit) {
      seven_bit = false;
    }
  }
  if (seven_bit) return TransferEncoding::k7bit;
  const size_t qp = qp_encode(text).size();
  const size_t b64 = base64_lines(text).size();
  return qp * 3 <= b64 * 4 ? TransferEncoding::kQuotedPrintable : TransferEncoding::kBase64;
}

std::string qp_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t line = 0;  // octets on the current output line
  for (size_t i = 0; i < text.size(); ++i) {
    if (is_crlf_at(text, i)) {
      out += "\r\n";
      line = 0;
      ++i;
      continue;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    const bool at_break = i + 1 == text.size() || is_crlf_at(text, i + 1);
    const bool literal =
        (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_break);
    const size_t width = literal ? 1 : 3;
    // Room for this unit, plus the "=" of a soft break unless the line ends
    // right after it.
    if (line + width + (at_break ? 0 : 1) > kMaxEncodedLine) {
      out += "=\r\n";
      line = 0;
    }
    if (literal) {
      out += static_cast<char>(c);
    } else {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    line += width;
  }
  return out;
}

std::optional<std::string> qp_decode(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    // One line at a time: transport padding (trailing whitespace) goes.
    size_t end = text.find("\r\n", i);
    const bool hard_break = end != std::string_view::npos;
    if (!hard_break) end = text.size();
    std::string_view line = text.substr(i, end - i);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    bool soft = false;
    for (size_t k = 0; k < line.size(); ++k) {
      if (line[k] != '=') {
        out += line[k];
        continue;
      }
      if (k + 1 == line.size()) {
        soft = true;
        break;
      }
      if (k + 2 >= line.size()) return std::nullopt;
      const int hi = hex_value(line[k + 1]), lo = hex_value(line[k + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      k += 2;
    }
    if (hard_break && !soft) out += "\r\n";
    i = hard_break ? end + 2 : end;
  }
  return out;
}

std::string base64_lines(std::string_view data) {
  const std::string flat = base64_encode(data);
  std::string out;
  out.reserve(flat.size() + flat.size() / kMaxEncodedLine * 2);
  for (size_t i = 0; i < flat.size(); i += kMaxEncodedLine) {
    if (i > 0) out += "\r\n";
    out.append(flat, i, kMaxEncodedLine);
  }
  return out;
}

std::string encode_body(std::string_view data, TransferEncoding e) {
  switch (e) {
    case TransferEncoding::k7bit:
      return std::string(data);
    case TransferEncoding::kQuotedPrintable:
      return qp_encode(data);
    case TransferEncoding::kBase64:
      return base64_lines(data);
  }
  return base64_lines(data);
}

}  // namespace tern::mime
