#include "delivery/maildir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <set>

#include "base/clock.h"
#include "delivery/aliases.h"
#include "fs/file_io.h"

namespace tern {
namespace {

constexpr size_t kBlock = 64 * 1024;
constexpr unsigned kDirMode = 0700;
constexpr mode_t kFileMode = 0600;

// A name we are willing to use as one path component.
bool safe_component(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (unsigned char c : s) {
    if (c == '/' || c < 0x20 || c == 0x7f) return false;  // NUL and control characters too
  }
  return true;
}

// A local part (as alias_key() leaves it: unquoted, tag removed) we are
// willing to name a Maildir by: a safe path component, at most 64 octets
// (RFC 5321 4.5.3.1.1), without '@' (an address key is split at its last
// '@'; a second one would read as another address) and with the dot rules
// of a Dot-string (RFC 5321 4.1.2): no leading or trailing '.', no "..".
// So a quoted local part may name a mailbox only where its content could
// have been sent unquoted, spaces and the like aside.
bool safe_local(std::string_view s) {
  constexpr size_t kMaxLocalPart = 64;
  if (!safe_component(s) || s.size() > kMaxLocalPart) return false;
  if (s.front() == '.' || s.back() == '.' || s.find("..") != std::string_view::npos) return false;
  return s.find('@') == std::string_view::npos;
}

// This host's name as the Maildir spec wants it in file names: '/' and ':'
// written as "\057" and "\072".
const std::string& maildir_host() {
  static const std::string host = [] {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return std::string("localhost");
    std::string out;
    for (const char* p = buf; *p; ++p) {
      if (*p == '/')
        out += "\\057";
      else if (*p == ':')
        out += "\\072";
      else
        out += *p;
    }
    return out;
  }();
  return host;
}

// "<sec>.M<usec>P<pid>Q<n>.<host>": unique on this host (cr.yp.to/proto/maildir.html).
std::string unique_name() {
  static std::atomic<uint64_t> counter{0};
  const int64_t us = unix_micros();
  // Microseconds padded to six digits, so names sort in time order.
  return fmt::format("{}.M{:06}P{}Q{}.{}", us / 1000000, us % 1000000, ::getpid(), ++counter,
                     maildir_host());
}

// Creates the maildir and its tmp/, new/, cur/ as needed, fsyncing the
// parent of each directory created. The first time in this process a
// maildir is used, its own and its parent's entries are fsynced too, in case
// an earlier attempt created them and then failed before its fsync.
struct ReadyMaildirs {
  std::mutex mu;
  std::set<std::string> paths;
};

ReadyMaildirs& ready_maildirs() {
  static ReadyMaildirs r;
  return r;
}

Status ensure_maildir(const std::string& maildir, FileEnv& env) {
  ReadyMaildirs& ready = ready_maildirs();
  {
    std::lock_guard<std::mutex> lock(ready.mu);
    if (ready.paths.count(maildir)) return Status::Ok();
  }
  Status s = make_dirs(maildir, kDirMode, env);
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    if (s.ok()) s = make_dir(maildir + sub, kDirMode, nullptr, env);
  }
  if (s.ok()) s = sync_dir(maildir, env);
  if (s.ok()) s = sync_dir(parent_dir(maildir), env);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(ready.mu);
  ready.paths.insert(maildir);
  return Status::Ok();
}

// For a maildir removed behind our back (say, by an administrator).
void forget_maildir(const std::string& maildir) {
  ReadyMaildirs& ready = ready_maildirs();
  std::lock_guard<std::mutex> lock(ready.mu);
  ready.paths.erase(maildir);
}

// Writes header + body_path[offset..] to fd and fsyncs it.
Status write_message(FileEnv& env, int fd, const std::string& path, std::string_view header,
                     const std::string& body_path, uint64_t offset) {
  Status s = write_all(fd, header, path, env);
  if (!s.ok()) return s;
  int in = env.open(body_path, O_RDONLY | O_CLOEXEC);
  if (in < 0) return io_error("open", body_path, errno);
  std::string block(kBlock, '\0');
  auto pos = static_cast<off_t>(offset);
  for (;;) {
    ssize_t n = env.pread(in, block.data(), block.size(), pos);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) s = io_error("read", body_path, errno);
    if (n <= 0) break;
    pos += n;
    s = write_all(fd, std::string_view(block.data(), static_cast<size_t>(n)), path, env);
    if (!s.ok()) break;
  }
  env.close(in);
  if (s.ok() && env.fsync(fd) != 0) s = io_error("fsync", path, errno);
  return s;
}

}  // namespace

std::string maildir_path(const std::string& mail_root, const std::string& address) {
  std::string key = alias_key(address);
  size_t at = key.rfind('@');
  if (at == std::string::npos) return "";
  std::string_view local = std::string_view(key).substr(0, at);
  std::string_view domain = std::string_view(key).substr(at + 1);
  if (!safe_local(local) || !safe_component(domain)) return "";
  return mail_root + "/" + std::string(domain) + "/" + std::string(local);
}

Status maildir_deliver(const std::string& maildir, std::string_view header,
                       const std::string& body_path, uint64_t offset, FileEnv& env) {
  Status s = ensure_maildir(maildir, env);
  if (!s.ok()) return s;
  std::string name, tmp_path;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    name = unique_name();
    tmp_path = maildir + "/tmp/" + name;
    fd = env.open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
    if (fd >= 0 || attempt == 10) break;
    if (errno == ENOENT && attempt == 0) {  // the maildir vanished: create it again
      forget_maildir(maildir);
      s = ensure_maildir(maildir, env);
      if (!s.ok()) return s;
    } else if (errno != EEXIST) {
      break;
    }
  }
  if (fd < 0) return io_error("create", tmp_path, errno);
  s = write_message(env, fd, tmp_path, header, body_path, offset);
  if (env.close(fd) != 0 && s.ok()) s = io_error("close", tmp_path, errno);
  std::string new_path;
  // link, not rename: never replaces a message already in new/.
  for (int attempt = 0; s.ok(); ++attempt) {
    new_path = maildir + "/new/" + name;
    if (env.link(tmp_path, new_path) == 0) break;
    if (errno != EEXIST || attempt == 10) s = io_error("link", new_path, errno);
    name = unique_name();
  }
  // If this unlink fails the file stays in tmp/, which readers never look
  // at (the Maildir spec has them clean it after 36 hours).
  env.unlink(tmp_path);
  if (!s.ok()) return s;
  s = sync_dir(maildir + "/new", env);
  if (!s.ok()) env.unlink(new_path);  // not durable, so not delivered: retry later
  return s;
}

}  // namespace tern
