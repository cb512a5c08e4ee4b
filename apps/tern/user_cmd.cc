// `tern user add|del|list|passwd`: manages <data_dir>/users (auth/users.h).
//
// Exit codes: 0 done; 1 the operation failed (user exists or is absent,
// invalid address, unusable password, file not written); 2 configuration
// problem (config file, unreadable or malformed users file).
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "auth/users.h"
#include "commands.h"

namespace tern {
namespace {

struct UserOptions {
  std::string config;
  std::string address;
  bool password_stdin = false;
};

[[noreturn]] void fail(int code, const std::string& message) {
  std::fprintf(stderr, "tern: %s\n", message.c_str());
  throw CLI::RuntimeError(code);
}

// Overwrites a password in memory once it is no longer needed.
struct Secret {
  std::string value;
  ~Secret() { sodium_memzero(value.data(), value.size()); }
};

// Echo is restored if the user interrupts the prompt with ^C.
struct termios g_saved_termios;
volatile sig_atomic_t g_echo_off = 0;

void restore_echo_and_reraise(int sig) {
  if (g_echo_off) tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
  signal(sig, SIG_DFL);
  raise(sig);
}

// Reads one line from the terminal on stdin with echo off.
bool read_hidden_line(const char* prompt, std::string* out) {
  std::fputs(prompt, stderr);
  std::fflush(stderr);
  if (tcgetattr(STDIN_FILENO, &g_saved_termios) != 0) return false;
  struct termios quiet = g_saved_termios;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  struct sigaction sa {
  }, old_int{}, old_term{};
  sa.sa_handler = restore_echo_and_reraise;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  g_echo_off = 1;
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  const bool ok = static_cast<bool>(std::getline(std::cin, *out));
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
  g_echo_off = 0;
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return ok;
}

// The new password: one line of stdin (--password-stdin), or typed twice on
// the terminal. Empty passwords are refused.
void read_new_password(bool from_stdin, Secret* pw) {
  if (from_stdin) {
    if (!std::getline(std::cin, pw->value) && pw->value.empty()) {
      fail(1, "no password on standard input");
    }
    if (!pw->value.empty() && pw->value.back() == '\r') pw->value.pop_back();
  } else {
    if (!isatty(STDIN_FILENO)) {
      fail(1,
           "standard input is not a terminal; use --password-stdin to "
           "read the password from it");
    }
    Secret again;
    if (!read_hidden_line("Password: ", &pw->value) ||
        !read_hidden_line("Password (again): ", &again.value)) {
      fail(1, "cannot read the password from the terminal");
    }
    if (pw->value != again.value) fail(1, "the passwords do not match");
  }
  if (pw->value.empty()) fail(1, "empty passwords are not allowed");
}

std::string users_path(const Config& config) { return config.data_dir + "/users"; }

UserDb load_users(const Config& config) {
  UserDb db(users_path(config));
  if (Status s = db.load(); !s.ok()) fail(2, s.message());
  return db;
}

std::string normalized(const std::string& address) {
  std::string out;
  if (Status s = normalize_user_address(address, &out); !s.ok()) fail(1, s.message());
  return out;
}

void run_add(const UserOptions& o) {
  const Config config = load_config_as_run_as_or_exit(o.config);
  const std::string address = normalized(o.address);
  std::error_code ec;
  if (std::filesystem::create_directories(config.data_dir, ec)) {
    ::chmod(config.data_dir.c_str(), 0700);
  }
  if (ec) fail(1, "cannot create " + config.data_dir + ": " + ec.message());
  UserDb db = load_users(config);
  if (db.exists(address)) fail(1, "user " + address + " already exists");
  const std::string domain = address.substr(address.find('@') + 1);
  if (!is_local_domain(config, domain)) {
    std::fprintf(stderr, "tern: note: %s is not one of the local domains\n", domain.c_str());
  }
  Secret pw;
  read_new_password(o.password_stdin, &pw);
  if (Status s = db.add(address, pw.value); !s.ok()) fail(1, s.message());
  std::fprintf(stderr, "tern: added user %s\n", address.c_str());
}

void run_del(const UserOptions& o) {
  const Config config = load_config_as_run_as_or_exit(o.config);
  const std::string address = normalized(o.address);
  UserDb db = load_users(config);
  if (!db.exists(address)) fail(1, "no such user: " + address);
  if (Status s = db.remove(address); !s.ok()) fail(1, s.message());
  std::fprintf(stderr, "tern: deleted user %s\n", address.c_str());
}

void run_passwd(const UserOptions& o) {
  const Config config = load_config_as_run_as_or_exit(o.config);
  const std::string address = normalized(o.address);
  UserDb db = load_users(config);
  if (!db.exists(address)) fail(1, "no such user: " + address);
  Secret pw;
  read_new_password(o.password_stdin, &pw);
  if (Status s = db.set_password(address, pw.value); !s.ok()) fail(1, s.message());
  std::fprintf(stderr, "tern: changed the password of %s\n", address.c_str());
}

void run_list(const UserOptions& o) {
  const Config config = load_config_as_run_as_or_exit(o.config);
  const UserDb db = load_users(config);  // a missing file is an empty list
  for (const auto& address : db.list()) std::printf("%s\n", address.c_str());
}

CLI::App* leaf(CLI::App* parent, const char* name, const char* help,
               const std::shared_ptr<UserOptions>& o) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->add_option("--config", o->config, "TOML config file (default: built-in)");
  return cmd;
}

}  // namespace

void add_user_command(CLI::App& app) {
  auto o = std::make_shared<UserOptions>();
  CLI::App* user = app.add_subcommand("user", "Manage the users who may AUTH (<data_dir>/users)");
  user->require_subcommand(1);
  user->footer("Exit status: 0 done, 1 the operation failed, 2 configuration error.");

  CLI::App* add = leaf(user, "add", "Add a user", o);
  add->add_option("ADDRESS", o->address, "user@domain")->required();
  add->add_flag("--password-stdin", o->password_stdin,
                "Read the password as one line from standard input");
  add->callback([o] { run_add(*o); });

  CLI::App* del = leaf(user, "del", "Delete a user", o);
  del->add_option("ADDRESS", o->address, "user@domain")->required();
  del->callback([o] { run_del(*o); });

  CLI::App* list = leaf(user, "list", "List the users, one per line", o);
  list->callback([o] { run_list(*o); });

  CLI::App* passwd = leaf(user, "passwd", "Change a user's password", o);
  passwd->add_option("ADDRESS", o->address, "user@domain")->required();
  passwd->add_flag("--password-stdin", o->password_stdin,
                   "Read the password as one line from standard input");
  passwd->callback([o] { run_passwd(*o); });
}

}  // namespace tern
