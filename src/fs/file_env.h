// FileEnv: the one seam between tern's durable files and the operating
// system (as LevelDB's Env). The queue (fs_store.h), the file helpers
// (file_io.h), Maildir delivery (delivery/maildir.h) and the atomic
// rewrites of the users file (fs/atomic_file.h) make every file system
// call through a FileEnv, so a test can hand them one that fails the Nth
// call with ENOSPC, EIO, EDQUOT or EMFILE (tests/unit/fault_env.h) and
// check that nothing acknowledged is lost and nothing half-written shows.
//
// Each method is the POSIX call of the same name, with the same result
// and errno: the seam is one system call wide, so a fault lands exactly
// where a real one would, and callers keep branching on EEXIST or ENOENT
// as before. The class itself is the real file system (posix() is one
// shared instance); a test derives from it and overrides the calls it
// wants to fail. Callers take a FileEnv& (defaulting to posix()) or a
// FileEnv* (null: posix()) and keep it for their lifetime.
//
// Thread safety: posix() is stateless and safe from any thread; a test
// FileEnv documents its own.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace tern {

class FileEnv {
 public:
  virtual ~FileEnv() = default;

  // The real file system.
  static FileEnv& posix();

  virtual int open(const std::string& path, int flags, mode_t mode = 0);
  virtual int close(int fd);
  virtual ssize_t read(int fd, void* buf, size_t n);
  virtual ssize_t pread(int fd, void* buf, size_t n, off_t offset);
  virtual ssize_t write(int fd, const void* buf, size_t n);
  // copy_file_range(in, offset_in, out, NULL, n, 0).
  virtual ssize_t copy_file_range(int in, loff_t* offset_in, int out, size_t n);
  virtual int fsync(int fd);
  virtual int fstat(int fd, struct stat* st);
  virtual int fchmod(int fd, mode_t mode);
  virtual int flock(int fd, int operation);
  virtual int stat(const std::string& path, struct stat* st);
  virtual int access(const std::string& path, int mode);
  virtual int mkdir(const std::string& path, mode_t mode);
  virtual int link(const std::string& from, const std::string& to);
  virtual int rename(const std::string& from, const std::string& to);
  virtual int unlink(const std::string& path);
  // opendir + readdir + closedir: the names in `dir` except "." and "..",
  // in no particular order. 0, or -1 with errno set.
  virtual int list_dir(const std::string& dir, std::vector<std::string>* names);
};

}  // namespace tern
