#include "client/require_tls.h"

#include "client/result_mapping.h"

namespace tern {

namespace {

SmtpError refusal(std::string why) {
  SmtpError e = local_error(SmtpError::Kind::kTls, "mail",
                            "REQUIRETLS support required: " + std::move(why), false);
  e.enhanced = kRequireTlsEnhanced;
  return e;
}

}  // namespace

std::optional<SmtpError> requiretls_refusal(const ClientOptions& o) {
  if (o.security == Security::kNone)
    return refusal("the client is set to send without TLS (Security::kNone)");
  if (!o.verify_certificate)
    return refusal("the server certificate is not checked (verify_certificate is off)");
  return std::nullopt;
}

std::optional<SmtpError> requiretls_refusal(bool tls_active, bool verified,
                                            const std::string& detail) {
  if (!tls_active) return refusal("the connection is not encrypted");
  if (!verified) return refusal("the server certificate is not verified (" + detail + ")");
  return std::nullopt;
}

}  // namespace tern
