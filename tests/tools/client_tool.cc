// client_tool: sends test messages with tern::Client or tern::AsyncClient,
// for tests/integration/test_client_lib.py. Uses only the public API, as a
// program linked against libtern would.
//
//   client_tool --host H --port P [--security none|starttls|tls]
//               [--user U --password P [--mechanism M]] [--ca-file F]
//               [--no-verify] [--helo NAME] --from A --to B [--to C]...
//               [--count N] [--pause SECONDS] [--async] [--raw]
//               [--transcript FILE] [--require-tls]
//
// Sends N messages (default 1) over one client, waiting --pause seconds
// between them (to let a server drop the idle connection), then closes it. Prints one
// JSON object per message on stdout: ok, error, recipients (address,
// accepted, error), code, text, tls. Errors are {kind, phase, code,
// enhanced, text, temporary, describe}. --transcript writes every line of
// the dialogue as "C: ..." or "S: ...". Exits 0 when every message was
// sent to every recipient, 1 otherwise, 2 on bad usage. --require-tls asks
// for REQUIRETLS (RFC 8689) on every message, built or raw; each JSON error
// then also has requiretls_refused.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tern/async_client.h"
#include "tern/client.h"
#include "tern/message.h"

namespace {

struct Args {
  tern::ClientOptions options;
  std::string from;
  std::vector<std::string> to;
  int count = 1;
  int pause = 0;
  bool async = false;
  bool raw = false;
  bool require_tls = false;
  std::string transcript;
};

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

const char* kind_name(tern::SmtpError::Kind k) {
  using K = tern::SmtpError::Kind;
  switch (k) {
    case K::kConnect:
      return "connect";
    case K::kTimeout:
      return "timeout";
    case K::kTls:
      return "tls";
    case K::kAuth:
      return "auth";
    case K::kRefused:
      return "refused";
    case K::kProtocol:
      return "protocol";
    case K::kMessage:
      return "message";
  }
  return "?";
}

std::string json(const std::optional<tern::SmtpError>& e) {
  if (!e) return "null";
  return "{\"kind\":" + quote(kind_name(e->kind)) + ",\"phase\":" + quote(e->phase) +
         ",\"code\":" + std::to_string(e->code) + ",\"enhanced\":" + quote(e->enhanced) +
         ",\"text\":" + quote(e->text) + ",\"temporary\":" + (e->temporary ? "true" : "false") +
         ",\"describe\":" + quote(e->describe()) +
         ",\"requiretls_refused\":" + (e->requiretls_refused() ? "true" : "false") + "}";
}

std::string json(const tern::SendResult& r, const std::string& tls) {
  std::string rcpts;
  for (const tern::RecipientStatus& s : r.recipients) {
    if (!rcpts.empty()) rcpts += ",";
    rcpts += "{\"address\":" + quote(s.address) +
             ",\"accepted\":" + (s.accepted ? "true" : "false") + ",\"error\":" + json(s.error) +
             "}";
  }
  return "{\"ok\":" + std::string(r.ok() ? "true" : "false") + ",\"error\":" + json(r.error) +
         ",\"recipients\":[" + rcpts + "],\"code\":" + std::to_string(r.code) +
         ",\"text\":" + quote(r.text) + ",\"tls\":" + quote(tls) +
         ",\"describe\":" + quote(r.describe()) + "}";
}

tern::Message make_message(const Args& a, int n) {
  tern::Message m;
  bool ok = m.set_from(a.from).ok() && m.set_subject("client_tool " + std::to_string(n)).ok();
  for (const std::string& t : a.to) ok = ok && m.add_to(t).ok();
  if (!ok) {
    std::fprintf(stderr, "client_tool: bad address\n");
    std::exit(2);
  }
  m.set_text("Message " + std::to_string(n) + " from client_tool.\n");
  m.set_require_tls(a.require_tls);
  return m;
}

std::string make_raw(const Args& a, int n) {
  // Bare LF line ends and a line starting with a dot: the client must
  // send them as CRLF and dot-stuffed.
  return "From: " + a.from + "\nTo: " + a.to.front() + "\nSubject: client_tool raw " +
         std::to_string(n) + "\n\n.leading dot\nMessage " + std::to_string(n) + ", raw.\n";
}

bool run_blocking(const Args& a) {
  bool all_ok = true;
  tern::Client client(a.options);
  for (int n = 1; n <= a.count; ++n) {
    if (n > 1) std::this_thread::sleep_for(std::chrono::seconds(a.pause));
    tern::SendResult r =
        a.raw ? client.send(tern::SendEnvelope{a.from, a.to, a.require_tls}, make_raw(a, n))
              : client.send(make_message(a, n));
    std::cout << json(r, client.tls_description()) << std::endl;
    all_ok = all_ok && r.ok();
  }
  client.close();
  return all_ok;
}

asio::awaitable<void> run_async(Args a, bool* all_ok) {
  tern::AsyncClient client(co_await asio::this_coro::executor, a.options);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int n = 1; n <= a.count; ++n) {
    if (n > 1) {
      timer.expires_after(std::chrono::seconds(a.pause));
      co_await timer.async_wait(asio::use_awaitable);
    }
    // Arguments named first: GCC 12 mishandles some temporaries that live
    // across a co_await.
    tern::SendEnvelope envelope{a.from, a.to, a.require_tls};
    tern::Message message = make_message(a, n);
    tern::SendResult r;
    if (a.raw) {
      r = co_await client.send(envelope, make_raw(a, n));
    } else {
      r = co_await client.send(message);
    }
    std::cout << json(r, client.tls_description()) << std::endl;
    *all_ok = *all_ok && r.ok();
  }
  co_await client.close();
}

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: client_tool --host H --port P --from A --to B [options]\n");
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (f == "--host") {
      a.options.host = value();
    } else if (f == "--port") {
      a.options.port = static_cast<uint16_t>(std::stoi(value()));
    } else if (f == "--security") {
      const std::string s = value();
      if (s == "none") {
        a.options.security = tern::Security::kNone;
      } else if (s == "starttls") {
        a.options.security = tern::Security::kStartTls;
      } else if (s == "tls") {
        a.options.security = tern::Security::kTls;
      } else {
        usage();
      }
    } else if (f == "--user") {
      a.options.user = value();
    } else if (f == "--password") {
      a.options.password = value();
    } else if (f == "--mechanism") {
      a.options.auth_mechanism = value();
    } else if (f == "--ca-file") {
      a.options.ca_file = value();
    } else if (f == "--no-verify") {
      a.options.verify_certificate = false;
    } else if (f == "--helo") {
      a.options.helo_name = value();
    } else if (f == "--from") {
      a.from = value();
    } else if (f == "--to") {
      a.to.push_back(value());
    } else if (f == "--count") {
      a.count = std::stoi(value());
    } else if (f == "--pause") {
      a.pause = std::stoi(value());
    } else if (f == "--async") {
      a.async = true;
    } else if (f == "--raw") {
      a.raw = true;
    } else if (f == "--require-tls") {
      a.require_tls = true;
    } else if (f == "--transcript") {
      a.transcript = value();
    } else {
      usage();
    }
  }
  if (a.from.empty() || a.to.empty()) usage();
  a.options.command_timeout = std::chrono::seconds(20);
  a.options.connect_timeout = std::chrono::seconds(10);
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  std::ofstream transcript;
  if (!a.transcript.empty()) {
    transcript.open(a.transcript);
    a.options.transcript = [&transcript](bool sent, std::string_view line) {
      transcript << (sent ? "C: " : "S: ") << line << "\n";
      transcript.flush();
    };
  }
  bool ok = true;
  if (a.async) {
    asio::io_context io;
    asio::co_spawn(io, run_async(a, &ok), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.run();
  } else {
    ok = run_blocking(a);
  }
  return ok ? 0 : 1;
}
