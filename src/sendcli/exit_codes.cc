#include "sendcli/exit_codes.h"

namespace tern::sendcli {

int exit_code(const SmtpError& error) {
  if (error.temporary) return kExitTempFail;
  switch (error.kind) {
    case SmtpError::Kind::kMessage:
      return kExitDataErr;
    case SmtpError::Kind::kAuth:
      return kExitNoPerm;
    default:
      return kExitUnavailable;
  }
}

int exit_code(const SendResult& result) {
  if (result.error) return exit_code(*result.error);
  bool permanent = false, refused = false;
  for (const RecipientStatus& r : result.recipients) {
    if (r.accepted) continue;
    refused = true;
    if (!r.error || !r.error->temporary) permanent = true;
  }
  if (!refused) return kExitOk;
  return permanent ? kExitUnavailable : kExitTempFail;
}

int worse(int a, int b) {
  const auto rank = [](int code) { return code == kExitOk ? 0 : code == kExitTempFail ? 1 : 2; };
  return rank(b) > rank(a) ? b : a;
}

}  // namespace tern::sendcli
