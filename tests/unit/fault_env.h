// FaultEnv: the real file system (fs/file_env.h) with one fault
// injected, as LevelDB's SpecialEnv: call number N (counted from 1, of one
// kind of operation or of all) fails with a chosen errno, once or from
// then on (a disk that stays full). The fault tests loop N over every call
// a message's life makes, so each failure point is hit once.
//
// Thread-safe (the scheduler's blocking work may run on other threads).
#pragma once

#include <cerrno>
#include <mutex>
#include <string>
#include <vector>

#include "fs/file_env.h"

namespace tern::testlib {

class FaultEnv : public FileEnv {
 public:
  enum class Op {
    kAny,
    kOpen,
    kClose,
    kRead,
    kWrite,
    kCopy,
    kFsync,
    kStat,
    kChmod,
    kLock,
    kMkdir,
    kLink,
    kRename,
    kUnlink,
    kList,
  };

  // Fails call `n` (1-based) of kind `op` with `err`; with `sticky`, every
  // later call of that kind too. Counting starts again from here.
  void fail(size_t n, int err, Op op = Op::kAny, bool sticky = false) {
    std::lock_guard<std::mutex> lock(mu_);
    n_ = n;
    err_ = err;
    op_ = op;
    sticky_ = sticky;
    seen_ = 0;
    injected_ = 0;
  }
  // The fault clears: every call succeeds (if the real one does).
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    n_ = 0;
  }
  // Calls of the armed kind that could fail with the armed errno (all
  // calls when none is armed) since fail().
  size_t calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  // Calls failed since fail().
  size_t injected() const {
    std::lock_guard<std::mutex> lock(mu_);
    return injected_;
  }

  int open(const std::string& p, int flags, mode_t mode) override {
    return hit(Op::kOpen) ? -1 : FileEnv::open(p, flags, mode);
  }
  int close(int fd) override {
    // A failed close still frees the descriptor, as close(2) on Linux does.
    if (hit(Op::kClose)) {
      int err = errno;
      FileEnv::close(fd);
      errno = err;
      return -1;
    }
    return FileEnv::close(fd);
  }
  ssize_t read(int fd, void* b, size_t n) override {
    return hit(Op::kRead) ? -1 : FileEnv::read(fd, b, n);
  }
  ssize_t pread(int fd, void* b, size_t n, off_t o) override {
    return hit(Op::kRead) ? -1 : FileEnv::pread(fd, b, n, o);
  }
  ssize_t write(int fd, const void* b, size_t n) override {
    return hit(Op::kWrite) ? -1 : FileEnv::write(fd, b, n);
  }
  ssize_t copy_file_range(int in, loff_t* o, int out, size_t n) override {
    return hit(Op::kCopy) ? -1 : FileEnv::copy_file_range(in, o, out, n);
  }
  int fsync(int fd) override { return hit(Op::kFsync) ? -1 : FileEnv::fsync(fd); }
  int fstat(int fd, struct stat* st) override {
    return hit(Op::kStat) ? -1 : FileEnv::fstat(fd, st);
  }
  int fchmod(int fd, mode_t m) override { return hit(Op::kChmod) ? -1 : FileEnv::fchmod(fd, m); }
  int flock(int fd, int o) override { return hit(Op::kLock) ? -1 : FileEnv::flock(fd, o); }
  int stat(const std::string& p, struct stat* st) override {
    return hit(Op::kStat) ? -1 : FileEnv::stat(p, st);
  }
  int access(const std::string& p, int m) override {
    return hit(Op::kStat) ? -1 : FileEnv::access(p, m);
  }
  int mkdir(const std::string& p, mode_t m) override {
    return hit(Op::kMkdir) ? -1 : FileEnv::mkdir(p, m);
  }
  int link(const std::string& a, const std::string& b) override {
    return hit(Op::kLink) ? -1 : FileEnv::link(a, b);
  }
  int rename(const std::string& a, const std::string& b) override {
    return hit(Op::kRename) ? -1 : FileEnv::rename(a, b);
  }
  int unlink(const std::string& p) override { return hit(Op::kUnlink) ? -1 : FileEnv::unlink(p); }
  int list_dir(const std::string& d, std::vector<std::string>* names) override {
    return hit(Op::kList) ? -1 : FileEnv::list_dir(d, names);
  }

 private:
  // Whether a real system could fail `op` with `err`: EMFILE hits only
  // calls that take a descriptor, ENOSPC and EDQUOT only calls that may
  // allocate blocks or inodes (an unlink or a read never does); EIO may hit
  // anything. Other calls are not counted, so N walks the real failure
  // points (and cleanups still work on a full disk, as they do in life).
  static bool can_fail(Op op, int err) {
    switch (err) {
      case EMFILE:
        return op == Op::kOpen || op == Op::kList;
      case ENOSPC:
      case EDQUOT:
        return op == Op::kOpen || op == Op::kWrite || op == Op::kCopy || op == Op::kFsync ||
               op == Op::kClose || op == Op::kMkdir || op == Op::kLink || op == Op::kRename;
      default:
        return true;
    }
  }

  // True (errno set) if this call is to fail.
  bool hit(Op op) {
    std::lock_guard<std::mutex> lock(mu_);
    if (op_ != Op::kAny && op_ != op) return false;
    if (n_ != 0 && !can_fail(op, err_)) return false;
    ++seen_;
    if (n_ == 0 || seen_ < n_ || (seen_ > n_ && !sticky_)) return false;
    ++injected_;
    errno = err_;
    return true;
  }

  mutable std::mutex mu_;
  size_t n_ = 0;  // 0: no fault armed
  int err_ = 0;
  Op op_ = Op::kAny;
  bool sticky_ = false;
  size_t seen_ = 0;
  size_t injected_ = 0;
};

}  // namespace tern::testlib
