// The DNS records and next steps `tern init` prints (init/records.h).
#include <gtest/gtest.h>

#include <string>

#include "init/records.h"
#include "sts/publish.h"

namespace tern::init {
namespace {

using asio::ip::make_address;

RecordInputs Example() {
  RecordInputs in;
  in.domain = "example.org";
  in.hostname = "mx.example.org";
  in.dkim_record = "rsa-202612._domainkey.example.org. IN TXT ( \"v=DKIM1; k=rsa; p=MIIB\" )";
  in.dkim_key_path = "/var/lib/tern/dkim/example.org/rsa-202612.key";
  return in;
}

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(InitRecordsTest, EveryRecordWithTheMachinesAddresses) {
  RecordInputs in = Example();
  in.addresses = {make_address("127.0.0.1"),    make_address("192.0.2.10"),
                  make_address("::1"),          make_address("fe80::1"),
                  make_address("2001:db8::10"), make_address("192.0.2.10")};
  const std::string out = render_records(in);
  EXPECT_TRUE(Has(out, "example.org. IN MX 10 mx.example.org.")) << out;
  EXPECT_TRUE(Has(out, "mx.example.org. IN A 192.0.2.10")) << out;
  EXPECT_TRUE(Has(out, "mx.example.org. IN AAAA 2001:db8::10")) << out;
  EXPECT_EQ(out.find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(out.find("fe80"), std::string::npos);
  EXPECT_TRUE(Has(out, "example.org. IN TXT \"v=spf1 mx -all\"")) << out;
  EXPECT_TRUE(Has(out, in.dkim_record)) << out;
  EXPECT_TRUE(Has(
      out, "_dmarc.example.org. IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@example.org\""))
      << out;
  EXPECT_NE(out.find("p=quarantine, then to p=reject"), std::string::npos);
  EXPECT_TRUE(Has(out, "10.2.0.192.in-addr.arpa. IN PTR mx.example.org.")) << out;
  EXPECT_TRUE(
      Has(out,
          "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. IN PTR "
          "mx.example.org."))
      << out;
  EXPECT_TRUE(Has(out, "mta-sts.example.org. IN CNAME mx.example.org.")) << out;
  EXPECT_TRUE(Has(out, sts::txt_record_line(
                           "example.org", sts::make_policy("testing", {"mx.example.org"}, 604800))))
      << out;
  EXPECT_NE(out.find("TLS-RPT (RFC 8460) is not printed"), std::string::npos);
  EXPECT_EQ(out.find("<your public"), std::string::npos);
}

TEST(InitRecordsTest, PlaceholdersWithoutAnAddress) {
  RecordInputs in = Example();
  in.addresses = {make_address("127.0.0.1"), make_address("::1")};
  const std::string out = render_records(in);
  EXPECT_TRUE(Has(out, "mx.example.org. IN A <your public IPv4 address>")) << out;
  EXPECT_TRUE(Has(out, "<reverse name of your address>. IN PTR mx.example.org.")) << out;
}

TEST(InitRecordsTest, PrivateAddressesAreMarkedAndGetNoPtr) {
  RecordInputs in = Example();
  in.addresses = {make_address("10.1.2.3")};
  const std::string out = render_records(in);
  EXPECT_TRUE(Has(out, "mx.example.org. IN A 10.1.2.3")) << out;
  EXPECT_NE(out.find("not reachable from the internet"), std::string::npos);
  EXPECT_EQ(out.find("3.2.1.10.in-addr.arpa"), std::string::npos);
  EXPECT_NE(out.find("<reverse name>. IN PTR mx.example.org."), std::string::npos);
}

TEST(InitRecordsTest, EveryLineIsACommentOrARecord) {
  RecordInputs in = Example();
  in.addresses = {make_address("192.0.2.10")};
  std::string out = render_records(in);
  size_t start = 0;
  while (start < out.size()) {
    const size_t end = out.find('\n', start);
    const std::string line = out.substr(start, end - start);
    EXPECT_TRUE(line.empty() || line[0] == ';' || line.find(". IN ") != std::string::npos) << line;
    start = end + 1;
  }
}

TEST(InitRecordsTest, PrivateRanges) {
  EXPECT_TRUE(is_private(make_address("172.16.0.1")));
  EXPECT_TRUE(is_private(make_address("172.31.255.1")));
  EXPECT_FALSE(is_private(make_address("172.32.0.1")));
  EXPECT_TRUE(is_private(make_address("100.64.0.1")));
  EXPECT_TRUE(is_private(make_address("fd00::1")));
  EXPECT_FALSE(is_private(make_address("2001:db8::1")));
  EXPECT_TRUE(public_addresses({make_address("169.254.1.1")}).empty());
}

TEST(InitRecordsTest, NextStepsForTheService) {
  NextSteps n;
  n.domain = "example.org";
  n.hostname = "mx.example.org";
  n.config_path = "/etc/tern/tern.toml";
  n.data_dir = "/var/lib/tern";
  const std::string out = render_next_steps(n);
  EXPECT_NE(out.find("tern user add you@example.org --config /etc/tern/tern.toml"),
            std::string::npos);
  EXPECT_NE(out.find("dmarc-reports@example.org: you@example.org"), std::string::npos);
  EXPECT_NE(out.find("systemctl start tern"), std::string::npos);
  EXPECT_NE(out.find("tern check example.org"), std::string::npos);
  EXPECT_NE(out.find("certbot certonly --standalone -d mx.example.org"), std::string::npos);
}

TEST(InitRecordsTest, NextStepsForAnotherConfigPath) {
  NextSteps n;
  n.domain = "example.org";
  n.hostname = "mx.example.org";
  n.config_path = "/tmp/t/tern.toml";
  n.data_dir = "/tmp/t/data";
  n.default_config_path = false;
  n.self_signed = false;
  n.run_as = "tern";
  const std::string out = render_next_steps(n);
  EXPECT_NE(out.find("chgrp -R tern /etc/letsencrypt/live /etc/letsencrypt/archive"),
            std::string::npos);
  EXPECT_NE(out.find("tern serve --config /tmp/t/tern.toml"), std::string::npos);
  EXPECT_EQ(out.find("systemctl start"), std::string::npos);
  EXPECT_EQ(out.find("certbot certonly"), std::string::npos);
}

}  // namespace
}  // namespace tern::init
