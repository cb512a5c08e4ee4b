// SRS (src/relay/srs.h) against known vectors, and its key file.
//
// The expected addresses were computed once, independently of this code,
// with Python's hmac/hashlib/base64 following libsrs2's srs2.c (guarded
// scheme): HHHH = base64(HMAC-SHA1(secret, lower(parts...)))[:4], TT =
// base32 of (t / 86400) % 1024. postsrsd itself is not installed here. The
// script, for the record:
//
//   def h(secret, *parts):
//       data = "".join(parts).lower().encode()
//       return base64.b64encode(hmac.new(secret, data, hashlib.sha1).digest()[:3]).decode()
//   def tt(now):
//       s = (now // 86400) % 1024
//       return B32[s >> 5] + B32[s & 31]
#include "relay/srs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "testlib.h"

namespace tern {
namespace {

constexpr int64_t kNow = 1700000000;  // day 19675, slot 219: "G3"
constexpr int64_t kDay = 86400;
const Srs kSrs("tern-test-secret");

std::string key32() {
  std::string k;
  for (int i = 0; i < 32; ++i) k += static_cast<char>(i);
  return k;
}

bool is_local(std::string_view d) { return d == "example.test" || d == "fwd.example.net"; }

TEST(Srs, Timestamps) {
  EXPECT_EQ(srs_timestamp(kNow), "G3");
  EXPECT_EQ(srs_timestamp(0), "AA");
  EXPECT_EQ(srs_timestamp(1023 * kDay), "77");
  EXPECT_EQ(srs_timestamp(1024 * kDay), "AA");  // 10 bits: wraps every 1024 days

  EXPECT_TRUE(srs_timestamp_fresh("G3", kNow));
  EXPECT_TRUE(srs_timestamp_fresh("g3", kNow));  // case-insensitive
  EXPECT_TRUE(srs_timestamp_fresh("G3", kNow + 21 * kDay));
  EXPECT_FALSE(srs_timestamp_fresh("G3", kNow + 22 * kDay));
  EXPECT_FALSE(srs_timestamp_fresh("G3", kNow - kDay));  // tomorrow's: reads as 1023 days old
  // Across the wrap: issued on slot 1020 ("74"), checked on slot 5 (day 1029).
  EXPECT_EQ(srs_timestamp(1020 * kDay), "74");
  EXPECT_TRUE(srs_timestamp_fresh("74", 1029 * kDay));
  EXPECT_FALSE(srs_timestamp_fresh("74", 1042 * kDay));
  for (const char* bad : {"", "A", "AAA", "A1", "A=", "!!"})
    EXPECT_FALSE(srs_timestamp_fresh(bad, kNow)) << bad;
}

TEST(Srs, KnownVectors) {
  EXPECT_EQ(kSrs.forward({"alice", "Example.ORG"}, "fwd.example.net", kNow).str(),
            "SRS0=FoBe=G3=Example.ORG=alice@fwd.example.net");
  // An SRS0 address of another forwarder becomes SRS1 (its opaque part and
  // domain, signed); an SRS1 address is signed anew, keeping its parts.
  EXPECT_EQ(
      kSrs.forward({"SRS0=HHHH=G3=orig.example=bob", "other.example"}, "fwd.example.net", kNow)
          .str(),
      "SRS1=G/dn=other.example==HHHH=G3=orig.example=bob@fwd.example.net");
  EXPECT_EQ(kSrs.forward({"SRS1=zzzz=first.example==HHHH=G3=orig.example=bob", "second.example"},
                         "fwd.example.net", kNow)
                .str(),
            "SRS1=g6Z2=first.example==HHHH=G3=orig.example=bob@fwd.example.net");
  Srs binary(key32());  // a key with NUL octets: its whole length counts
  EXPECT_EQ(binary.forward({"John.Smith", "remote.example"}, "x.test", kNow).local,
            "SRS0=iq8L=G3=remote.example=John.Smith");
}

TEST(Srs, ReverseUndoesForward) {
  Srs::Reversed r = kSrs.reverse("SRS0=FoBe=G3=Example.ORG=alice", kNow + 3 * kDay);
  ASSERT_EQ(r.error, SrsError::kOk);
  EXPECT_EQ(r.address.str(), "alice@Example.ORG");
  // A hop that folds case (local part and hash) does not break it.
  r = kSrs.reverse("srs0=fobe=g3=example.org=ALICE", kNow);
  ASSERT_EQ(r.error, SrsError::kOk);
  EXPECT_EQ(r.address.str(), "ALICE@example.org");
  // The original local part may itself hold '='.
  Address odd{"a=b", "x.example"};
  r = kSrs.reverse(kSrs.forward(odd, "fwd.example.net", kNow).local, kNow);
  ASSERT_EQ(r.error, SrsError::kOk);
  EXPECT_EQ(r.address, odd);
  // SRS1 goes back to the first forwarder's SRS0 address.
  r = kSrs.reverse("SRS1=G/dn=other.example==HHHH=G3=orig.example=bob", kNow + 400 * kDay);
  ASSERT_EQ(r.error, SrsError::kOk);
  EXPECT_EQ(r.address.str(), "SRS0=HHHH=G3=orig.example=bob@other.example");
}

TEST(Srs, ReverseRefusesForgedExpiredAndMalformed) {
  EXPECT_EQ(kSrs.reverse("alice", kNow).error, SrsError::kNotSrs);
  EXPECT_EQ(kSrs.reverse("SRS2=FoBe=G3=x=y", kNow).error, SrsError::kNotSrs);
  EXPECT_EQ(kSrs.reverse("SRS0FoBe=G3=x=y", kNow).error, SrsError::kNotSrs);
  // Another user at the same domain, another domain, another hash.
  EXPECT_EQ(kSrs.reverse("SRS0=FoBe=G3=Example.ORG=mallory", kNow).error, SrsError::kBadHash);
  EXPECT_EQ(kSrs.reverse("SRS0=FoBe=G3=evil.example=alice", kNow).error, SrsError::kBadHash);
  EXPECT_EQ(kSrs.reverse("SRS0=FoBf=G3=Example.ORG=alice", kNow).error, SrsError::kBadHash);
  EXPECT_EQ(kSrs.reverse("SRS0=FoB=G3=Example.ORG=alice", kNow).error, SrsError::kBadHash);
  // A changed timestamp breaks the hash; the right one expires.
  EXPECT_EQ(kSrs.reverse("SRS0=FoBe=G4=Example.ORG=alice", kNow).error, SrsError::kBadHash);
  EXPECT_EQ(kSrs.reverse("SRS0=FoBe=G3=Example.ORG=alice", kNow + 22 * kDay).error,
            SrsError::kExpired);
  // Another key signed it.
  EXPECT_EQ(Srs("other").reverse("SRS0=FoBe=G3=Example.ORG=alice", kNow).error, SrsError::kBadHash);
  EXPECT_EQ(kSrs.reverse("SRS1=G/dm=other.example==HHHH=G3=orig.example=bob", kNow).error,
            SrsError::kBadHash);
  for (const char* bad :
       {"SRS0=", "SRS0=FoBe", "SRS0=FoBe=G3", "SRS0=FoBe=G3=Example.ORG",
        "SRS0=FoBe=G3=Example.ORG=", "SRS0==G3=x=y", "SRS0=FoBe=G!=x=y", "SRS0=FoBe=GGG=x=y",
        "SRS1=", "SRS1=G/dn", "SRS1=G/dn=other.example", "SRS1=G/dn=other.example="})
    EXPECT_EQ(kSrs.reverse(bad, kNow).error, SrsError::kMalformed) << bad;
  EXPECT_STREQ(srs_error_text(SrsError::kBadHash), "invalid SRS signature");
  EXPECT_STREQ(srs_error_text(SrsError::kExpired), "SRS address expired");
}

TEST(Srs, SeparatorsAfterTheTag) {
  EXPECT_TRUE(is_srs_local("SRS0=x"));
  EXPECT_TRUE(is_srs_local("srs1-x"));
  EXPECT_TRUE(is_srs_local("SRS0+x"));
  EXPECT_FALSE(is_srs_local("SRS0_x"));
  EXPECT_FALSE(is_srs_local("SRS0"));
  EXPECT_FALSE(is_srs_local("srs"));
  // libsrs2 reads the fields after any of them.
  Address a = kSrs.forward({"alice", "Example.ORG"}, "fwd.example.net", kNow);
  std::string dash = a.local;
  dash[4] = '-';
  EXPECT_EQ(kSrs.reverse(dash, kNow).error, SrsError::kOk);
}

TEST(Srs, ForwardSenderPolicy) {
  auto fwd = [](const Address& from) {
    return srs_forward_sender(kSrs, from, "fwd.example.net", kNow, is_local);
  };
  EXPECT_EQ(fwd({"alice", "Example.ORG"}).str(), "SRS0=FoBe=G3=Example.ORG=alice@fwd.example.net");
  // Unchanged: <>, our own senders (and our own SRS addresses), and what
  // would not make a valid mailbox.
  EXPECT_TRUE(fwd(Address{}).is_null());
  EXPECT_EQ(fwd({"bob", "example.test"}).str(), "bob@example.test");
  EXPECT_EQ(fwd({"SRS0=FoBe=G3=Example.ORG=alice", "fwd.example.net"}).local,
            "SRS0=FoBe=G3=Example.ORG=alice");
  EXPECT_EQ(fwd({"\"a b\"", "remote.example"}).str(), "\"a b\"@remote.example");
  EXPECT_EQ(fwd({"x", "[192.0.2.1]"}).str(), "x@[192.0.2.1]");
  std::string long_local(40, 'l');  // 13 + 15 + 40 > 64 octets
  EXPECT_EQ(fwd({long_local, "remote.example"}).local, long_local);
  // Another forwarder's SRS0: SRS1.
  EXPECT_EQ(fwd({"SRS0=HHHH=G3=orig.example=bob", "other.example"}).str(),
            "SRS1=G/dn=other.example==HHHH=G3=orig.example=bob@fwd.example.net");
  // UTF-8 local parts pass (SMTPUTF8 travels with the message).
  EXPECT_EQ(fwd({"j\xc3\xb6rg", "remote.example"}).domain, "fwd.example.net");
}

TEST(SrsKey, CreatedOnceWithMode0600) {
  testlib::TempDir dir("tern-srs");
  const std::string path = dir.path() + "/srs.key";
  std::string a, b;
  ASSERT_TRUE(load_or_create_srs_key(path, &a).ok());
  EXPECT_EQ(a.size(), 32u);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(load_or_create_srs_key(path, &b).ok());
  EXPECT_EQ(a, b);
  EXPECT_EQ(testlib::slurp(path), a);
  // Only the key is left in the directory (no temporary file).
  size_t entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) entries += !e.path().empty();
  EXPECT_EQ(entries, 1u);
}

TEST(SrsKey, ExistingKeyIsUsedAndAShortOneRefused) {
  testlib::TempDir dir("tern-srs");
  const std::string path = dir.path() + "/srs.key";
  std::ofstream(path) << "sixteen octets!!";
  std::string key;
  ASSERT_TRUE(load_or_create_srs_key(path, &key).ok());
  EXPECT_EQ(key, "sixteen octets!!");
  std::ofstream(path, std::ios::trunc) << "short";
  Status s = load_or_create_srs_key(path, &key);
  EXPECT_EQ(s.kind(), Status::Kind::kPermanent);
  EXPECT_NE(s.message().find("at least 16"), std::string::npos) << s.message();
  EXPECT_EQ(testlib::slurp(path), "short");  // never replaced
  EXPECT_FALSE(load_or_create_srs_key(dir.path() + "/no/such/dir/srs.key", &key).ok());
}

}  // namespace
}  // namespace tern
