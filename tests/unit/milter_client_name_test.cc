// The client's names in the milter macros (milter/client_name.h), as
// Postfix's smtpd_milter.c gives them: {client_name} verified by the
// forward lookup, {client_ptr} as the PTR says, {client_resolve}, and `_`.
#include <gtest/gtest.h>

#include "milter/client_name.h"

namespace tern::milter {
namespace {

NameResult Ptr(DnsStatus status, std::vector<std::string> names = {}) {
  NameResult r;
  r.status = status;
  r.records = std::move(names);
  return r;
}

AddressResult Addrs(DnsStatus status, std::vector<std::string> ips = {}) {
  AddressResult r;
  r.status = status;
  for (const std::string& ip : ips) r.records.push_back(asio::ip::make_address(ip));
  return r;
}

TEST(MilterClientName, VerifiedName) {
  NameResult ptr = Ptr(DnsStatus::kOk, {"mail.example.org", "other.example.org"});
  AddressResult fwd = Addrs(DnsStatus::kOk, {"192.0.2.9", "192.0.2.1"});
  ClientNames n = client_names("192.0.2.1", &ptr, &fwd);
  EXPECT_EQ(n.name, "mail.example.org");
  EXPECT_EQ(n.ptr, "mail.example.org");
  EXPECT_EQ(n.resolve, "OK");
  EXPECT_EQ(client_host_macro(n, "192.0.2.1"), "mail.example.org [192.0.2.1]");
}

TEST(MilterClientName, Ipv6AndMappedIpv4) {
  NameResult ptr = Ptr(DnsStatus::kOk, {"v6.example.org."});
  AddressResult fwd = Addrs(DnsStatus::kOk, {"2001:db8::1"});
  EXPECT_EQ(client_names("2001:db8::1", &ptr, &fwd).name, "v6.example.org");
  AddressResult v4 = Addrs(DnsStatus::kOk, {"192.0.2.1"});
  EXPECT_EQ(client_names("::ffff:192.0.2.1", &ptr, &v4).resolve, "OK");
}

TEST(MilterClientName, ForwardLookupDisagrees) {
  NameResult ptr = Ptr(DnsStatus::kOk, {"forged.example.org"});
  for (const AddressResult& fwd : {Addrs(DnsStatus::kOk, {"192.0.2.99"}),
                                   Addrs(DnsStatus::kNxDomain), Addrs(DnsStatus::kNoData)}) {
    ClientNames n = client_names("192.0.2.1", &ptr, &fwd);
    EXPECT_EQ(n.name, "unknown");
    EXPECT_EQ(n.ptr, "forged.example.org");
    EXPECT_EQ(n.resolve, "FORGED");
    EXPECT_EQ(client_host_macro(n, "192.0.2.1"), "forged.example.org [192.0.2.1] (may be forged)");
  }
}

TEST(MilterClientName, NoPtrRecord) {
  for (DnsStatus st : {DnsStatus::kNxDomain, DnsStatus::kNoData}) {
    NameResult ptr = Ptr(st);
    ClientNames n = client_names("192.0.2.1", &ptr, nullptr);
    EXPECT_EQ(n.name, "unknown");
    EXPECT_EQ(n.ptr, "unknown");
    EXPECT_EQ(n.resolve, "FAIL");
    EXPECT_EQ(client_host_macro(n, "192.0.2.1"), "unknown [192.0.2.1]");
  }
}

// A temporary failure or no answer in time, of either lookup: "unknown",
// as Postfix says (the PTR name stays in {client_ptr} when it came).
TEST(MilterClientName, TemporaryFailuresAndTimeouts) {
  NameResult tempfail = Ptr(DnsStatus::kTempFail);
  EXPECT_EQ(client_names("192.0.2.1", &tempfail, nullptr).resolve, "TEMP");
  ClientNames none = client_names("192.0.2.1", nullptr, nullptr);
  EXPECT_EQ(none.name, "unknown");
  EXPECT_EQ(none.ptr, "unknown");
  EXPECT_EQ(none.resolve, "TEMP");
  NameResult ptr = Ptr(DnsStatus::kOk, {"slow.example.org"});
  AddressResult fwd = Addrs(DnsStatus::kTempFail);
  for (const AddressResult* f :
       {static_cast<const AddressResult*>(&fwd), static_cast<const AddressResult*>(nullptr)}) {
    ClientNames n = client_names("192.0.2.1", &ptr, f);
    EXPECT_EQ(n.name, "unknown");
    EXPECT_EQ(n.ptr, "slow.example.org");
    EXPECT_EQ(n.resolve, "TEMP");
  }
}

// A PTR name that is no host name never reaches a milter.
TEST(MilterClientName, ImplausiblePtrNameIsNone) {
  for (const std::string& bad :
       std::vector<std::string>{"bad name.example", std::string("nul\0.example", 12), "a..b", ""}) {
    NameResult ptr = Ptr(DnsStatus::kOk, {bad});
    AddressResult fwd = Addrs(DnsStatus::kOk, {"192.0.2.1"});
    ClientNames n = client_names("192.0.2.1", &ptr, &fwd);
    EXPECT_EQ(n.ptr, "unknown") << bad;
    EXPECT_EQ(n.name, "unknown") << bad;
  }
}

}  // namespace
}  // namespace tern::milter
