#include "sendcli/setup.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "config/values.h"

namespace tern::sendcli {
namespace {

const char* env(const char* name) { return ::getenv(name); }

// The whole file in *out; 0 or an errno value.
int read_all(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  out->clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : 0;
      ::close(fd);
      return err;
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

// Reads the layer in `path`; a missing file is an empty layer unless
// `required`. A user's file holding a password must be private, as msmtp
// insists for its msmtprc.
ClientSettings file_layer(const std::string& path, bool required, bool users) {
  if (path.empty()) return {};
  std::string text;
  if (const int err = read_all(path, &text); err != 0) {
    if (!required && err == ENOENT) return {};
    throw ClientConfigError(path + ": " + strerror(err));
  }
  ClientSettings s = parse_client_config(text, path);
  struct stat st {};
  if (users && s.password && ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    throw ClientConfigError(path + ": holds a password but others may read it (chmod 600 it)");
  }
  return s;
}

Config server_config(const std::string& flag) {
  std::string path = flag;
  if (path.empty() && env("TERN_CONFIG") != nullptr) path = env("TERN_CONFIG");
  if (path.empty() && ::access("/etc/tern/tern.toml", F_OK) == 0) path = "/etc/tern/tern.toml";
  try {
    return path.empty() ? default_config() : load_config(path);
  } catch (const std::exception& e) {
    throw ClientConfigError(std::string(e.what()) +
                            " (no host is set, so mail goes to this tern server; set host in "
                            "client.toml or TERN_SMTP_HOST to send elsewhere)");
  }
}

// First line of the command's output; the command runs under /bin/sh with
// standard input from /dev/null (sendmail's stdin is the message).
std::string run_password_command(const std::string& command) {
  const std::string sh = "exec </dev/null\n" + command;
  FILE* p = ::popen(sh.c_str(), "r");
  if (p == nullptr) throw ClientConfigError("password_command: " + std::string(strerror(errno)));
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw ClientConfigError("password_command failed (" + command + ")");
  }
  out = out.substr(0, out.find('\n'));
  if (!out.empty() && out.back() == '\r') out.pop_back();
  if (out.empty()) throw ClientConfigError("password_command printed no password");
  return out;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !is_valid_domain(buf)) return "localhost";
  return buf;
}

std::string login_name() {
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_name[0] != '\0') {
    return pw->pw_name;
  }
  for (const char* var : {"LOGNAME", "USER"})
    if (const char* v = env(var); v != nullptr && *v != '\0') return v;
  return "nobody";
}

std::string random_hex() {
  unsigned char bytes[16] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != sizeof bytes) {
    const auto t = static_cast<unsigned long>(::time(nullptr)) ^ static_cast<unsigned>(::getpid());
    std::memcpy(bytes, &t, sizeof t);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace

bool read_file(const std::string& path, std::string* out, std::string* error) {
  const int err = read_all(path, out);
  if (err != 0) *error = path + ": " + strerror(err);
  return err == 0;
}

Target load_target(const Sources& sources) {
  const char* named_by_env = env("TERN_CLIENT_CONFIG");
  const bool named = !sources.client_config.empty() || (named_by_env && *named_by_env);
  const std::string user_path =
      !sources.client_config.empty() ? sources.client_config : client_config_path(env);
  ClientSettings s = overlay(sources.flags, client_settings_from_env(env));
  s = overlay(s, file_layer(user_path, named, true));
  s = overlay(s, file_layer(kSystemClientConfig, false, false));
  if (sources.require_tls) s = require_verified_tls(std::move(s));
  std::optional<LocalServer> local;
  if (!s.host) {
    const Config config = server_config(sources.server_config);
    local = local_server(config);
    if (!local) {
      throw ClientConfigError(config.source +
                              ": no smtp listener to send to; set host in client.toml or "
                              "TERN_SMTP_HOST");
    }
  }
  Target t = resolve_target(s, local, host_name());
  if (!t.password_command.empty()) t.options.password = run_password_command(t.password_command);
  return t;
}

Identity make_identity(const Target& target) {
  Identity id;
  id.login = login_name();
  id.from = target.from;
  id.domain = target.domain;
  id.now = static_cast<int64_t>(::time(nullptr));
  id.unique = random_hex();
  return id;
}

}  // namespace tern::sendcli
