#include "tls/settings.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string_view>
#include <vector>

namespace tern {
namespace {

using CtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

CtxPtr new_server_ctx() { return CtxPtr(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free); }

// The names of an OpenSSL list ("A:B", also "A,B" or "A B" for ciphers).
std::vector<std::string> split_list(std::string_view list, std::string_view seps) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find_first_of(seps, pos);
    if (end == std::string_view::npos) end = list.size();
    if (end > pos) out.emplace_back(list.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

bool has_cipher_named(SSL_CTX* ctx, const std::string& name) {
  STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
    if (name == SSL_CIPHER_get_name(sk_SSL_CIPHER_value(list, i))) return true;
  }
  return false;
}

TlsSettingsError error(std::string key, std::string problem) {
  ERR_clear_error();
  return TlsSettingsError{std::move(key), std::move(problem)};
}

// Each name that selects ciphers ("ECDHE-RSA-AES128-GCM-SHA256",
// "ECDHE+AESGCM", "HIGH") must select at least one; "!X", "-X", "+X" and
// "@STRENGTH" only act on what others selected.
std::optional<TlsSettingsError> check_cipher_names(const std::string& list) {
  CtxPtr scratch = new_server_ctx();
  if (!scratch) return error("ciphers", "OpenSSL cannot make a context");
  for (const std::string& name : split_list(list, ": ,;")) {
    const char c = name[0];
    if (c == '!' || c == '-' || c == '+' || c == '@') continue;
    if (SSL_CTX_set_cipher_list(scratch.get(), name.c_str()) != 1) {
      return error("ciphers", "'" + name + "' is not a TLS 1.2 cipher known to OpenSSL");
    }
  }
  return std::nullopt;
}

// Each TLS 1.3 suite must exist: SSL_CTX_set_ciphersuites skips unknown ones.
std::optional<TlsSettingsError> check_suite_names(const std::string& list) {
  CtxPtr scratch = new_server_ctx();
  if (!scratch) return error("ciphersuites", "OpenSSL cannot make a context");
  for (const std::string& name : split_list(list, ":")) {
    if (SSL_CTX_set_ciphersuites(scratch.get(), name.c_str()) != 1 ||
        !has_cipher_named(scratch.get(), name)) {
      return error("ciphersuites", "'" + name +
                                       "' is not a TLS 1.3 cipher suite known to OpenSSL "
                                       "(e.g. TLS_AES_256_GCM_SHA384)");
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<TlsSettingsError> apply_tls_settings(SSL_CTX* ctx, const TlsSettings& s) {
  ERR_clear_error();
  int min = 0;
  if (s.min_version == "TLSv1.2") {
    min = TLS1_2_VERSION;
  } else if (s.min_version == "TLSv1.3") {
    min = TLS1_3_VERSION;
  } else {
    // RFC 8996: TLS 1.0 and 1.1 are deprecated; they are not offered here.
    return error("min_version",
                 "'" + s.min_version + "' is not allowed; use \"TLSv1.2\" or \"TLSv1.3\"");
  }
  if (SSL_CTX_set_min_proto_version(ctx, min) != 1) {
    return error("min_version", "OpenSSL refuses " + s.min_version);
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);

  if (s.ciphers.empty()) return error("ciphers", "must not be empty");
  if (auto e = check_cipher_names(s.ciphers)) return e;
  if (SSL_CTX_set_cipher_list(ctx, s.ciphers.c_str()) != 1) {
    return error("ciphers", "no TLS 1.2 cipher matches '" + s.ciphers + "'");
  }
  if (!s.ciphersuites.empty()) {
    if (auto e = check_suite_names(s.ciphersuites)) return e;
    if (SSL_CTX_set_ciphersuites(ctx, s.ciphersuites.c_str()) != 1) {
      return error("ciphersuites", "OpenSSL refuses '" + s.ciphersuites + "'");
    }
  }

  if (s.groups.empty()) return error("groups", "must not be empty");
  for (const std::string& name : split_list(s.groups, ":")) {
    // SSL_CTX_set1_groups_list refuses the whole list for one unknown
    // name; trying each alone says which.
    if (SSL_CTX_set1_groups_list(ctx, name.c_str()) != 1) {
      return error("groups", "'" + name + "' is not a group known to OpenSSL (e.g. X25519, P-256)");
    }
  }
  if (SSL_CTX_set1_groups_list(ctx, s.groups.c_str()) != 1) {
    return error("groups", "OpenSSL refuses '" + s.groups + "'");
  }
  return std::nullopt;
}

std::optional<TlsSettingsError> check_tls_settings(const TlsSettings& s) {
  CtxPtr scratch = new_server_ctx();
  if (!scratch) return error("", "OpenSSL cannot make a context");
  return apply_tls_settings(scratch.get(), s);
}

}  // namespace tern
