// The sequence is the classic one (write temp, fsync, rename, fsync dir):
// rename(2) is atomic within a file system, and the directory fsync makes
// the rename itself durable.
#include "auth/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace tern {
namespace {

Status fail(std::string_view what, const std::string& path, int err) {
  return Status::Transient(std::string(what) + " " + path + ": " + std::strerror(err));
}

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  // mkstemp creates the file 0600, whatever the umask.
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return fail("cannot create a temporary file for", path, errno);
  const std::string tmp(name.data());

  auto abandon = [&](std::string_view what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(what, tmp, err);
  };
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return abandon("cannot chmod", errno);
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return abandon("cannot write", errno);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return abandon("cannot fsync", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail("cannot close", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail("cannot rename into place", path, err);
  }
  const std::string dir = dir_of(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail("cannot open directory", dir, errno);
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0) return fail("cannot fsync directory", dir, err);
  return Status::Ok();
}

}  // namespace tern
