// consumer: a program built against an *installed* tern (headers, libtern.so,
// tern.pc or ternConfig.cmake) by tests/integration/test_install.py, once
// with pkg-config and once with find_package(tern). It includes every C++
// public header and sends two messages, one with tern::Client and one with
// tern::AsyncClient.
//
//   consumer HOST PORT FROM TO TAG
//
// Exits 0 when both were accepted; prints what went wrong otherwise.
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <cstdlib>
#include <iostream>
#include <string>

#include "tern/address.h"
#include "tern/async_client.h"
#include "tern/client.h"
#include "tern/mailbox.h"
#include "tern/message.h"
#include "tern/reply.h"
#include "tern/smtp.h"

namespace {

tern::Message letter(const char* from, const char* to, const std::string& subject) {
  tern::Message m;
  if (!m.set_from(from).ok() || !m.add_to(to).ok() || !m.set_subject(subject).ok()) {
    std::cerr << "consumer: bad address\n";
    std::exit(2);
  }
  m.set_text("Sent by a program built against the installed tern.\n");
  return m;
}

asio::awaitable<void> send_async(tern::ClientOptions options, tern::Message m, bool* ok) {
  tern::AsyncClient client(co_await asio::this_coro::executor, options);
  tern::SendResult r = co_await client.send(m);
  if (!r.ok()) std::cerr << "consumer: async: " << r.describe() << "\n";
  *ok = r.ok();
  co_await client.close();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: consumer HOST PORT FROM TO TAG\n";
    return 2;
  }
  tern::ClientOptions options;
  options.host = argv[1];
  options.port = static_cast<uint16_t>(std::atoi(argv[2]));
  options.security = tern::Security::kNone;
  const std::string tag = argv[5];

  tern::Client client(options);
  tern::SendResult r = client.send(letter(argv[3], argv[4], tag + " blocking"));
  if (!r.ok()) std::cerr << "consumer: blocking: " << r.describe() << "\n";

  bool async_ok = false;
  asio::io_context io;
  asio::co_spawn(io, send_async(options, letter(argv[3], argv[4], tag + " async"), &async_ok),
                 [](std::exception_ptr e) {
                   if (e) std::rethrow_exception(e);
                 });
  io.run();
  return r.ok() && async_ok ? 0 : 1;
}
