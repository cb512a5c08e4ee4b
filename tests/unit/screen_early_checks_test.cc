#include <gtest/gtest.h>

#include "screen/early_checks.h"

namespace tern {
namespace {

TEST(HeloAcceptable, FqdnOrTheClientsLiteral) {
  EXPECT_TRUE(helo_acceptable("mail.example.org", "192.0.2.1"));
  EXPECT_TRUE(helo_acceptable("mail.example.org.", "192.0.2.1"));
  EXPECT_TRUE(helo_acceptable("[192.0.2.1]", "192.0.2.1"));
  EXPECT_TRUE(helo_acceptable("[IPv6:2001:db8::1]", "2001:db8:0::1"));
  EXPECT_TRUE(helo_acceptable("[192.0.2.1]", "::ffff:192.0.2.1"));
  EXPECT_FALSE(helo_acceptable("localhost", "192.0.2.1"));        // not fully qualified
  EXPECT_FALSE(helo_acceptable("192.0.2.1", "192.0.2.1"));        // an address, not a name
  EXPECT_FALSE(helo_acceptable("[192.0.2.9]", "192.0.2.1"));      // someone else's address
  EXPECT_FALSE(helo_acceptable("[2001:db8::1]", "2001:db8::1"));  // no IPv6: tag
  EXPECT_FALSE(helo_acceptable("[IPv6:192.0.2.1]", "192.0.2.1"));
  EXPECT_FALSE(helo_acceptable("exa_mple.org", "192.0.2.1"));
  EXPECT_FALSE(helo_acceptable("", "192.0.2.1"));
  EXPECT_FALSE(helo_acceptable("[]", "192.0.2.1"));
}

TEST(EarlyCheckMail, RefusesInOrderWithTheRightCodes) {
  EarlyCheckOptions all;
  all.helo_reject = true;
  all.reverse_dns = EarlyCheckOptions::Rdns::kReject;
  all.own_domain_reject = true;
  EarlyCheckInput in{"192.0.2.1", "mx.example.org", "a@example.org", false, ReverseDns::kFound};
  EXPECT_FALSE(early_check_mail(all, in));

  EarlyCheckInput bad_helo = in;
  bad_helo.helo = "workstation";
  auto r = early_check_mail(all, bad_helo);
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->check, "helo");
  EXPECT_EQ(r->reply.brief(),
            "550 5.7.1 HELO/EHLO name \"workstation\" rejected: not a fully-qualified domain "
            "name or your address literal");

  EarlyCheckInput no_ptr = in;
  no_ptr.rdns = ReverseDns::kMissing;
  r = early_check_mail(all, no_ptr);
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->check, "reverse_dns");
  EXPECT_EQ(r->reply.brief(), "550 5.7.25 Reverse DNS required: no PTR record for [192.0.2.1]");
  no_ptr.rdns = ReverseDns::kTempFail;
  r = early_check_mail(all, no_ptr);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reply.code, 450);
  EXPECT_EQ(r->reply.enhanced, "4.7.25");

  EarlyCheckInput own = in;
  own.from_local_domain = true;
  r = early_check_mail(all, own);
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->check, "own_domain_sender");
  EXPECT_EQ(r->reply.brief(),
            "550 5.7.1 <a@example.org>: Sender address rejected: a local domain; authenticate "
            "to send as it");

  // Switched off (or mark): nothing refused.
  EarlyCheckOptions none;
  none.reverse_dns = EarlyCheckOptions::Rdns::kMark;
  for (const EarlyCheckInput& i : {bad_helo, no_ptr, own}) EXPECT_FALSE(early_check_mail(none, i));
}

TEST(EarlyCheckMail, HostileHeloIsShownSafely) {
  EarlyCheckOptions o;
  o.helo_reject = true;
  EarlyCheckInput in{"192.0.2.1", "bad\x01name\xff", "", false, ReverseDns::kNotChecked};
  auto r = early_check_mail(o, in);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reply.brief().find('\x01'), std::string::npos);
  EXPECT_NE(r->reply.brief().find("bad?name?"), std::string::npos);
}

}  // namespace
}  // namespace tern
