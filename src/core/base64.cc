// Base64 per RFC 4648 4. See base64.h for the contract.
#include "core/base64.h"

#include <array>
#include <cstdint>

namespace tern {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Maps an octet to its 6-bit value, or -1 if it is not in the alphabet.
constexpr std::array<int8_t, 256> make_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kDecode = make_table();

int value_of(char c) { return kDecode[static_cast<unsigned char>(c)]; }

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto byte = [&](size_t k) {
    return static_cast<uint32_t>(static_cast<unsigned char>(data[k]));
  };
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += kAlphabet[n & 63];
  }
  const size_t left = data.size() - i;
  if (left > 0) {
    const uint32_t n = byte(i) << 16 | (left == 2 ? byte(i + 1) << 8 : 0);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += left == 2 ? kAlphabet[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    // Padding: only in the last quantum, as "xx==" or "xxx=".
    size_t pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    uint32_t n = 0;
    for (size_t k = 0; k < 4 - pad; ++k) {
      const int v = value_of(text[i + k]);
      if (v < 0) return std::nullopt;  // includes a misplaced '='
      n |= static_cast<uint32_t>(v) << (18 - 6 * k);
    }
    out += static_cast<char>(n >> 16 & 0xFF);
    if (pad == 2) {
      if ((n & 0xFFFF) != 0) return std::nullopt;  // non-canonical: RFC 4648 3.5
      break;
    }
    out += static_cast<char>(n >> 8 & 0xFF);
    if (pad == 1) {
      if ((n & 0xFF) != 0) return std::nullopt;
      break;
    }
    out += static_cast<char>(n & 0xFF);
  }
  return out;
}

}  // namespace tern
