// ClientConnection (src/client/connection.h) against a scripted server on
// 127.0.0.1: the one unit test with real sockets, since what it tests is
// the I/O binding itself (connect, deadlines, TLS, connection reuse). The
// SMTP logic is ClientSession's, tested without sockets elsewhere.
#include <gtest/gtest.h>

#include <asio.hpp>

#include "client/connection.h"
#include "config/config.h"
#include "net/awaitable.h"
#include "testlib.h"
#include "tls/tls.h"

namespace tern {
namespace {

using namespace std::chrono_literals;

// Just enough of a server to see what the client does. With PIPELINING on
// it holds back the replies to MAIL and RCPT until DATA arrives, so a
// client that waited for each reply would stall (and time out).
class FakeServer {
 public:
  struct Options {
    bool pipelining = true;
    bool greet = true;                             // false: say nothing, ever
    std::shared_ptr<asio::ssl::context> starttls;  // offered when set
  };

  FakeServer(asio::io_context& io, Options o)
      : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}), o_(std::move(o)) {}

  asio::ip::tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

  // Serves `n` connections one after the other, then returns.
  asio::awaitable<void> serve(int n) {
    for (int i = 0; i < n; ++i) {
      auto [ec, socket] =
          co_await acceptor_.async_accept(asio::experimental::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      ++connections;
      SmtpStream s(std::move(socket));
      co_await session(s);
      s.close();
    }
  }

  int connections = 0;
  int batched = 0;                 // transactions whose MAIL and RCPT came before any reply
  std::error_code end_after_quit;  // under TLS: what the read after 221 saw
  std::vector<std::string> commands;
  std::vector<std::string> messages;

 private:
  asio::awaitable<bool> line(SmtpStream& s, std::string* out) {
    for (;;) {
      if (size_t eol = in_.find("\r\n"); eol != std::string::npos) {
        *out = in_.substr(0, eol);
        in_.erase(0, eol + 2);
        co_return true;
      }
      char buf[4096];
      std::error_code ec;
      const size_t n = co_await s.read_some(asio::buffer(buf), 10s, ec);
      if (n == 0) co_return false;
      in_.append(buf, n);
    }
  }

  asio::awaitable<void> put(SmtpStream& s, const std::string& data) {
    std::error_code ec;
    co_await s.write(data, 10s, ec);
  }

  asio::awaitable<void> session(SmtpStream& s) {
    in_.clear();
    std::string l;
    if (!o_.greet) {
      while (co_await line(s, &l)) {
      }
      co_return;
    }
    co_await put(s, "220 fake.test ESMTP\r\n");
    std::string pending;  // replies held back (PIPELINING)
    int held = 0;
    bool tls = false;
    while (co_await line(s, &l)) {
      commands.push_back(l);
      const std::string verb = l.substr(0, l.find_first_of(" :"));
      if (verb == "EHLO") {
        std::string r = "250-fake.test\r\n";
        if (o_.pipelining) r += "250-PIPELINING\r\n";
        if (o_.starttls && !tls) r += "250-STARTTLS\r\n";
        co_await put(s, r + "250 8BITMIME\r\n");
      } else if (verb == "MAIL" || verb == "RCPT" || verb == "RSET") {
        pending += verb == "RCPT" ? "250 2.1.5 ok\r\n" : "250 2.1.0 ok\r\n";
        ++held;
        if (!o_.pipelining) {
          co_await put(s, pending);
          pending.clear();
          held = 0;
        }
      } else if (verb == "DATA") {
        if (held >= 2) ++batched;
        co_await put(s, pending + "354 go ahead\r\n");
        pending.clear();
        held = 0;
        std::string body;
        while (co_await line(s, &l) && l != ".") {
          body += (l.starts_with("..") ? l.substr(1) : l) + "\r\n";
        }
        messages.push_back(body);
        co_await put(s, "250 2.0.0 queued\r\n");
      } else if (verb == "STARTTLS" && o_.starttls) {
        co_await put(s, "220 2.0.0 go ahead\r\n");
        in_.clear();
        std::error_code ec;
        co_await s.handshake(o_.starttls, 10s, ec);
        if (ec) co_return;
        tls = true;
      } else if (verb == "QUIT") {
        co_await put(s, "221 2.0.0 bye\r\n");
        if (tls) {
          // How the client ends: eof is its close_notify (RFC 8446 6.1),
          // stream_truncated a TCP close without one.
          char buf[64];
          std::error_code ec;
          co_await s.read_some(asio::buffer(buf), 10s, ec);
          end_after_quit = ec;
        }
        co_return;
      } else {
        co_await put(s, "502 5.5.2 what?\r\n");
      }
    }
  }

  asio::ip::tcp::acceptor acceptor_;
  Options o_;
  std::string in_;
};

OutboundMessage message(const char* to) {
  OutboundMessage m;
  m.mail.from = *parse_mailbox("sender@client.test", false);
  m.rcpts.push_back(RcptArgs{*parse_mailbox(to, false), kNotifyNone, ""});
  return m;
}

ClientSessionOptions session_options(TlsPolicy tls = TlsPolicy::kNone) {
  ClientSessionOptions o;
  o.helo_name = "client.test";
  o.tls = tls;
  // Short deadlines: a client that waits where it should not fails fast.
  o.timeouts.greeting = o.timeouts.command = o.timeouts.mail = o.timeouts.rcpt = 3s;
  o.timeouts.data_init = o.timeouts.data_block = o.timeouts.data_end = 3s;
  return o;
}

struct Outcome {
  std::error_code connect_error;
  std::vector<MessageResult> results;
  ClientTlsState tls;
  bool done = false;
};

// Sends `bodies` one after the other over one ClientConnection: the second
// is added only once the first is done, so it rides on a reused connection.
asio::awaitable<void> send_all(asio::ip::tcp::endpoint to, ClientSessionOptions options,
                               ClientTlsSetup tls, std::vector<std::string> bodies, Outcome* out) {
  ClientConnection c(co_await asio::this_coro::executor, std::move(options), std::move(tls));
  // (Not c.connect({to}, ...): GCC 12 cannot keep an initializer_list
  // across co_await.)
  std::vector<asio::ip::tcp::endpoint> endpoints{to};
  out->connect_error = co_await c.connect(std::move(endpoints), 3s);
  ClientConnection::OnDone on_done = [out](const MessageResult& r) { out->results.push_back(r); };
  for (const std::string& body : bodies) {
    c.add(message("rcpt@server.test"), std::make_unique<StringBody>(body));
    co_await c.run(on_done);
  }
  out->tls = c.tls_state();
  co_await c.quit(on_done);
  out->done = true;
}

// Runs the server (for `connections`) and the client to completion.
void run(asio::io_context& io, FakeServer* server, int connections, asio::awaitable<void> client) {
  if (server) asio::co_spawn(io, server->serve(connections), asio::detached);
  asio::co_spawn(io, std::move(client), asio::detached);
  io.run_for(30s);
}

TEST(ClientConnectionTest, TwoMessagesOneConnectionPipelined) {
  asio::io_context io;
  FakeServer server(io, {});
  Outcome out;
  run(io, &server, 1,
      send_all(server.endpoint(), session_options(), {}, {"Subject: one\r\n\r\n.hi\r\n", "two"},
               &out));
  ASSERT_TRUE(out.done);
  EXPECT_FALSE(out.connect_error);
  ASSERT_EQ(out.results.size(), 2u);
  for (const MessageResult& r : out.results) {
    EXPECT_FALSE(r.failure) << r.failure->describe();
    EXPECT_EQ(r.delivered_count(), 1u);
  }
  EXPECT_EQ(server.connections, 1);
  EXPECT_EQ(server.batched, 2);  // MAIL, RCPT, DATA in one go, both times
  ASSERT_EQ(server.messages.size(), 2u);
  EXPECT_EQ(server.messages[0], "Subject: one\r\n\r\n.hi\r\n");  // dot-stuffed and back
  EXPECT_EQ(server.messages[1], "two\r\n");
  EXPECT_EQ(server.commands.back(), "QUIT");
  EXPECT_FALSE(out.tls.active);
}

TEST(ClientConnectionTest, WithoutPipeliningOneCommandAtATime) {
  asio::io_context io;
  FakeServer server(io, {.pipelining = false});
  Outcome out;
  run(io, &server, 1, send_all(server.endpoint(), session_options(), {}, {"hello"}, &out));
  ASSERT_TRUE(out.done);
  ASSERT_EQ(out.results.size(), 1u);
  EXPECT_FALSE(out.results[0].failure);
  EXPECT_EQ(server.batched, 0);
}

TEST(ClientConnectionTest, RefusedConnectionFailsEveryMessage) {
  asio::io_context io;
  asio::ip::tcp::endpoint closed;
  {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    closed = a.local_endpoint();
  }  // nothing listens there now
  Outcome out;
  run(io, nullptr, 0, send_all(closed, session_options(), {}, {"a", "b"}, &out));
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.connect_error, asio::error::connection_refused);
  ASSERT_EQ(out.results.size(), 2u);
  for (const MessageResult& r : out.results) {
    ASSERT_TRUE(r.failure);
    EXPECT_EQ(r.failure->phase, Phase::kConnect);
    EXPECT_EQ(r.failure->cause, Failure::Cause::kConnection);
    EXPECT_FALSE(r.attempted);
    EXPECT_NE(r.failure->detail.find("refused"), std::string::npos) << r.failure->detail;
  }
}

TEST(ClientConnectionTest, SilentServerTimesOut) {
  asio::io_context io;
  FakeServer server(io, {.greet = false});
  ClientSessionOptions o = session_options();
  o.timeouts.greeting = 1s;
  Outcome out;
  const auto start = std::chrono::steady_clock::now();
  run(io, &server, 1, send_all(server.endpoint(), o, {}, {"a"}, &out));
  ASSERT_TRUE(out.done);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
  ASSERT_EQ(out.results.size(), 1u);
  ASSERT_TRUE(out.results[0].failure);
  EXPECT_EQ(out.results[0].failure->phase, Phase::kGreeting);
  EXPECT_EQ(out.results[0].failure->cause, Failure::Cause::kConnection);
  EXPECT_NE(out.results[0].failure->detail.find("timed out"), std::string::npos);
}

// STARTTLS against tern's own server context with its generated
// self-signed certificate (for "mx.test" and "localhost").
class ClientConnectionTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.hostname = "mx.test";
    config_.data_dir = dir_.path();
    server_ctx_ = make_server_tls_context(config_);
    cert_ = dir_.path() + "/tls/cert.pem";
  }

  Outcome send(ClientTlsSetup tls, int* connections = nullptr) {
    asio::io_context io;
    FakeServer server(io, {.starttls = server_ctx_});
    Outcome out;
    run(io, &server, 1,
        send_all(server.endpoint(), session_options(TlsPolicy::kRequired), std::move(tls),
                 {"secret"}, &out));
    EXPECT_TRUE(out.done);
    if (connections) *connections = server.connections;
    delivered_ = server.messages.size();
    end_after_quit_ = server.end_after_quit;
    return out;
  }

  testlib::TempDir dir_{"tern-client-tls"};
  ServerTlsOptions config_;
  std::shared_ptr<asio::ssl::context> server_ctx_;
  std::string cert_;
  size_t delivered_ = 0;
  std::error_code end_after_quit_;
};

TEST_F(ClientConnectionTlsTest, QuitEndsWithCloseNotify) {
  Outcome out = send({make_client_tls_context({}), "localhost", /*require_verified=*/false});
  ASSERT_EQ(out.results.size(), 1u);
  EXPECT_FALSE(out.results[0].failure);
  EXPECT_EQ(end_after_quit_, asio::error::eof) << end_after_quit_.message();
}

TEST_F(ClientConnectionTlsTest, UnverifiedAllowedWhenNotRequired) {
  Outcome out = send({make_client_tls_context({}), "localhost", /*require_verified=*/false});
  ASSERT_EQ(out.results.size(), 1u);
  EXPECT_FALSE(out.results[0].failure);
  EXPECT_EQ(delivered_, 1u);
  EXPECT_TRUE(out.tls.active);
  EXPECT_FALSE(out.tls.check.verified);
  EXPECT_EQ(out.tls.check.detail, "self-signed certificate");
  EXPECT_FALSE(out.tls.info.version.empty());
}

TEST_F(ClientConnectionTlsTest, UntrustedRefusedWhenRequired) {
  Outcome out = send({make_client_tls_context({}), "localhost", true});
  ASSERT_EQ(out.results.size(), 1u);
  ASSERT_TRUE(out.results[0].failure);
  EXPECT_EQ(out.results[0].failure->phase, Phase::kStartTls);
  EXPECT_EQ(out.results[0].failure->cause, Failure::Cause::kTls);
  EXPECT_NE(out.results[0].failure->detail.find("self-signed certificate"), std::string::npos)
      << out.results[0].failure->detail;
  EXPECT_EQ(delivered_, 0u);  // nothing went out after the failed check
}

TEST_F(ClientConnectionTlsTest, VerifiedWithCaFile) {
  Outcome out = send({make_client_tls_context({cert_, ""}), "localhost", true});
  ASSERT_EQ(out.results.size(), 1u);
  EXPECT_FALSE(out.results[0].failure);
  EXPECT_EQ(delivered_, 1u);
  EXPECT_TRUE(out.tls.check.verified);
  EXPECT_EQ(out.tls.check.detail, "verified");
}

TEST_F(ClientConnectionTlsTest, NameMismatchDetected) {
  Outcome out = send({make_client_tls_context({cert_, ""}), "wrong.test", true});
  ASSERT_EQ(out.results.size(), 1u);
  ASSERT_TRUE(out.results[0].failure);
  EXPECT_EQ(out.results[0].failure->cause, Failure::Cause::kTls);
  EXPECT_NE(out.results[0].failure->detail.find("hostname mismatch"), std::string::npos)
      << out.results[0].failure->detail;
  EXPECT_EQ(out.tls.check.detail, "hostname mismatch");
  EXPECT_EQ(delivered_, 0u);
}

// OutboundMessage::trace is asked once the handshake is done, so it can
// describe the connection's TLS, and goes out on top of the body. (Named
// objects, not temporaries, across co_await: GCC 12, as in send_all.)
asio::awaitable<void> send_traced(asio::ip::tcp::endpoint to, ClientTlsSetup tls, bool* done) {
  ClientConnection c(co_await asio::this_coro::executor, session_options(TlsPolicy::kRequired),
                     std::move(tls));
  std::vector<asio::ip::tcp::endpoint> endpoints{to};
  co_await c.connect(std::move(endpoints), 3s);
  OutboundMessage m = message("rcpt@server.test");
  m.trace = [&c] { return "X-Trace: " + c.tls_state().info.version + "\r\n"; };
  c.add(std::move(m), std::make_unique<StringBody>("secret\r\n"));
  ClientConnection::OnDone on_done = [](const MessageResult&) {};
  co_await c.quit(on_done);
  *done = true;
}

TEST_F(ClientConnectionTlsTest, TraceIsBuiltAfterStartTlsAndSentFirst) {
  asio::io_context io;
  FakeServer server(io, {.starttls = server_ctx_});
  bool done = false;
  run(io, &server, 1,
      send_traced(server.endpoint(), {make_client_tls_context({}), "localhost", false}, &done));
  ASSERT_TRUE(done);
  ASSERT_EQ(server.messages.size(), 1u);
  EXPECT_TRUE(server.messages[0].starts_with("X-Trace: TLSv1.")) << server.messages[0];
  EXPECT_TRUE(server.messages[0].ends_with("\r\nsecret\r\n")) << server.messages[0];
}

}  // namespace
}  // namespace tern
