#include "dkim/keys.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdexcept>

#include "core/base64.h"
#include "core/domain.h"
#include "dkim/canon.h"

namespace tern::dkim {
namespace {

constexpr int kMinRsaBits = 1024;  // RFC 8301 3.2
constexpr int kMaxRsaBits = 8192;
constexpr size_t kEd25519KeySize = 32;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* p) {
  return p ? std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free) : nullptr;
}

// OpenSSL's reason for the last failure ("what: reason"), clearing its queue.
std::string openssl_error(std::string_view what) {
  std::string reason;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reason = buf;  // the last one is usually the most specific
  }
  return reason.empty() ? std::string(what) : fmt::format("{}: {}", what, reason);
}

// Refuses to prompt for (or accept) a passphrase.
int no_password(char*, int, int, void*) { return -1; }

Status check_type(EVP_PKEY* pkey, KeyType* type) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(pkey) < kMinRsaBits) {
        return Status::Permanent(fmt::format("RSA key of {} bits is too short (at least {})",
                                             EVP_PKEY_get_bits(pkey), kMinRsaBits));
      }
      *type = KeyType::kRsa;
      return Status::Ok();
    case EVP_PKEY_ED25519:
      *type = KeyType::kEd25519;
      return Status::Ok();
    default:
      return Status::Permanent("not an RSA or Ed25519 key");
  }
}

// The octets Ed25519 signs: RFC 8463 3 signs the SHA-256 hash of the header
// data, not the data itself.
std::string signed_octets(KeyType type, std::string_view data) {
  return type == KeyType::kEd25519 ? sha256(data) : std::string(data);
}

const EVP_MD* digest_for(KeyType type) {
  return type == KeyType::kRsa ? EVP_sha256() : nullptr;  // Ed25519 takes no digest
}

}  // namespace

const char* key_type_name(KeyType t) { return t == KeyType::kRsa ? "rsa" : "ed25519"; }

const char* algorithm_name(Algorithm a) {
  return a == Algorithm::kRsaSha256 ? "rsa-sha256" : "ed25519-sha256";
}

Algorithm algorithm_for(KeyType t) {
  return t == KeyType::kRsa ? Algorithm::kRsaSha256 : Algorithm::kEd25519Sha256;
}

KeyType key_type_of(Algorithm a) {
  return a == Algorithm::kRsaSha256 ? KeyType::kRsa : KeyType::kEd25519;
}

Status PrivateKey::from_pem(std::string_view pem, PrivateKey* out) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Permanent(openssl_error("cannot read the key"));
  std::shared_ptr<EVP_PKEY> pkey =
      own(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
  if (!pkey) return Status::Permanent(openssl_error("not a PEM private key (or encrypted)"));
  KeyType type;
  if (Status s = check_type(pkey.get(), &type); !s.ok()) return s;
  out->pkey_ = std::move(pkey);
  out->type_ = type;
  return Status::Ok();
}

Status PrivateKey::from_ed25519_seed(std::string_view seed, PrivateKey* out) {
  if (seed.size() != kEd25519KeySize) {
    return Status::Permanent(fmt::format("an Ed25519 seed has 32 octets, not {}", seed.size()));
  }
  std::shared_ptr<EVP_PKEY> pkey = own(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size()));
  if (!pkey) return Status::Permanent(openssl_error("cannot load the Ed25519 seed"));
  out->pkey_ = std::move(pkey);
  out->type_ = KeyType::kEd25519;
  return Status::Ok();
}

Status PrivateKey::generate(KeyType type, int rsa_bits, PrivateKey* out) {
  EVP_PKEY* raw = nullptr;
  if (type == KeyType::kRsa) {
    if (rsa_bits < kMinRsaBits || rsa_bits > kMaxRsaBits) {
      return Status::Permanent(
          fmt::format("RSA keys have {} to {} bits", kMinRsaBits, kMaxRsaBits));
    }
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
  } else {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  std::shared_ptr<EVP_PKEY> pkey = own(raw);
  if (!pkey) return Status::Transient(openssl_error("key generation failed"));
  out->pkey_ = std::move(pkey);
  out->type_ = type;
  return Status::Ok();
}

namespace {

// OpenSSL counts 253 bits for Ed25519 (the group order); people and reports
// speak of 256-bit keys.
int key_bits(EVP_PKEY* pkey, KeyType type) {
  return type == KeyType::kEd25519 ? 256 : EVP_PKEY_get_bits(pkey);
}

}  // namespace

int PrivateKey::bits() const { return key_bits(pkey_.get(), type_); }

std::string PrivateKey::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // OpenSSL 3 writes PKCS#8 here ("BEGIN PRIVATE KEY").
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    throw std::runtime_error(openssl_error("cannot write the key as PEM"));
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string PrivateKey::public_key_data() const {
  if (type_ == KeyType::kEd25519) {
    std::string raw(kEd25519KeySize, '\0');
    size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(pkey_.get(), reinterpret_cast<unsigned char*>(raw.data()),
                                    &len) != 1) {
      throw std::runtime_error(openssl_error("cannot get the Ed25519 public key"));
    }
    raw.resize(len);
    return raw;
  }
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(pkey_.get(), &der);
  if (n <= 0) throw std::runtime_error(openssl_error("cannot encode the public key"));
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

Status PrivateKey::sign(std::string_view data, std::string* signature) const {
  const std::string octets = signed_octets(type_, data);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(octets.data());
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, digest_for(type_), nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, octets.size()) != 1) {
    return Status::Permanent(openssl_error("signing failed"));
  }
  signature->resize(len);
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature->data()), &len, in,
                     octets.size()) != 1) {
    return Status::Permanent(openssl_error("signing failed"));
  }
  signature->resize(len);
  return Status::Ok();
}

Status PublicKey::from_record_data(KeyType type, std::string_view data, PublicKey* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const long n = static_cast<long>(data.size());
  std::shared_ptr<EVP_PKEY> pkey;
  if (type == KeyType::kEd25519) {
    if (data.size() != kEd25519KeySize) {
      return Status::Permanent(
          fmt::format("an Ed25519 public key has 32 octets, not {}", data.size()));
    }
    pkey = own(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, p, data.size()));
  } else {
    // SubjectPublicKeyInfo, as RFC 6376 3.6.1 and every signer publishes;
    // else a bare RSAPublicKey. Either must use up every octet.
    const unsigned char* cursor = p;
    pkey = own(d2i_PUBKEY(nullptr, &cursor, n));
    if (!pkey || cursor != p + n) {
      cursor = p;
      pkey = own(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &cursor, n));
      if (pkey && cursor != p + n) pkey = nullptr;
    }
    if (pkey && EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA) {
      ERR_clear_error();
      return Status::Permanent("the k=rsa key is not an RSA key");
    }
  }
  if (!pkey) return Status::Permanent(openssl_error("cannot decode the public key"));
  ERR_clear_error();  // the first d2i attempt may have left errors
  out->pkey_ = std::move(pkey);
  out->type_ = type;
  return Status::Ok();
}

int PublicKey::bits() const { return key_bits(pkey_.get(), type_); }

bool PublicKey::verify(std::string_view data, std::string_view signature) const {
  const std::string octets = signed_octets(type_, data);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(type_), nullptr, pkey_.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(octets.data()),
                       octets.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::string key_record_text(const PrivateKey& key) {
  return fmt::format("v=DKIM1; k={}; p={}", key_type_name(key.type()),
                     base64_encode(key.public_key_data()));
}

std::vector<std::string> split_txt_strings(std::string_view text) {
  constexpr size_t kMax = 255;
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size(); i += kMax) out.emplace_back(text.substr(i, kMax));
  if (out.empty()) out.emplace_back();
  return out;
}

std::string dns_txt_record(std::string_view domain, std::string_view selector,
                           const PrivateKey& key) {
  std::string strings;
  // The record text holds no '"' or '\\', so quoting needs no escapes.
  for (const std::string& s : split_txt_strings(key_record_text(key))) {
    strings += fmt::format(" \"{}\"", s);
  }
  return fmt::format("{}._domainkey.{}. IN TXT ({} )", selector, domain, strings);
}

bool valid_domain(std::string_view name, int min_labels) {
  return valid_domain_name(name, {static_cast<size_t>(min_labels), /*underscore=*/true});
}

}  // namespace tern::dkim
