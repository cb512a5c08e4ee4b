// `tern sendmail` and `tern` run through a link named "sendmail": the
// sendmail(8) interface of cron, git send-email, mailx and PHP's mail().
//
// The message from standard input is submitted over SMTP to the configured
// server, by default this machine's tern (its smtp listener, over
// loopback), the way Postfix's sendmail hands mail to its own pickup
// rather than writing the queue itself: the running server owns the queue
// (FsQueueStore holds an exclusive lock on it), and its 250 after DATA
// already means "fsync'd into the queue". docs/send.md explains the rest.
//
// Flags: sendcli/sendmail_args.h. Exit statuses: sendcli/exit_codes.h.
#include <stdio.h>

#include <string>
#include <vector>

#include "commands.h"
#include "sendcli/exit_codes.h"
#include "sendcli/prepare.h"
#include "sendcli/sendmail_args.h"
#include "sendcli/setup.h"
#include "tern/client.h"

namespace tern {
namespace {

using namespace sendcli;

// Standard input up to its end, or (without -i) up to a line holding a
// single ".", which is not part of the message.
std::string read_message(bool ignore_dots) {
  std::string message;
  char* line = nullptr;
  size_t cap = 0;
  ssize_t n;
  while ((n = ::getline(&line, &cap, stdin)) > 0) {
    const std::string_view l(line, static_cast<size_t>(n));
    if (ends_input(l, ignore_dots)) break;
    message.append(l);
  }
  ::free(line);
  return message;
}

}  // namespace

int run_sendmail(const std::string& name, const std::vector<std::string>& args) {
  const auto fail = [&](int code, const std::string& message) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), message.c_str());
    return code;
  };
  SendmailArgs a;
  if (std::string err = parse_sendmail_args(args, &a); !err.empty()) {
    fail(kExitUsage, err);
    std::fprintf(stderr, "Try '%s --help'.\n", name.c_str());
    return kExitUsage;
  }
  if (a.help) {
    std::fputs(sendmail_usage(), stdout);
    return kExitOk;
  }
  if (a.verbose) {
    for (const std::string& o : a.ignored)
      std::fprintf(stderr, "%s: ignoring %s\n", name.c_str(), o.c_str());
  }
  if (a.recipients.empty() && !a.extract_recipients) {  // before waiting on stdin
    return fail(kExitUsage, "no recipients given (name them, or use -t)");
  }
  const std::string input = read_message(a.ignore_dots);

  Sources sources;
  sources.client_config = a.client_config;
  sources.server_config = a.config;
  Target target;
  try {
    target = load_target(sources);
  } catch (const ClientConfigError& e) {
    return fail(kExitConfig, e.what());
  }
  const Prepared p = prepare_sendmail(a, input, make_identity(target));
  if (!p.error.empty()) return fail(p.exit_code, p.error);

  if (a.verbose) {
    target.options.transcript = [](bool sent, std::string_view line) {
      std::fprintf(stderr, "%s %.*s\n", sent ? ">>>" : "<<<", static_cast<int>(line.size()),
                   line.data());
    };
  }
  Client client(target.options);
  const SendResult r = client.send(p.envelope, p.message);
  const int code = exit_code(r);
  if (code != kExitOk) {
    return fail(code, r.describe() + relay_hint(target, r));
  }
  if (a.verbose) std::fprintf(stderr, "%s: %s\n", name.c_str(), r.describe().c_str());
  return kExitOk;
}

void add_sendmail_command(CLI::App& app) {
  // Listed for --help only: main() hands "tern sendmail ..." to
  // run_sendmail before CLI11 sees it, as sendmail's flags (-oi, -FName)
  // are not CLI11's.
  app.add_subcommand("sendmail", "sendmail(8)-compatible submission (tern sendmail --help)");
}

}  // namespace tern
