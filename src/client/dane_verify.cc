#include "client/dane_verify.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace tern {

bool enable_dane(SSL_CTX* ctx) {
  if (SSL_CTX_dane_enable(ctx) <= 0) {
    ERR_clear_error();
    return false;
  }
  return true;
}

std::string arm_dane(SSL* ssl, const std::string& base, const std::vector<TlsaRecord>& tlsa,
                     const std::vector<std::string>& more_names) {
  // Also sets SNI (when not set yet) and `base` as the reference identifier.
  if (SSL_dane_enable(ssl, base.c_str()) <= 0) {
    ERR_clear_error();
    return "cannot enable DANE (is DANE enabled on the context?)";
  }
  // RFC 7672 3.1.1: with DANE-EE(3) the names in the certificate do not matter.
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  for (const std::string& name : more_names) {
    if (name != base && SSL_add1_host(ssl, name.c_str()) != 1) {
      ERR_clear_error();
      return fmt::format("cannot use '{}' as a name to match", name);
    }
  }
  int added = 0;
  for (const TlsaRecord& r : tlsa) {
    const int rc =
        SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.matching,
                          reinterpret_cast<const unsigned char*>(r.data.data()), r.data.size());
    if (rc > 0) ++added;  // 0: unusable (e.g. a digest of the wrong size); < 0: malformed
    if (rc <= 0) ERR_clear_error();
  }
  if (added == 0) return "no usable TLSA record";
  return "";
}

std::string arm_names(SSL* ssl, const std::vector<std::string>& names) {
  if (names.empty()) return "no name to match";
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, names.front().c_str()) != 1) {
    ERR_clear_error();
    return fmt::format("cannot use '{}' as a name to match", names.front());
  }
  for (size_t i = 1; i < names.size(); ++i) {
    if (SSL_add1_host(ssl, names[i].c_str()) != 1) {
      ERR_clear_error();
      return fmt::format("cannot use '{}' as a name to match", names[i]);
    }
  }
  return "";
}

}  // namespace tern
