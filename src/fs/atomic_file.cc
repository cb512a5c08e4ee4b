// The sequence is the classic one (write temp, fsync, rename, fsync dir):
// rename(2) is atomic within a file system, and the directory fsync makes
// the rename itself durable. Built on the queue's file helpers
// (fs/file_io.h), so both durable writers share one seam (FileEnv).
#include "fs/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "fs/file_io.h"

namespace tern {
namespace {

// "<path>.tmp.<pid>.<n>": unique among this host's writers, so O_EXCL
// fails only on a leftover of a crashed writer, which we step over.
std::string temp_name(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(++counter);
}

}  // namespace

Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode,
                         FileEnv& env) {
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 10; ++attempt) {
    tmp = temp_name(path);
    fd = env.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return io_error("cannot create a temporary file for", path, errno);

  auto abandon = [&](Status s) {
    if (fd >= 0) env.close(fd);
    env.unlink(tmp);  // a leftover (if this fails too) never has the real name
    return s;
  };
  // The mode the caller asked for, whatever the umask.
  if (env.fchmod(fd, static_cast<mode_t>(mode)) != 0)
    return abandon(io_error("cannot chmod", tmp, errno));
  if (Status s = write_all(fd, data, tmp, env); !s.ok()) return abandon(s);
  if (env.fsync(fd) != 0) return abandon(io_error("cannot fsync", tmp, errno));
  const int rc = env.close(fd);
  fd = -1;
  if (rc != 0) return abandon(io_error("cannot close", tmp, errno));
  if (env.rename(tmp, path) != 0) return abandon(io_error("cannot rename into place", path, errno));
  return sync_dir(parent_dir(path), env);
}

}  // namespace tern
