// base/gzip.h: what comes out is gzip (RFC 1952) that inflates back to
// the input, and the same input gives the same bytes (a resent report is
// identical).
#include "base/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace tern {
namespace {

std::string Gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 31), Z_OK);  // gzip wrapper only
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

TEST(Gzip, InflatesBackToTheInput) {
  std::string data;
  for (int i = 0; i < 5000; ++i) data += "<record><count>" + std::to_string(i) + "</count>\n";
  const std::string z = gzip(data);
  ASSERT_GT(z.size(), 18u);
  EXPECT_LT(z.size(), data.size() / 4);  // compressed
  EXPECT_EQ(Gunzip(z), data);
  EXPECT_EQ(Gunzip(gzip("")), "");
  const std::string binary("\0\xff\r\n", 4);
  EXPECT_EQ(Gunzip(gzip(binary)), binary);
}

TEST(Gzip, SameInputSameBytes) {
  const std::string z = gzip("v=TLSRPTv1 report");
  EXPECT_EQ(gzip("v=TLSRPTv1 report"), z);
  // RFC 1952 2.3: ID1 ID2 CM=8 (deflate), FLG, then MTIME, which stays 0.
  ASSERT_GE(z.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x8b);
  EXPECT_EQ(z[2], 8);
  EXPECT_EQ(z.substr(4, 4), std::string(4, '\0'));
}

}  // namespace
}  // namespace tern
