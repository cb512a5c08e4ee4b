// `tern send`: mailx-like sending from the shell.
//
//   echo body | tern send -s Subject [-a FILE]... [-c CC]... [-b BCC]... [-r FROM]
//                         [--html FILE] [--list-unsubscribe URI]... [--one-click]
//                         [--require-tls | --tls-optional] TO...
//   tern send --batch DIR      every DIR/*.eml, in name order
//   tern send --mbox FILE      every message of an mbox
//
// Where mail goes (flags > TERN_SMTP_* > client.toml > this machine's tern
// server) is sendcli/client_config.h; exit statuses are
// sendcli/exit_codes.h; docs/send.md has both for users.
#include <stdio.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "sendcli/addresses.h"
#include "sendcli/exit_codes.h"
#include "sendcli/mbox.h"
#include "sendcli/prepare.h"
#include "sendcli/progress.h"
#include "sendcli/setup.h"
#include "tern/client.h"
#include "tern/message.h"

namespace tern {
namespace {

using namespace sendcli;

struct SendOptions {
  std::string subject;
  std::vector<std::string> attach, cc, bcc, to;
  std::string from, html, batch, mbox;
  std::vector<std::string> unsubscribe;  // List-Unsubscribe URIs (RFC 2369)
  bool one_click = false;                // List-Unsubscribe-Post (RFC 8058)
  bool require_tls = false;              // REQUIRETLS on MAIL FROM (RFC 8689)
  bool tls_optional = false;             // TLS-Required: No (RFC 8689 3)
  // Where to.
  std::string host, port, security, user, password_command, ca_file;
  bool insecure = false;
  std::string client_config, config;
  bool verbose = false;
};

[[noreturn]] void fail(int code, const std::string& message) {
  std::fprintf(stderr, "tern send: %s\n", message.c_str());
  throw CLI::RuntimeError(code);
}

Target load(const SendOptions& o) {
  Sources src;
  src.client_config = o.client_config;
  src.server_config = o.config;
  src.require_tls = o.require_tls;
  ClientSettings& f = src.flags;
  if (!o.host.empty()) f.host = o.host;
  if (!o.port.empty()) {
    f.port = parse_port(o.port);
    if (!f.port) fail(kExitUsage, "--port must be a port from 1 to 65535");
  }
  if (!o.security.empty()) f.security = parse_security(o.security);  // CLI11 checked the value
  if (!o.user.empty()) f.user = o.user;
  if (!o.password_command.empty()) f.password_command = o.password_command;
  if (!o.ca_file.empty()) f.ca_file = o.ca_file;
  if (o.insecure) f.verify = false;
  try {
    Target t = load_target(src);
    if (o.verbose) {
      t.options.transcript = [](bool sent, std::string_view line) {
        std::fprintf(stderr, "%s %.*s\n", sent ? ">>>" : "<<<", static_cast<int>(line.size()),
                     line.data());
      };
    }
    return t;
  } catch (const ClientConfigError& e) {
    fail(kExitConfig, e.what());
  }
}

// One mailbox from a command line ("Doe, J. <a@b>", "root"), qualified.
Mailbox mailbox_arg(const std::string& arg, const std::string& domain) {
  if (auto m = Mailbox::parse(arg)) return *m;
  const auto list = parse_qualified_list(arg, domain);
  if (!list || list->size() != 1) fail(kExitUsage, "not a mailbox: \"" + arg + "\"");
  return list->front();
}

// What to do about a REQUIRETLS refusal (RFC 8689 5), or "".
std::string requiretls_hint(const SendResult& r) {
  if (!r.error || !r.error->requiretls_refused()) return "";
  return " (nothing was sent: --require-tls needs a server offering REQUIRETLS over verified TLS)";
}

void check(const MessageStatus& s, int code) {
  if (!s.ok()) fail(code, s.message());
}

void add_all(const std::vector<std::string>& args, const std::string& domain, Message* m,
             MessageStatus (Message::*add)(const Mailbox&)) {
  for (const std::string& arg : args) {
    const auto list = parse_qualified_list(arg, domain);
    if (!list) fail(kExitUsage, "not an address: \"" + arg + "\"");
    for (const Mailbox& mb : *list) check((m->*add)(mb), kExitUsage);
  }
}

void send_one(const SendOptions& o) {
  const Target target = load(o);
  const Identity id = make_identity(target);
  Message m;
  const std::string from = !o.from.empty()        ? o.from
                           : !target.from.empty() ? target.from
                                                  : id.login + "@" + id.domain;
  check(m.set_from(mailbox_arg(from, id.domain)), kExitUsage);
  add_all(o.to, id.domain, &m, &Message::add_to);
  add_all(o.cc, id.domain, &m, &Message::add_cc);
  add_all(o.bcc, id.domain, &m, &Message::add_bcc);
  if (!o.subject.empty()) check(m.set_subject(o.subject), kExitUsage);
  check(m.set_list_unsubscribe(o.unsubscribe, o.one_click), kExitUsage);
  m.set_require_tls(o.require_tls);
  m.set_tls_optional(o.tls_optional);
  // The body, as mailx takes it: standard input to its end.
  m.set_text(std::string(std::istreambuf_iterator<char>(std::cin), {}));
  if (!o.html.empty()) {
    std::string html, error;
    if (!read_file(o.html, &html, &error)) fail(kExitNoInput, error);
    m.set_html(html);
  }
  for (const std::string& path : o.attach) check(m.attach_file(path), kExitNoInput);

  Client client(target.options);
  const SendResult r = client.send(m);
  const int code = exit_code(r);
  if (code != kExitOk) fail(code, r.describe() + relay_hint(target, r) + requiretls_hint(r));
  if (o.verbose) std::fprintf(stderr, "tern send: %s\n", r.describe().c_str());
}

// A message of a batch: where it came from, and its bytes (read lazily
// for directories, so a big batch is never all in memory).
struct Item {
  std::string name;
  std::string path;     // a .eml file, or
  std::string content;  // an mbox entry
};

std::vector<Item> batch_items(const SendOptions& o) {
  std::vector<Item> items;
  if (!o.batch.empty()) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(o.batch, ec)) {
      const std::string name = e.path().filename().string();
      if (name.size() > 4 && name.ends_with(".eml") && e.is_regular_file()) {
        items.push_back(Item{e.path().string(), e.path().string(), ""});
      }
    }
    if (ec) fail(kExitNoInput, o.batch + ": " + ec.message());
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return a.path < b.path; });
    if (items.empty()) fail(kExitNoInput, o.batch + ": no .eml files");
    return items;
  }
  std::string text, error;
  if (!read_file(o.mbox, &text, &error)) fail(kExitNoInput, error);
  MboxContent c = split_mbox(text);
  if (!c.error.empty()) fail(kExitDataErr, o.mbox + ": " + c.error);
  if (c.messages.empty()) fail(kExitNoInput, o.mbox + ": no messages");
  for (size_t i = 0; i < c.messages.size(); ++i) {
    items.push_back(Item{o.mbox + ":" + std::to_string(i + 1), "", std::move(c.messages[i])});
  }
  return items;
}

// Shows progress on stderr: a bar redrawn in place on a terminal, plain
// lines otherwise.
class Reporter {
 public:
  explicit Reporter(size_t total) : tty_(::isatty(STDERR_FILENO) == 1) { p_.total = total; }

  void result(const std::string& name, bool ok, const std::string& detail) {
    ok ? ++p_.sent : ++p_.failed;
    if (!tty_) {
      std::fprintf(stderr, "%s\n", progress_line(p_, ok, name, detail).c_str());
      return;
    }
    // Failures stay on screen above the bar; successes only move it.
    if (!ok) std::fprintf(stderr, "\r\033[K%s\n", progress_line(p_, ok, name, detail).c_str());
    std::fprintf(stderr, "\r\033[K%s", progress_bar(p_).c_str());
  }

  void finish() {
    if (tty_) std::fprintf(stderr, "\n");
    std::fprintf(stderr, "tern send: %s\n", summary(p_).c_str());
  }

 private:
  Progress p_;
  bool tty_;
};

void send_batch(const SendOptions& o) {
  const Target target = load(o);
  std::vector<Item> items = batch_items(o);
  std::optional<std::string> sender;
  if (!o.from.empty()) sender = mailbox_arg(o.from, target.domain).address;

  Client client(target.options);  // one connection for all, RSET between
  Reporter report(items.size());
  int code = kExitOk;
  for (Item& item : items) {
    std::string error;
    if (!item.path.empty() && !read_file(item.path, &item.content, &error)) {
      code = worse(code, kExitNoInput);
      report.result(item.name, false, error);
      continue;
    }
    const Prepared p = prepare_ready(item.content, sender, make_identity(target));
    item.content.clear();
    if (!p.error.empty()) {
      code = worse(code, p.exit_code);
      report.result(item.name, false, p.error);
      continue;
    }
    SendEnvelope envelope = p.envelope;
    envelope.require_tls = o.require_tls;
    const SendResult r = client.send(envelope, p.message);
    const int c = exit_code(r);
    code = worse(code, c);
    report.result(
        item.name, c == kExitOk,
        c == kExitOk ? std::to_string(r.code) + " " + r.text : r.describe() + requiretls_hint(r));
  }
  report.finish();
  if (code != kExitOk) throw CLI::RuntimeError(code);
}

void run(const SendOptions& o) {
  const bool many = !o.batch.empty() || !o.mbox.empty();
  if (!o.batch.empty() && !o.mbox.empty())
    fail(kExitUsage, "--batch and --mbox exclude each other");
  if (o.require_tls && o.tls_optional)
    fail(kExitUsage, "--require-tls and --tls-optional ask for opposite things");
  // RFC 8689 4.2.1: REQUIRETLS only over TLS that authenticated the server.
  if (o.require_tls && o.insecure)
    fail(kExitUsage, "--require-tls needs the server certificate checked: drop --insecure");
  if (o.require_tls && o.security == "none")
    fail(kExitUsage, "--require-tls needs TLS: use --security starttls or tls");
  if (many) {
    if (!o.to.empty() || !o.cc.empty() || !o.bcc.empty() || !o.attach.empty() ||
        !o.subject.empty() || !o.html.empty() || !o.unsubscribe.empty() || o.one_click ||
        o.tls_optional) {
      fail(kExitUsage, "with --batch or --mbox, recipients and content come from the messages");
    }
    send_batch(o);
    return;
  }
  if (o.to.empty()) fail(kExitUsage, "no recipients (tern send -s SUBJECT TO...)");
  if (o.one_click && o.unsubscribe.empty())
    fail(kExitUsage, "--one-click needs --list-unsubscribe https://...");
  send_one(o);
}

}  // namespace

void add_send_command(CLI::App& app) {
  auto o = std::make_shared<SendOptions>();
  // Repeatable options take one value each (-a F1 -a F2 TO), as in mailx.
  CLI::App* cmd =
      app.add_subcommand("send", "Send a message (mailx-like), or many (--batch, --mbox)");
  cmd->add_option("-s,--subject", o->subject, "Subject (UTF-8)");
  cmd->add_option("-a,--attach", o->attach, "Attach a file (repeatable)")->allow_extra_args(false);
  cmd->add_option("-c,--cc", o->cc, "Cc recipient(s) (repeatable)")->allow_extra_args(false);
  cmd->add_option("-b,--bcc", o->bcc, "Bcc recipient(s) (repeatable; never in the headers)")
      ->allow_extra_args(false);
  cmd->add_option("-r,--from", o->from, "From address (\"Name <a@b>\"); envelope sender too");
  cmd->add_option("--html", o->html, "HTML body from FILE (with stdin as the text alternative)");
  cmd->add_option("--list-unsubscribe", o->unsubscribe,
                  "List-Unsubscribe URI, https: or mailto: (repeatable; RFC 2369)")
      ->allow_extra_args(false);
  cmd->add_flag("--one-click", o->one_click,
                "Add List-Unsubscribe-Post for one-click unsubscribe (RFC 8058; needs https)");
  cmd->add_flag("--require-tls", o->require_tls,
                "REQUIRETLS (RFC 8689): every hop must use authenticated TLS, or the message "
                "comes back; sends only over verified TLS to a server offering it");
  cmd->add_flag("--tls-optional", o->tls_optional,
                "Add 'TLS-Required: No' (RFC 8689): deliver even where the recipient's "
                "DANE/MTA-STS policy cannot be met");
  cmd->add_option("--batch", o->batch, "Send every DIR/*.eml (envelope from their headers)");
  cmd->add_option("--mbox", o->mbox, "Send every message of an mbox file");
  cmd->add_option("TO", o->to, "Recipients");
  const char* where = "Where to send";
  cmd->add_option("--host", o->host, "SMTP server (default: this machine's tern)")->group(where);
  cmd->add_option("--port", o->port, "Port (default: by --security)")->group(where);
  cmd->add_option("--security", o->security, "none | starttls | tls")
      ->check(CLI::IsMember({"none", "starttls", "tls"}))
      ->group(where);
  cmd->add_option("--user", o->user, "AUTH user")->group(where);
  cmd->add_option("--password-command", o->password_command,
                  "Command printing the password (first line)")
      ->group(where);
  cmd->add_flag("--insecure", o->insecure, "Do not check the server's certificate")->group(where);
  cmd->add_option("--ca-file", o->ca_file, "Extra trusted CAs (PEM)")->group(where);
  cmd->add_option("--client-config", o->client_config,
                  "Client settings (default ~/.config/tern/client.toml)")
      ->group(where);
  cmd->add_option("--config", o->config, "tern server config whose smtp listener is the default")
      ->group(where);
  cmd->add_flag("-v,--verbose", o->verbose, "Print the SMTP dialogue on stderr");
  cmd->footer(
      "The text body is read from standard input.\n"
      "Exit status: 0 sent, 64 usage, 65 bad message, 66 cannot read input, 69 refused,\n"
      "75 temporary failure (try again), 77 AUTH failed, 78 configuration. See docs/send.md.");
  cmd->callback([o] { run(*o); });
}

}  // namespace tern
