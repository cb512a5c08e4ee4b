#include "fs/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace tern {

Status io_error(std::string_view what, const std::string& path, int err) {
  std::string msg(what);
  msg += ' ';
  msg += path;
  msg += ": ";
  msg += std::strerror(err);
  return Status::Transient(std::move(msg), err);
}

Status write_all(int fd, std::string_view data, const std::string& path_for_errors, FileEnv& env) {
  while (!data.empty()) {
    ssize_t n = env.write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write", path_for_errors, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status sync_dir(const std::string& dir, FileEnv& env) {
  int fd = env.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open directory", dir, errno);
  Status s;
  if (env.fsync(fd) != 0) s = io_error("fsync directory", dir, errno);
  env.close(fd);
  return s;
}

Status make_dir(const std::string& path, unsigned mode, bool* created, FileEnv& env) {
  if (created) *created = false;
  if (env.mkdir(path, static_cast<mode_t>(mode)) == 0) {
    if (created) *created = true;
    return sync_dir(parent_dir(path), env);
  }
  if (errno != EEXIST) return io_error("mkdir", path, errno);
  struct stat st;
  if (env.stat(path, &st) != 0) return io_error("stat", path, errno);
  if (!S_ISDIR(st.st_mode)) return io_error("mkdir", path, ENOTDIR);
  return Status::Ok();
}

Status make_dirs(const std::string& path, unsigned mode, FileEnv& env) {
  struct stat st;
  if (env.stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return io_error("mkdir", path, ENOTDIR);
  }
  if (errno != ENOENT) return io_error("stat", path, errno);
  std::string parent = parent_dir(path);
  if (parent != path) {
    Status s = make_dirs(parent, mode, env);
    if (!s.ok()) return s;
  }
  return make_dir(path, mode, nullptr, env);
}

Status list_dir(const std::string& dir, std::vector<std::string>* names, FileEnv& env) {
  if (env.list_dir(dir, names) != 0) return io_error("readdir", dir, errno);
  return Status::Ok();
}

Status read_file(const std::string& path, std::string* out, bool* missing, FileEnv& env) {
  out->clear();
  if (missing) *missing = false;
  int fd = env.open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && missing) {
      *missing = true;
      return Status::Ok();
    }
    return io_error("open", path, errno);
  }
  char chunk[8192];
  Status s;
  for (;;) {
    ssize_t n = env.read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) s = io_error("read", path, errno);
    if (n <= 0) break;
    out->append(chunk, static_cast<size_t>(n));
  }
  env.close(fd);
  return s;
}

std::string parent_dir(const std::string& path) {
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;  // "a/b/" names "a/b"
  size_t slash = path.rfind('/', end - 1);
  if (slash == std::string::npos) return ".";
  while (slash > 0 && path[slash - 1] == '/') --slash;
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace tern
