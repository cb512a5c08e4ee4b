// Keys, signing primitives, key generation and the DNS record text.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/base64.h"
#include "dkim/keys.h"

namespace tern::dkim {
namespace {

// dkimpy's test data (1024_testkey.key and its two published forms,
// 1024_testkey_wo_markers.pub.txt and .pub.rsa.txt): a PKCS#1 private key,
// its SubjectPublicKeyInfo and its bare RSAPublicKey.
const char kRsa1024Pem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQC6aakWzruYAKX9OdOdSHMemqVdGQurNYLC1H7O/T2LQIHVbkKF\n"
    "6KKjlgFM7lr8skfZMhJe/KRGMvVjCV5ZakZIGeP3Hi1qXCEvmjS4ElpMPMPyPrZi\n"
    "gt95ipqywPYZJWHbRiJ085VdkSCtLUvo5sypA0nTJeynEouAN+/wBaCO6QIDAQAB\n"
    "AoGBALdQsLd9FX2lJZagBznkxVCTQ4sJ1i/Hr49o6EslPiByjzsT8tc8rrOwEBdX\n"
    "TqKxr3Ynh2lhiSp/clCyJdZIbFNKwXnqdN6DaA+aVRKT5n2YxmZr1AGp8VdOX56a\n"
    "+JTWDFSrDBUeNgG0xU7ywJjAYpj5gWk4rwsaA0ez/7Kb/5sBAkEA9H3Rxmyi0T5z\n"
    "IqOpAMOg0oHJRk0gGbJ6etKVPsghd+PDU+gfz69Ga2eEpPBIGFv8SXAeBlWyQCAK\n"
    "SXIkEREn7wJBAMMv+nWQsjf71BmdFULvUrHux2eHE6R18+CIYak8xs8sEJuprjQf\n"
    "7QfznUBaDqAww7+XufofdSrU1AcfEsXWnqcCQQDgeSCACMAYUzkMhaymSfa/L3An\n"
    "vqoJTefMGsnyQXcRByoQQJ/sY+XIuNt9QCtBSjtBBdJbSJUG8SPguQ5KKTE7AkBz\n"
    "RXJ02+9kgKTSO6LC1PPRgWLiETPYfJB6mhCTEgGXeD6Wr67hubkSaR0FVCovEJ2K\n"
    "GOEMhmd71BUj34YGsKkhAkBKkdEwDWSvPDCfmyBzgCKufu1tZzphRtxoL6Z6Vlcj\n"
    "0/SRmoG8S1uQKzkm7z7ekRMLIl9UlUlKUvxF6oblccUo\n"
    "-----END RSA PRIVATE KEY-----\n";
const char kRsa1024Spki[] =
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC6aakWzruYAKX9OdOdSHMemqVdGQurNYLC1H7O/"
    "T2LQIHVbkKF6KKjlgF"
    "M7lr8skfZMhJe/"
    "KRGMvVjCV5ZakZIGeP3Hi1qXCEvmjS4ElpMPMPyPrZigt95ipqywPYZJWHbRiJ085VdkSCtLUvo5sypA0"
    "nTJeynEouAN+/wBaCO6QIDAQAB";
const char kRsa1024Pkcs1[] =
    "MIGJAoGBALppqRbOu5gApf05051Icx6apV0ZC6s1gsLUfs79PYtAgdVuQoXooqOWAUzuWvyyR9kyEl78pEYy9WMJXllqRk"
    "g"
    "Z4/ceLWpcIS+aNLgSWkw8w/I+tmKC33mKmrLA9hklYdtGInTzlV2RIK0tS+jmzKkDSdMl7KcSi4A37/AFoI7pAgMBAAE=";

// RFC 8463 Appendix A: the Ed25519 seed and its published public key.
const char kEdSeed[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const char kEdPublic[] = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

std::string D(std::string_view b64) { return base64_decode(b64).value(); }

PrivateKey Load(std::string_view pem) {
  PrivateKey key;
  const Status s = PrivateKey::from_pem(pem, &key);
  EXPECT_TRUE(s.ok()) << s.message();
  return key;
}

PrivateKey EdKey() {
  PrivateKey key;
  EXPECT_TRUE(PrivateKey::from_ed25519_seed(D(kEdSeed), &key).ok());
  return key;
}

// A PEM written by OpenSSL for a key DKIM cannot use, or with a passphrase.
std::string OpensslPem(EVP_PKEY* pkey, const char* passphrase = nullptr) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  const auto* pass = reinterpret_cast<const unsigned char*>(passphrase);
  PEM_write_bio_PrivateKey(bio.get(), pkey, passphrase ? EVP_aes_128_cbc() : nullptr, pass,
                           passphrase ? static_cast<int>(strlen(passphrase)) : 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  EVP_PKEY_free(pkey);
  return std::string(data, static_cast<size_t>(n));
}

TEST(DkimKeys, LoadsPkcs1RsaAndPublishesSpki) {
  const PrivateKey key = Load(kRsa1024Pem);
  EXPECT_EQ(key.type(), KeyType::kRsa);
  EXPECT_EQ(key.bits(), 1024);
  EXPECT_EQ(base64_encode(key.public_key_data()), kRsa1024Spki);
}

TEST(DkimKeys, Ed25519SeedGivesTheRfc8463PublicKey) {
  const PrivateKey key = EdKey();
  EXPECT_EQ(key.type(), KeyType::kEd25519);
  EXPECT_EQ(base64_encode(key.public_key_data()), kEdPublic);
  EXPECT_EQ(key_record_text(key), std::string("v=DKIM1; k=ed25519; p=") + kEdPublic);
}

TEST(DkimKeys, PemRoundTripIsPkcs8) {
  for (const PrivateKey& key : {Load(kRsa1024Pem), EdKey()}) {
    const std::string pem = key.pem();
    EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u) << pem;
    const PrivateKey again = Load(pem);
    EXPECT_EQ(again.type(), key.type());
    EXPECT_EQ(again.public_key_data(), key.public_key_data());
  }
}

TEST(DkimKeys, RefusesWhatDkimCannotUse) {
  PrivateKey key;
  EXPECT_FALSE(PrivateKey::from_pem("not a key", &key).ok());
  EXPECT_FALSE(PrivateKey::from_pem("", &key).ok());
  EXPECT_FALSE(key.valid());

  const Status ec =
      PrivateKey::from_pem(OpensslPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")), &key);
  EXPECT_NE(ec.message().find("not an RSA or Ed25519 key"), std::string::npos) << ec.message();

  const Status small = PrivateKey::from_pem(
      OpensslPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(512))), &key);
  EXPECT_NE(small.message().find("too short"), std::string::npos) << small.message();

  const Status encrypted = PrivateKey::from_pem(
      OpensslPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), "secret"), &key);
  EXPECT_FALSE(encrypted.ok());
  EXPECT_FALSE(key.valid());

  EXPECT_FALSE(PrivateKey::from_ed25519_seed("short", &key).ok());
}

TEST(DkimKeys, GeneratesRsaAndEd25519) {
  PrivateKey rsa, ed;
  ASSERT_TRUE(PrivateKey::generate(KeyType::kRsa, kDefaultRsaBits, &rsa).ok());
  EXPECT_EQ(rsa.bits(), 2048);
  ASSERT_TRUE(PrivateKey::generate(KeyType::kEd25519, 0, &ed).ok());
  EXPECT_EQ(ed.public_key_data().size(), 32u);
  PrivateKey other;
  ASSERT_TRUE(PrivateKey::generate(KeyType::kEd25519, 0, &other).ok());
  EXPECT_NE(ed.public_key_data(), other.public_key_data());
  EXPECT_FALSE(PrivateKey::generate(KeyType::kRsa, 512, &other).ok());
}

PublicKey Public(KeyType type, std::string_view data) {
  PublicKey pub;
  const Status s = PublicKey::from_record_data(type, data, &pub);
  EXPECT_TRUE(s.ok()) << s.message();
  return pub;
}

TEST(DkimKeys, SignAndVerifyBothAlgorithms) {
  for (const PrivateKey& key : {Load(kRsa1024Pem), EdKey()}) {
    std::string sig;
    ASSERT_TRUE(key.sign("header data", &sig).ok());
    EXPECT_EQ(sig.size(), key.type() == KeyType::kRsa ? 128u : 64u);
    const PublicKey pub = Public(key.type(), key.public_key_data());
    EXPECT_TRUE(pub.verify("header data", sig));
    EXPECT_FALSE(pub.verify("header datA", sig));
    std::string bad = sig;
    bad[5] ^= 1;
    EXPECT_FALSE(pub.verify("header data", bad));
    EXPECT_FALSE(pub.verify("header data", ""));
    // Both are deterministic (PKCS#1 v1.5, Ed25519).
    std::string again;
    ASSERT_TRUE(key.sign("header data", &again).ok());
    EXPECT_EQ(again, sig);
  }
}

TEST(DkimKeys, Ed25519SignsTheSha256OfTheData) {
  // RFC 8463 3: the signed octets are SHA-256(data), not data. A plain
  // Ed25519 verification of the hash must therefore succeed.
  const PrivateKey key = EdKey();
  std::string sig;
  ASSERT_TRUE(key.sign("data", &sig).ok());
  const std::string pub = key.public_key_data();
  EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(pub.data()), pub.size());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const unsigned char digest[] = {0x3a, 0x6e, 0xb0, 0x79, 0x0f, 0x39, 0xac, 0x87, 0xc9, 0x4f, 0x38,
                                  0x56, 0xb2, 0xdd, 0x2c, 0x5d, 0x11, 0x0e, 0x68, 0x11, 0x60, 0x22,
                                  0x61, 0xa9, 0xa9, 0x23, 0xd3, 0xbb, 0x23, 0xad, 0xc8, 0xb7};
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, raw), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             digest, sizeof digest),
            1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(raw);
}

TEST(DkimKeys, PublicRsaKeyAsSpkiOrBarePkcs1) {
  const PrivateKey key = Load(kRsa1024Pem);
  std::string sig;
  ASSERT_TRUE(key.sign("x", &sig).ok());
  EXPECT_TRUE(Public(KeyType::kRsa, D(kRsa1024Spki)).verify("x", sig));
  const PublicKey pkcs1 = Public(KeyType::kRsa, D(kRsa1024Pkcs1));
  EXPECT_EQ(pkcs1.bits(), 1024);
  EXPECT_TRUE(pkcs1.verify("x", sig));
}

TEST(DkimKeys, BadPublicKeyData) {
  PublicKey pub;
  EXPECT_FALSE(PublicKey::from_record_data(KeyType::kRsa, "garbage", &pub).ok());
  EXPECT_FALSE(PublicKey::from_record_data(KeyType::kRsa, D(kRsa1024Spki) + "x", &pub).ok());
  EXPECT_FALSE(
      PublicKey::from_record_data(KeyType::kRsa, D(kRsa1024Spki).substr(0, 100), &pub).ok());
  EXPECT_FALSE(PublicKey::from_record_data(KeyType::kEd25519, std::string(31, 'a'), &pub).ok());
  // An Ed25519 SPKI is not an RSA key.
  const std::string ed_spki = D("MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  const Status s = PublicKey::from_record_data(KeyType::kRsa, ed_spki, &pub);
  EXPECT_NE(s.message().find("not an RSA key"), std::string::npos) << s.message();
  EXPECT_FALSE(pub.valid());
}

TEST(DkimKeys, TxtStringsAreAtMost255Octets) {
  EXPECT_EQ(split_txt_strings(""), (std::vector<std::string>{""}));
  EXPECT_EQ(split_txt_strings("abc"), (std::vector<std::string>{"abc"}));
  const std::string text(600, 'x');
  const auto parts = split_txt_strings(text);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].size(), 255u);
  EXPECT_EQ(parts[1].size(), 255u);
  EXPECT_EQ(parts[2].size(), 90u);
  EXPECT_EQ(split_txt_strings(std::string(255, 'y')).size(), 1u);
}

TEST(DkimKeys, DnsRecordFor2048BitKey) {
  PrivateKey key;
  ASSERT_TRUE(PrivateKey::generate(KeyType::kRsa, 2048, &key).ok());
  const std::string record = dns_txt_record("example.com", "rsa-202601", key);
  const std::string head = "rsa-202601._domainkey.example.com. IN TXT ( \"v=DKIM1; k=rsa; p=MIIB";
  EXPECT_EQ(record.rfind(head, 0), 0u) << record;
  EXPECT_EQ(record.substr(record.size() - 3), "\" )");
  // Take the quoted strings apart again: each fits, together they are the record.
  std::string joined;
  size_t count = 0;
  for (size_t pos = record.find('"'); pos != std::string::npos;) {
    const size_t end = record.find('"', pos + 1);
    const std::string s = record.substr(pos + 1, end - pos - 1);
    EXPECT_LE(s.size(), 255u);
    joined += s;
    ++count;
    pos = record.find('"', end + 1);
  }
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(joined, key_record_text(key));
}

TEST(DkimKeys, Names) {
  EXPECT_STREQ(algorithm_name(Algorithm::kRsaSha256), "rsa-sha256");
  EXPECT_STREQ(algorithm_name(algorithm_for(KeyType::kEd25519)), "ed25519-sha256");
  EXPECT_STREQ(key_type_name(key_type_of(Algorithm::kRsaSha256)), "rsa");
}

TEST(DkimKeys, ValidDomain) {
  EXPECT_TRUE(valid_domain("example.com", 2));
  EXPECT_TRUE(valid_domain("mail-1.Example.COM", 2));
  EXPECT_FALSE(valid_domain("com", 2));
  EXPECT_TRUE(valid_domain("brisbane", 1));
  EXPECT_TRUE(valid_domain("s_2024.sub", 1));
  EXPECT_FALSE(valid_domain("", 1));
  EXPECT_FALSE(valid_domain("a..b", 1));
  EXPECT_FALSE(valid_domain("example.com.", 2));
  EXPECT_FALSE(valid_domain("-a.com", 2));
  EXPECT_FALSE(valid_domain("a b.com", 2));
  EXPECT_FALSE(valid_domain("x/y.com", 2));
  EXPECT_FALSE(valid_domain(std::string(64, 'a') + ".com", 2));
}

}  // namespace
}  // namespace tern::dkim
