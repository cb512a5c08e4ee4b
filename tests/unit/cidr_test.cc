#include "core/cidr.h"

#include <gtest/gtest.h>

namespace tern {
namespace {

TEST(CidrTest, Ipv4NetworkContainsItsAddresses) {
  auto c = Cidr::parse("192.0.2.0/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix, 96 + 24);
  EXPECT_TRUE(c->contains("192.0.2.0"));
  EXPECT_TRUE(c->contains("192.0.2.1"));
  EXPECT_TRUE(c->contains("192.0.2.255"));
  EXPECT_FALSE(c->contains("192.0.3.1"));
  EXPECT_FALSE(c->contains("192.0.1.255"));
  EXPECT_FALSE(c->contains("10.0.0.1"));
}

TEST(CidrTest, Ipv4MappedIpv6PeerMatchesIpv4Network) {
  auto c = Cidr::parse("192.0.2.0/24");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains("::ffff:192.0.2.7"));
  EXPECT_FALSE(c->contains("::ffff:192.0.3.7"));
  // Not mapped: the IPv4-compatible form is a different address.
  EXPECT_FALSE(c->contains("::192.0.2.7"));
}

TEST(CidrTest, PrefixNotOnOctetBoundary) {
  auto c = Cidr::parse("10.0.0.0/9");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains("10.127.255.255"));
  EXPECT_FALSE(c->contains("10.128.0.0"));
  auto v6 = Cidr::parse("2001:db8::/33");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains("2001:db8:7fff::1"));
  EXPECT_FALSE(v6->contains("2001:db8:8000::1"));
}

TEST(CidrTest, Ipv6Network) {
  auto c = Cidr::parse("2001:DB8::/32");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix, 32);
  EXPECT_TRUE(c->contains("2001:db8::1"));
  EXPECT_TRUE(c->contains("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(c->contains("2001:db9::1"));
  EXPECT_FALSE(c->contains("192.0.2.1"));
}

TEST(CidrTest, SingleAddressIsAFullLengthPrefix) {
  auto v4 = Cidr::parse("10.1.2.3");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->prefix, 128);
  EXPECT_TRUE(v4->contains("10.1.2.3"));
  EXPECT_FALSE(v4->contains("10.1.2.4"));
  auto v6 = Cidr::parse("2001:db8::5");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains("2001:db8:0::5"));
  EXPECT_FALSE(v6->contains("2001:db8::6"));
}

TEST(CidrTest, HostBitsAreCleared) {
  auto c = Cidr::parse("192.0.2.77/24");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains("192.0.2.1"));
  EXPECT_EQ(c->addr[15], 0);
  EXPECT_EQ(c->addr[14], 2);
}

TEST(CidrTest, ZeroPrefixes) {
  auto all_v4 = Cidr::parse("0.0.0.0/0");
  ASSERT_TRUE(all_v4);
  EXPECT_TRUE(all_v4->contains("203.0.113.9"));
  EXPECT_FALSE(all_v4->contains("2001:db8::1"));
  auto all = Cidr::parse("::/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains("2001:db8::1"));
  EXPECT_TRUE(all->contains("203.0.113.9"));
}

TEST(CidrTest, RejectsMalformed) {
  for (const char* bad :
       {"", "/24", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/a", "10.0.0.0/-1",
        "10.0.0.0/8/8", "10.0.0/8", "256.0.0.1", "1.2.3.4.5", " 10.0.0.0/8", "10.0.0.0/8 ",
        "fe80::1%eth0/64", "fe80::1%eth0", "example.com", "2001:db8:::/32", "10.0.0.0/0008"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
}

TEST(CidrTest, ContainsRejectsNonAddresses) {
  auto all = Cidr::parse("::/0");
  ASSERT_TRUE(all);
  EXPECT_FALSE(all->contains(""));
  EXPECT_FALSE(all->contains("localhost"));
  EXPECT_FALSE(all->contains("[::1]"));
  EXPECT_FALSE(all->contains(std::string_view("10.0.0.1\0", 9)));
}

TEST(CidrTest, PeerAddressWithZoneMatches) {
  auto c = Cidr::parse("fe80::/10");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains("fe80::1%eth0"));
  EXPECT_FALSE(c->contains("fec0::1%eth0"));
}

TEST(CidrTest, Loopback) {
  for (const char* ip : {"127.0.0.1", "127.255.0.1", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback_ip(ip)) << ip;
  }
  for (const char* ip :
       {"128.0.0.1", "126.255.255.255", "::2", "::", "", "localhost", "::ffff:128.0.0.1"}) {
    EXPECT_FALSE(is_loopback_ip(ip)) << ip;
  }
}

}  // namespace
}  // namespace tern
