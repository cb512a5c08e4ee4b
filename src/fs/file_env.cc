#include "fs/file_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace tern {

FileEnv& FileEnv::posix() {
  static FileEnv env;
  return env;
}

int FileEnv::open(const std::string& path, int flags, mode_t mode) {
  return ::open(path.c_str(), flags, mode);
}
int FileEnv::close(int fd) { return ::close(fd); }
ssize_t FileEnv::read(int fd, void* buf, size_t n) { return ::read(fd, buf, n); }
ssize_t FileEnv::pread(int fd, void* buf, size_t n, off_t offset) {
  return ::pread(fd, buf, n, offset);
}
ssize_t FileEnv::write(int fd, const void* buf, size_t n) { return ::write(fd, buf, n); }
ssize_t FileEnv::copy_file_range(int in, loff_t* offset_in, int out, size_t n) {
  return ::copy_file_range(in, offset_in, out, nullptr, n, 0);
}
int FileEnv::fsync(int fd) { return ::fsync(fd); }
int FileEnv::fstat(int fd, struct stat* st) { return ::fstat(fd, st); }
int FileEnv::fchmod(int fd, mode_t mode) { return ::fchmod(fd, mode); }
int FileEnv::flock(int fd, int operation) { return ::flock(fd, operation); }
int FileEnv::stat(const std::string& path, struct stat* st) { return ::stat(path.c_str(), st); }
int FileEnv::access(const std::string& path, int mode) { return ::access(path.c_str(), mode); }
int FileEnv::mkdir(const std::string& path, mode_t mode) { return ::mkdir(path.c_str(), mode); }
int FileEnv::link(const std::string& from, const std::string& to) {
  return ::link(from.c_str(), to.c_str());
}
int FileEnv::rename(const std::string& from, const std::string& to) {
  return ::rename(from.c_str(), to.c_str());
}
int FileEnv::unlink(const std::string& path) { return ::unlink(path.c_str()); }

int FileEnv::list_dir(const std::string& dir, std::vector<std::string>* names) {
  names->clear();
  DIR* d = ::opendir(dir.c_str());
  if (!d) return -1;
  int rc = 0;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (!e) {
      if (errno != 0) rc = -1;
      break;
    }
    std::string_view name = e->d_name;
    if (name != "." && name != "..") names->emplace_back(name);
  }
  int err = errno;
  ::closedir(d);
  errno = err;
  return rc;
}

}  // namespace tern
