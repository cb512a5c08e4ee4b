#include "acme/cert.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace tern::acme {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

X509Ptr first_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  return X509Ptr(x, &X509_free);
}

int64_t unix_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

std::string make_csr(const EcKey& key, const std::vector<std::string>& names) {
  if (names.empty()) throw std::runtime_error("acme: a CSR needs at least one name");
  std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(X509_REQ_new(), &X509_REQ_free);
  if (!req) throw std::runtime_error("acme: X509_REQ_new failed");
  X509_REQ_set_version(req.get(), 0);  // v1, the only version (RFC 2986 4.1)
  X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(names[0].c_str()), -1, -1, 0);
  std::string san;
  for (const std::string& n : names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  if (ext == nullptr || exts == nullptr) {
    X509_EXTENSION_free(ext);
    sk_X509_EXTENSION_free(exts);
    throw std::runtime_error("acme: bad subjectAltName '" + san + "'");
  }
  sk_X509_EXTENSION_push(exts, ext);
  const int added = X509_REQ_add_extensions(req.get(), exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  if (added != 1 || X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0)
    throw std::runtime_error("acme: cannot build the CSR");
  const int len = i2d_X509_REQ(req.get(), nullptr);
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509_REQ(req.get(), &p);
  return der;
}

std::optional<CertInfo> read_leaf(const std::string& chain_pem) {
  X509Ptr x = first_cert(chain_pem);
  if (!x) return std::nullopt;
  CertInfo info;
  info.not_before = unix_time(X509_get0_notBefore(x.get()));
  info.not_after = unix_time(X509_get0_notAfter(x.get()));
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x.get(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
    if (g->type != GEN_DNS) continue;
    const ASN1_IA5STRING* s = g->d.dNSName;
    info.names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                            static_cast<size_t>(ASN1_STRING_length(s)));
  }
  GENERAL_NAMES_free(sans);
  return info;
}

bool leaf_matches_key(const std::string& chain_pem, const EcKey& key) {
  X509Ptr x = first_cert(chain_pem);
  return x && X509_check_private_key(x.get(), key.get()) == 1;
}

std::string tlsa_3_1_1(const EcKey& key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key.get(), &der);
  if (len <= 0) throw std::runtime_error("acme: cannot encode the public key");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(len), digest);
  OPENSSL_free(der);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

int64_t renewal_time(const CertInfo& info) {
  const int64_t life = info.not_after - info.not_before;
  return info.not_before + (life > 0 ? life * 2 / 3 : 0);
}

}  // namespace tern::acme
