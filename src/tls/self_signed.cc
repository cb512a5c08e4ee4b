// The self-signed certificate used when no tls.certificate is configured,
// built with OpenSSL 3's EVP and X509 APIs (no `openssl` command). Its
// profile follows RFC 5280 for an end-entity server certificate:
//   version 3, random positive 127-bit serial, subject = issuer = CN=<host>
//   basicConstraints   critical CA:FALSE
//   keyUsage           critical digitalSignature (ECDSA signs the handshake)
//   extendedKeyUsage   serverAuth
//   subjectAltName     DNS:<hostname>, DNS:localhost
//   subjectKeyIdentifier
// valid from one hour ago (clock skew) for ten years, signed with SHA-256.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

#include "fs/atomic_file.h"
#include "tls/tls.h"

namespace tern {
namespace {

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;

[[noreturn]] void fail(const std::string& what) {
  std::string detail;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    detail += detail.empty() ? ": " : "; ";
    detail += buf;
  }
  throw std::runtime_error("tls: " + what + detail);
}

void add_ext(X509* x, int nid, void* value, bool critical) {
  if (X509_add1_ext_i2d(x, nid, value, critical ? 1 : 0, X509V3_ADD_REPLACE) != 1) {
    fail(std::string("cannot add extension ") + OBJ_nid2sn(nid));
  }
}

void add_extensions(X509* x, const std::vector<std::string>& dns_names) {
  BASIC_CONSTRAINTS* bc = BASIC_CONSTRAINTS_new();
  bc->ca = 0;
  add_ext(x, NID_basic_constraints, bc, true);
  BASIC_CONSTRAINTS_free(bc);

  ASN1_BIT_STRING* ku = ASN1_BIT_STRING_new();
  ASN1_BIT_STRING_set_bit(ku, 0, 1);  // bit 0: digitalSignature
  add_ext(x, NID_key_usage, ku, true);
  ASN1_BIT_STRING_free(ku);

  EXTENDED_KEY_USAGE* eku = sk_ASN1_OBJECT_new_null();
  sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth));
  add_ext(x, NID_ext_key_usage, eku, false);
  sk_ASN1_OBJECT_free(eku);  // the object is OpenSSL's static table entry

  // Built as structures, not as a config string, so a name can never inject
  // other entries.
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  for (const auto& dns : dns_names) {
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, dns.data(), static_cast<int>(dns.size()));
    GENERAL_NAME* g = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(g, GEN_DNS, s);
    sk_GENERAL_NAME_push(names, g);
  }
  add_ext(x, NID_subject_alt_name, names, false);
  GENERAL_NAMES_free(names);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ski = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_key_identifier, "hash");
  if (ski == nullptr || X509_add_ext(x, ski, -1) != 1) {
    fail("cannot add extension subjectKeyIdentifier");
  }
  X509_EXTENSION_free(ski);
}

X509Ptr make_certificate(EVP_PKEY* pkey, const std::string& hostname) {
  X509Ptr x(X509_new());
  if (!x || X509_set_version(x.get(), X509_VERSION_3) != 1) fail("cannot create certificate");

  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) fail("cannot generate a serial number");
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x40;  // and not shortened by leading zero octets
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  if (bn == nullptr || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get())) == nullptr) {
    BN_free(bn);
    fail("cannot set the serial number");
  }
  BN_free(bn);

  constexpr long kTenYears = 10L * 365 * 24 * 3600;
  if (!X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(x.get()), kTenYears) ||
      X509_set_pubkey(x.get(), pkey) != 1) {
    fail("cannot set validity or public key");
  }

  // CN is limited to 64 characters (RFC 5280 ub-common-name); the SAN,
  // which is what clients check, always carries the full name.
  const std::string cn = hostname.size() <= 64 ? hostname : "tern";
  X509_NAME* name = X509_get_subject_name(x.get());
  const auto* cn_bytes = reinterpret_cast<const unsigned char*>(cn.c_str());
  const auto* org = reinterpret_cast<const unsigned char*>("tern self-signed");
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, org, -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn_bytes, -1, -1, 0) != 1 ||
      X509_set_issuer_name(x.get(), name) != 1) {
    fail("cannot set the subject name");
  }

  std::vector<std::string> dns = {hostname};
  if (hostname != "localhost") dns.push_back("localhost");
  add_extensions(x.get(), dns);

  if (X509_sign(x.get(), pkey, EVP_sha256()) == 0) fail("cannot sign the certificate");
  return x;
}

// PEM text of the key (PKCS#8) or certificate.
template <typename Write>
std::string to_pem(Write&& write, BIO* bio) {
  if (!write(bio)) fail("cannot encode PEM");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::pair<std::string, std::string> ensure_self_signed(const ServerTlsOptions& options) {
  const std::string dir = options.data_dir + "/tls";
  const std::string cert_path = dir + "/cert.pem";
  const std::string key_path = dir + "/key.pem";
  if (file_exists(cert_path) && file_exists(key_path)) return {cert_path, key_path};

  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) throw std::runtime_error("tls: cannot create " + options.data_dir + ": " + ec.message());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::runtime_error("tls: cannot create " + dir + ": " + std::strerror(errno));
  }

  ERR_clear_error();
  PkeyPtr pkey(EVP_EC_gen("P-256"));
  if (!pkey) fail("cannot generate an EC P-256 key");
  const std::string hostname = options.hostname.empty() ? "localhost" : options.hostname;
  X509Ptr cert = make_certificate(pkey.get(), hostname);

  BioPtr key_bio(BIO_new(BIO_s_secmem()));
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  if (!key_bio || !cert_bio) fail("out of memory");
  std::string key_pem = to_pem(
      [&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
      },
      key_bio.get());
  const std::string cert_pem =
      to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()) == 1; }, cert_bio.get());

  // Key first: a crash in between leaves a key without a certificate, and
  // the next start regenerates both.
  Status s = write_file_atomic(key_path, key_pem, 0600);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  if (!s.ok()) throw std::runtime_error("tls: " + s.message());
  s = write_file_atomic(cert_path, cert_pem, 0644);
  if (!s.ok()) throw std::runtime_error("tls: " + s.message());
  return {cert_path, key_path};
}

}  // namespace tern
