// RDATA decoding. Names inside RDATA are never compressed in what
// libunbound returns (it stores records uncompressed), so a compression
// pointer here means a malformed record.
#include "dns/rdata.h"

#include <fmt/format.h>

#include <array>

namespace tern {
namespace {

constexpr size_t kMaxNameOctets = 255;  // RFC 1035 3.1, wire form

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool plain(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

std::optional<std::string> read_name(std::string_view data, size_t* pos) {
  std::string out;
  size_t p = *pos;
  size_t wire = 0;
  for (;;) {
    if (p >= data.size()) return std::nullopt;
    const auto len = static_cast<unsigned char>(data[p++]);
    if (len & 0xC0) return std::nullopt;  // compression pointer or extended label type
    wire += 1 + len;
    if (wire > kMaxNameOctets) return std::nullopt;
    if (len == 0) break;
    if (data.size() - p < len) return std::nullopt;
    if (!out.empty()) out += '.';
    for (size_t i = 0; i < len; ++i) {
      const auto c = static_cast<unsigned char>(data[p + i]);
      if (plain(c)) {
        out += lower(static_cast<char>(c));
      } else if (c == '.') {
        out += "\\.";
      } else {
        out += fmt::format("\\{:03d}", c);
      }
    }
    p += len;
  }
  *pos = p;
  if (out.empty()) out = ".";
  return out;
}

std::optional<MxRecord> parse_mx(std::string_view rdata) {
  if (rdata.size() < 3) return std::nullopt;
  MxRecord mx;
  mx.preference = static_cast<uint16_t>((static_cast<unsigned char>(rdata[0]) << 8) |
                                        static_cast<unsigned char>(rdata[1]));
  size_t pos = 2;
  auto host = read_name(rdata, &pos);
  if (!host || pos != rdata.size()) return std::nullopt;
  mx.host = std::move(*host);
  return mx;
}

std::optional<TxtRecord> parse_txt(std::string_view rdata) {
  if (rdata.empty()) return std::nullopt;  // RFC 1035 3.3.14: one or more strings
  TxtRecord txt;
  size_t p = 0;
  while (p < rdata.size()) {
    const auto len = static_cast<unsigned char>(rdata[p++]);
    if (rdata.size() - p < len) return std::nullopt;
    txt.emplace_back(rdata.substr(p, len));
    p += len;
  }
  return txt;
}

std::optional<asio::ip::address> parse_a(std::string_view rdata) {
  asio::ip::address_v4::bytes_type b;
  if (rdata.size() != b.size()) return std::nullopt;
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<unsigned char>(rdata[i]);
  return asio::ip::address(asio::ip::address_v4(b));
}

std::optional<asio::ip::address> parse_aaaa(std::string_view rdata) {
  asio::ip::address_v6::bytes_type b;
  if (rdata.size() != b.size()) return std::nullopt;
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<unsigned char>(rdata[i]);
  return asio::ip::address(asio::ip::address_v6(b));
}

std::optional<std::string> parse_ptr(std::string_view rdata) {
  size_t pos = 0;
  auto name = read_name(rdata, &pos);
  if (!name || pos != rdata.size()) return std::nullopt;
  return name;
}

std::optional<TlsaRecord> parse_tlsa(std::string_view rdata) {
  if (rdata.size() < 4) return std::nullopt;  // three octets and some data
  TlsaRecord t;
  t.usage = static_cast<uint8_t>(rdata[0]);
  t.selector = static_cast<uint8_t>(rdata[1]);
  t.matching = static_cast<uint8_t>(rdata[2]);
  t.data = std::string(rdata.substr(3));
  return t;
}

std::string reverse_name(const asio::ip::address& address) {
  asio::ip::address a = address;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  std::string out;
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    return fmt::format("{}.{}.{}.{}.in-addr.arpa", b[3], b[2], b[1], b[0]);
  }
  const auto b = a.to_v6().to_bytes();
  constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = b.size(); i-- > 0;) {
    out += kHex[b[i] & 0xF];
    out += '.';
    out += kHex[b[i] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

std::string normalize_name(std::string_view name) {
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) c = lower(c);
  return out;
}

}  // namespace tern
