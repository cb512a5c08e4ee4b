// base/gzip.h: what comes out is gzip (RFC 1952) that inflates back to
// the input, and the same input gives the same bytes (a resent report is
// identical).
#include "base/gzip.h"

#include <gtest/gtest.h>

#include <string>

#include "testlib.h"

namespace tern {
namespace {

using testlib::gunzip;

TEST(Gzip, InflatesBackToTheInput) {
  std::string data;
  for (int i = 0; i < 5000; ++i) data += "<record><count>" + std::to_string(i) + "</count>\n";
  const std::string z = gzip(data);
  ASSERT_GT(z.size(), 18u);
  EXPECT_LT(z.size(), data.size() / 4);  // compressed
  EXPECT_EQ(gunzip(z), data);
  EXPECT_FALSE(gunzip(z.substr(0, z.size() - 1)));  // the check in testlib sees truncation
  EXPECT_EQ(gunzip(gzip("")), "");
  const std::string binary("\0\xff\r\n", 4);
  EXPECT_EQ(gunzip(gzip(binary)), binary);
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
