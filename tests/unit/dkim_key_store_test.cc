// The DKIM key store, the rule deciding which outgoing mail is signed, and
// the signing scan of the relay (relay/file_body.h) verified back.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <filesystem>
#include <fstream>

#include "core/dot_encoder.h"
#include "dkim/key_store.h"
#include "dkim/verifier.h"
#include "relay/file_body.h"
#include "testlib.h"

namespace tern::dkim {
namespace {

namespace fs = std::filesystem;

const PrivateKey& Rsa() {
  static const PrivateKey k = [] {
    PrivateKey out;
    EXPECT_TRUE(PrivateKey::generate(KeyType::kRsa, 1024, &out).ok());
    return out;
  }();
  return k;
}

const PrivateKey& Ed() {
  static const PrivateKey k = [] {
    PrivateKey out;
    EXPECT_TRUE(PrivateKey::generate(KeyType::kEd25519, 0, &out).ok());
    return out;
  }();
  return k;
}

void Write(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

std::vector<HeaderField> Fields(std::string_view header) { return split_header_fields(header); }

bool Mentions(const std::vector<std::string>& problems, std::string_view what) {
  for (const std::string& p : problems)
    if (p.find(what) != std::string::npos) return true;
  return false;
}

// --- The store ----------------------------------------------------------------

TEST(DkimKeyStoreTest, LoadsBothTypesPerDomain) {
  testlib::TempDir dir;
  Write(dir.path() + "/Example.COM/rsa-202601.key", Rsa().pem());
  Write(dir.path() + "/example.com/ed25519-202601.key", Ed().pem());
  Write(dir.path() + "/example.org/s1.key", Ed().pem());
  Write(dir.path() + "/example.org/README", "not a key, ignored");
  std::vector<std::string> problems;
  KeyStore store = KeyStore::load(dir.path(), &problems);
  EXPECT_TRUE(problems.empty()) << problems.front();
  EXPECT_EQ(store.domain_count(), 2u);
  const std::vector<SigningKey>& keys = store.keys_for("EXAMPLE.com");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].selector, "rsa-202601");  // RSA first
  EXPECT_EQ(keys[0].key.type(), KeyType::kRsa);
  EXPECT_EQ(keys[1].selector, "ed25519-202601");
  EXPECT_EQ(store.keys_for("example.org").size(), 1u);
  EXPECT_TRUE(store.keys_for("example.net").empty());
  EXPECT_EQ(store.describe(), (std::vector<std::string>{"example.com (rsa-202601, ed25519-202601)",
                                                        "example.org (s1)"}));
}

TEST(DkimKeyStoreTest, MissingDirectoryIsEmpty) {
  testlib::TempDir dir;
  std::vector<std::string> problems;
  KeyStore store = KeyStore::load(dir.path() + "/dkim", &problems);
  EXPECT_TRUE(store.empty());
  EXPECT_TRUE(problems.empty());
}

TEST(DkimKeyStoreTest, BadFilesAreReportedAndSkipped) {
  testlib::TempDir dir;
  Write(dir.path() + "/example.com/good.key", Ed().pem());
  Write(dir.path() + "/example.com/garbage.key", "-----BEGIN PRIVATE KEY-----\nnope\n");
  Write(dir.path() + "/example.com/bad_sel-.key", Ed().pem());
  Write(dir.path() + "/nodot/s.key", Ed().pem());
  Write(dir.path() + "/example.org/empty.key", "");
  Write(dir.path() + "/example.net/locked.key", Rsa().pem());
  ::chmod((dir.path() + "/example.net/locked.key").c_str(), 0);
  std::vector<std::string> problems;
  KeyStore store = KeyStore::load(dir.path(), &problems);
  EXPECT_EQ(store.keys_for("example.com").size(), 1u);
  EXPECT_TRUE(store.keys_for("example.org").empty());
  EXPECT_TRUE(Mentions(problems, "/example.com/garbage.key: ")) << testing::PrintToString(problems);
  EXPECT_TRUE(Mentions(problems, "/example.com/bad_sel-.key: not a valid selector"));
  EXPECT_TRUE(Mentions(problems, "/nodot: not a domain name"));
  EXPECT_TRUE(Mentions(problems, "/example.org/empty.key: "));
  if (::geteuid() != 0) {  // root reads it anyway
    EXPECT_TRUE(Mentions(problems, "/example.net/locked.key: cannot be opened"));
  }
}

TEST(DkimKeyStoreTest, NewestKeyOfATypeSigns) {
  testlib::TempDir dir;
  const std::string old_key = dir.path() + "/example.com/rsa-202512.key";
  const std::string new_key = dir.path() + "/example.com/rsa-202601.key";
  Write(new_key, Rsa().pem());
  Write(old_key, Rsa().pem());
  // The older file by modification time, whatever the names say.
  fs::last_write_time(old_key, fs::last_write_time(new_key) - std::chrono::hours(24 * 30));
  std::vector<std::string> problems;
  KeyStore store = KeyStore::load(dir.path(), &problems);
  ASSERT_EQ(store.keys_for("example.com").size(), 1u);
  EXPECT_EQ(store.keys_for("example.com")[0].selector, "rsa-202601");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("rsa-202512.key: not used"), std::string::npos) << problems[0];
}

// --- Whose mail is signed --------------------------------------------------------

TEST(DkimSignPolicyTest, SenderIsOurs) {
  Envelope e;
  e.listener = "submission";
  e.auth_user = "alice@example.com";
  EXPECT_TRUE(sender_is_ours(e));
  e.auth_user.clear();
  EXPECT_FALSE(sender_is_ours(e));  // unauthenticated: relayed for someone else
  e.listener = "smtp";
  EXPECT_FALSE(sender_is_ours(e));
  e.listener = "dsn";  // a bounce made here (relay/plan.cc dsn_envelope)
  EXPECT_TRUE(sender_is_ours(e));
  e.listener = "forward";  // a copy an alias forwards (forward_envelope)
  EXPECT_FALSE(sender_is_ours(e));
  for (const char* report : {"report", "tls-rpt"}) {  // DMARC and TLS reports made here
    e.listener = report;
    EXPECT_TRUE(sender_is_ours(e)) << report;
  }
}

TEST(DkimSignPolicyTest, FromDomain) {
  std::string why;
  EXPECT_EQ(from_domain(Fields("From: Alice <alice@Example.COM>\r\nTo: b@x.org\r\n"), &why),
            "example.com");
  EXPECT_EQ(
      from_domain(Fields("To: b@x.org\r\nfrom:\r\n \"Doe, J.\"\r\n <j@example.org>\r\n"), &why),
      "example.org");
  EXPECT_EQ(from_domain(Fields("From: =?utf-8?q?J=C3=B6rg?= <j@example.net>\r\n"), &why),
            "example.net");
  EXPECT_EQ(from_domain(Fields("From: a@example.org (Alice)\r\n"), &why), "example.org");

  EXPECT_EQ(from_domain(Fields("To: b@x.org\r\n"), &why), "");
  EXPECT_EQ(why, "no From field");
  EXPECT_EQ(from_domain(Fields("From: a@example.com\r\nFrom: b@example.com\r\n"), &why), "");
  EXPECT_EQ(why, "more than one From field");
  EXPECT_EQ(from_domain(Fields("From: a@example.com, b@example.org\r\n"), &why), "");
  EXPECT_EQ(why, "From does not hold exactly one mailbox");
  EXPECT_EQ(from_domain(Fields("From: <>\r\n"), &why), "");
  EXPECT_EQ(from_domain(Fields("From: nobody\r\n"), &why), "");
}

TEST(DkimSignPolicyTest, SigningDomain) {
  KeyStore store;
  store.add("example.com", SigningKey{"ed", Ed(), "ed.key"});
  store.add("example.com", SigningKey{"rsa", Rsa(), "rsa.key"});
  const auto ours = Fields("From: alice@example.com\r\nSubject: hi\r\n");

  SigningChoice c = signing_domain(store, true, ours);
  EXPECT_EQ(c.domain, "example.com");
  ASSERT_EQ(c.keys.size(), 2u);
  EXPECT_EQ(c.keys[0]->selector, "rsa");
  EXPECT_EQ(c.keys[1]->selector, "ed");

  c = signing_domain(store, false, ours);  // relayed for others, even with our From
  EXPECT_TRUE(c.keys.empty());
  EXPECT_EQ(c.why_not, "relayed for another sender");

  c = signing_domain(store, true, Fields("From: bob@example.org\r\n"));
  EXPECT_TRUE(c.keys.empty());
  EXPECT_EQ(c.why_not, "no key for example.org");

  // d= is exactly the From domain: not a parent's, not a subdomain's.
  c = signing_domain(store, true, Fields("From: bob@mail.example.com\r\n"));
  EXPECT_TRUE(c.keys.empty());

  c = signing_domain(store, true, Fields("Subject: no from\r\n"));
  EXPECT_EQ(c.why_not, "no From field");
}

// --- The relay's signing scan -------------------------------------------------------

// The content of a FileBody, read to its end in pieces of `piece` octets.
std::string ReadBody(FileBody& body, size_t piece) {
  asio::io_context io;
  std::string data, error;
  auto reader = [&]() -> asio::awaitable<void> {
    while (co_await body.read(&data, piece, &error)) {
    }
  };
  asio::co_spawn(io, reader(), asio::detached);
  io.run();
  EXPECT_EQ(error, "");
  return data;
}

std::vector<SignatureResult> Verify(const std::string& message) {
  Verifier v;
  v.write(message);
  v.finish();
  for (const std::string& q : v.key_queries()) {
    const PrivateKey& k = q.starts_with("rsa.") ? Rsa() : Ed();
    v.add_key(q, KeyAnswer::found({key_record_text(k)}));
  }
  return v.results();
}

TEST(DkimSigningScanTest, SignsAndCountsTheFieldsInTheSize) {
  testlib::TempDir dir;
  const std::string path = dir.path() + "/msg";
  const std::string envelope = "tern-queue 1\nid X\n\n";
  const std::string content =
      "Received: from x by y; Thu, 1 Jan 2026 00:00:00 +0000\r\n"
      "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\n"
      "Hello\r\n.dot\r\nno final line end";
  Write(path, envelope + content);
  auto store = std::make_shared<KeyStore>();
  store->add("example.com", SigningKey{"rsa", Rsa(), "rsa.key"});
  store->add("example.com", SigningKey{"ed", Ed(), "ed.key"});

  SignInput in{store, true, 1767225600};
  ScanResult r;
  ASSERT_TRUE(scan_body_file(path, envelope.size(), in, &r).ok());
  EXPECT_TRUE(r.is_signed);
  EXPECT_EQ(r.dkim, "d=example.com s=rsa,ed");
  ASSERT_TRUE(r.prefix.starts_with("DKIM-Signature: ")) << r.prefix;
  EXPECT_NE(r.prefix.find("\r\nDKIM-Signature: "), std::string::npos);
  EXPECT_TRUE(r.prefix.ends_with("\r\n"));
  EXPECT_NE(r.prefix.find("t=1767225600"), std::string::npos);

  asio::thread_pool pool(1);
  FileBody body(pool.get_executor(), path, envelope.size(), r.prefix);
  const std::string sent = ReadBody(body, 100);  // pieces smaller than the prefix
  pool.join();
  EXPECT_EQ(sent, r.prefix + content);
  // SIZE= is what the encoder will count for exactly these octets.
  BodyScanner wire;
  wire.feed(sent);
  EXPECT_EQ(r.facts.size, wire.size());

  std::vector<SignatureResult> results = Verify(sent);
  ASSERT_EQ(results.size(), 2u);
  for (const SignatureResult& s : results) {
    EXPECT_EQ(s.result, Result::kPass) << s.selector << ": " << s.reason;
    EXPECT_EQ(s.domain, "example.com");
  }
}

TEST(DkimSigningScanTest, NotOursOrNoKeyIsSentAsIs) {
  testlib::TempDir dir;
  const std::string path = dir.path() + "/msg";
  const std::string content = "From: a@example.com\r\n\r\nbody\r\n";
  Write(path, content);
  auto store = std::make_shared<KeyStore>();
  store->add("example.com", SigningKey{"ed", Ed(), "ed.key"});
  ScanResult r;

  ASSERT_TRUE(scan_body_file(path, 0, SignInput{store, false, 1}, &r).ok());
  EXPECT_FALSE(r.is_signed);
  EXPECT_EQ(r.prefix, "");
  EXPECT_EQ(r.dkim, "");  // not ours: nothing to say
  EXPECT_EQ(r.facts.size, content.size());

  ASSERT_TRUE(scan_body_file(path, 0, SignInput{nullptr, true, 1}, &r).ok());
  EXPECT_EQ(r.prefix, "");

  Write(path, "From: a@example.org\r\n\r\nbody\r\n");
  ASSERT_TRUE(scan_body_file(path, 0, SignInput{store, true, 1}, &r).ok());
  EXPECT_FALSE(r.is_signed);
  EXPECT_EQ(r.prefix, "");
  EXPECT_EQ(r.dkim, "no key for example.org");

  // A header section only (no blank line) is still a message to sign.
  Write(path, "From: a@example.com\r\nSubject: s\r\n");
  ASSERT_TRUE(scan_body_file(path, 0, SignInput{store, true, 1}, &r).ok());
  EXPECT_TRUE(r.is_signed) << r.dkim;
}

}  // namespace
}  // namespace tern::dkim
