// ServerSession's side of an AUTH check that another service answers
// ([auth] backend = "dovecot"): a password database that is down gives 454
// 4.7.0 without counting as a failure, and the name the database returns
// becomes the session's user.
#include <gtest/gtest.h>

#include <string>

#include "core/base64.h"
#include "core/server_session.h"
#include "session_driver.h"

namespace tern {
namespace {

using testlib::codes;
using testlib::Driver;
using testlib::submission;
using testlib::V;

std::string plain(const std::string& user, const std::string& password) {
  return base64_encode(std::string("\0", 1) + user + std::string("\0", 1) + password);
}

Driver& tls_ready(Driver& d) {
  d.start();
  d.ehlo();
  d.send("STARTTLS\r\n");
  d.ehlo();
  return d;
}

TEST(SessionAuthBackend, UnavailableIsTemporaryAndNotAFailure) {
  Driver d(submission());
  tls_ready(d);
  d.auth_unavailable = true;
  // More than max_auth_failures (3): none of them is the client's fault.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(codes(d.send("AUTH PLAIN " + plain("alice", "secret") + "\r\n")), V{"454 4.7.0"});
  }
  EXPECT_FALSE(d.closed);
  EXPECT_TRUE(d.s.auth_user().empty());
  EXPECT_EQ(codes(d.send("MAIL FROM:<alice@example.test>\r\n")).size(), 1u);
  d.send("RSET\r\n");
  d.auth_unavailable = false;
  EXPECT_EQ(codes(d.send("AUTH PLAIN " + plain("alice", "secret") + "\r\n")), V{"235 2.7.0"});
  EXPECT_EQ(d.s.auth_user(), "alice");
  // The password is not kept once checked.
  EXPECT_TRUE(d.s.auth_request().password.empty());
}

TEST(SessionAuthBackend, TheDatabasesNameBecomesTheUser) {
  Driver d(submission());
  tls_ready(d);
  d.auth_canonical = "alice@example.test";
  EXPECT_EQ(codes(d.send("AUTH PLAIN " + plain("Alice@Example.TEST", "secret") + "\r\n")),
            V{"235 2.7.0"});
  EXPECT_EQ(d.s.auth_user(), "alice@example.test");
}

TEST(SessionAuthBackend, LoginMechanismGoesThroughTheSameCheck) {
  Driver d(submission());
  tls_ready(d);
  d.auth_unavailable = true;
  EXPECT_EQ(codes(d.send("AUTH LOGIN\r\n")), V{"334"});
  EXPECT_EQ(codes(d.send(base64_encode("alice") + "\r\n")), V{"334"});
  EXPECT_EQ(codes(d.send(base64_encode("secret") + "\r\n")), V{"454 4.7.0"});
  ASSERT_EQ(d.auths.size(), 1u);
  EXPECT_EQ(d.auths[0].mechanism, "LOGIN");
}

}  // namespace
}  // namespace tern
