// Which relayed messages get our ARC set, and with which key of the DKIM
// key store (relay/arc_seal.h).
#include <gtest/gtest.h>

#include "relay/arc_seal.h"

namespace tern {
namespace {

dkim::SigningKey Key(dkim::KeyType type, std::string selector) {
  dkim::SigningKey k;
  EXPECT_TRUE(dkim::PrivateKey::generate(type, 2048, &k.key).ok());
  k.selector = std::move(selector);
  return k;
}

Config Sealing() {
  Config c;
  c.hostname = "mx.example.org";
  c.arc.seal = true;
  c.arc.domain = "example.org";
  c.arc.trusted_forwarders = {"lists@example.org"};
  return c;
}

TEST(ArcSealing, PicksTheKeyOfTheAlgorithmOrTheSelector) {
  dkim::KeyStore store;
  store.add("example.org", Key(dkim::KeyType::kRsa, "rsa1"));
  store.add("example.org", Key(dkim::KeyType::kEd25519, "ed1"));
  Config c = Sealing();
  std::string problem;
  auto s = arc_sealing(c, store, &problem);
  ASSERT_TRUE(s) << problem;
  EXPECT_EQ(s->selector, "rsa1");
  EXPECT_EQ(s->authserv_id, "mx.example.org");
  c.arc.algorithm = "ed25519-sha256";
  s = arc_sealing(c, store, &problem);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->selector, "ed1");
  c.arc.selector = "rsa1";
  s = arc_sealing(c, store, &problem);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->key.type(), dkim::KeyType::kRsa);
  c.arc.selector = "gone";
  EXPECT_FALSE(arc_sealing(c, store, &problem));
  EXPECT_EQ(problem, "no key gone for example.org in the DKIM key store: nothing is sealed");
  c.arc.seal = false;
  EXPECT_FALSE(arc_sealing(c, store, &problem));
  EXPECT_EQ(problem, "");
  EXPECT_FALSE(arc_sealing(Sealing(), dkim::KeyStore(), &problem));
  EXPECT_NE(problem.find("no rsa-sha256 key for example.org"), std::string::npos);
}

TEST(ArcSealing, ForwardedCopiesAndTrustedForwarders) {
  dkim::KeyStore store;
  store.add("example.org", Key(dkim::KeyType::kEd25519, "ed1"));
  Config c = Sealing();
  c.arc.algorithm = "ed25519-sha256";
  std::string problem;
  auto s = arc_sealing(c, store, &problem);
  ASSERT_TRUE(s) << problem;
  Envelope e;
  e.listener = "forward";
  e.client_ip = "198.51.100.1";
  EXPECT_TRUE(should_seal(e, *s));
  e.listener = "smtp";  // a stranger's mail to a local user
  EXPECT_FALSE(should_seal(e, *s));
  e.listener = "submission";
  e.auth_user = "lists@example.org";
  EXPECT_TRUE(should_seal(e, *s));
  e.auth_user = "alice@example.org";  // a user of ours: DKIM-signed, not sealed
  EXPECT_FALSE(should_seal(e, *s));
  e.auth_user.clear();
  e.listener = "dsn";
  EXPECT_FALSE(should_seal(e, *s));
}

}  // namespace
}  // namespace tern
