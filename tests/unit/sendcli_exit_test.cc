#include <gtest/gtest.h>

#include "sendcli/exit_codes.h"
#include "sendcli/progress.h"

namespace tern::sendcli {
namespace {

SmtpError Error(SmtpError::Kind kind, int code, bool temporary) {
  SmtpError e;
  e.kind = kind;
  e.code = code;
  e.temporary = temporary;
  return e;
}

TEST(ExitCodeTest, Errors) {
  using K = SmtpError::Kind;
  EXPECT_EQ(exit_code(Error(K::kConnect, 0, true)), kExitTempFail);
  EXPECT_EQ(exit_code(Error(K::kTimeout, 0, true)), kExitTempFail);
  EXPECT_EQ(exit_code(Error(K::kRefused, 451, true)), kExitTempFail);
  EXPECT_EQ(exit_code(Error(K::kRefused, 550, false)), kExitUnavailable);
  EXPECT_EQ(exit_code(Error(K::kTls, 0, false)), kExitUnavailable);
  EXPECT_EQ(exit_code(Error(K::kProtocol, 0, false)), kExitUnavailable);
  EXPECT_EQ(exit_code(Error(K::kAuth, 535, false)), kExitNoPerm);
  EXPECT_EQ(exit_code(Error(K::kAuth, 454, true)), kExitTempFail);
  EXPECT_EQ(exit_code(Error(K::kMessage, 0, false)), kExitDataErr);
}

RecipientStatus Rcpt(bool accepted, bool temporary = false) {
  RecipientStatus r;
  r.address = "a@b.c";
  r.accepted = accepted;
  if (!accepted) r.error = Error(SmtpError::Kind::kRefused, temporary ? 450 : 550, temporary);
  return r;
}

TEST(ExitCodeTest, Results) {
  SendResult r;
  r.recipients = {Rcpt(true), Rcpt(true)};
  EXPECT_EQ(exit_code(r), kExitOk);
  r.recipients = {Rcpt(true), Rcpt(false, true)};
  EXPECT_EQ(exit_code(r), kExitTempFail);
  r.recipients = {Rcpt(false, true), Rcpt(false, false)};
  EXPECT_EQ(exit_code(r), kExitUnavailable);
  r.error = Error(SmtpError::Kind::kConnect, 0, true);
  EXPECT_EQ(exit_code(r), kExitTempFail);
}

TEST(ExitCodeTest, Worse) {
  EXPECT_EQ(worse(kExitOk, kExitTempFail), kExitTempFail);
  EXPECT_EQ(worse(kExitTempFail, kExitOk), kExitTempFail);
  EXPECT_EQ(worse(kExitTempFail, kExitUnavailable), kExitUnavailable);
  EXPECT_EQ(worse(kExitUnavailable, kExitTempFail), kExitUnavailable);
  EXPECT_EQ(worse(kExitDataErr, kExitUnavailable), kExitDataErr);
  EXPECT_EQ(worse(kExitOk, kExitOk), kExitOk);
}

TEST(ProgressTest, Bar) {
  EXPECT_EQ(progress_bar({40, 11, 1}, 10), "[###.......] 11/40 sent, 1 failed");
  EXPECT_EQ(progress_bar({5, 0, 0}, 5), "[.....] 0/5 sent");
  EXPECT_EQ(progress_bar({5, 5, 0}, 5), "[#####] 5/5 sent");
  EXPECT_EQ(progress_bar({0, 0, 0}, 3), "[###] 0/0 sent");
}

TEST(ProgressTest, LinesAndSummary) {
  EXPECT_EQ(progress_line({40, 3, 0}, true, "d/a.eml", "250 ok"), "sent 3/40 d/a.eml: 250 ok");
  EXPECT_EQ(progress_line({40, 2, 1}, false, "d/b.eml", "rcpt: 550 no"),
            "FAILED 3/40 d/b.eml: rcpt: 550 no");
  EXPECT_EQ(summary({40, 39, 1}), "40 messages: 39 sent, 1 failed");
  EXPECT_EQ(summary({1, 1, 0}), "1 message: 1 sent, 0 failed");
}

}  // namespace
}  // namespace tern::sendcli
