// Status: the result of an operation that can fail, as a value
// (LevelDB style). Every failure says whether retrying may help.
#pragma once

#include <cerrno>
#include <string>
#include <utility>

namespace tern {

class Status {
 public:
  enum class Kind { kOk, kTransient, kPermanent };

  Status() = default;
  static Status Ok() { return Status(); }
  // `sys_errno`: the errno of the failed system call behind it, if any.
  static Status Transient(std::string msg, int sys_errno = 0) {
    return Status(Kind::kTransient, std::move(msg), sys_errno);
  }
  static Status Permanent(std::string msg) { return Status(Kind::kPermanent, std::move(msg), 0); }

  bool ok() const { return kind_ == Kind::kOk; }
  Kind kind() const { return kind_; }
  const std::string& message() const { return msg_; }
  // The errno of the system call that failed, or 0.
  int sys_errno() const { return errno_; }
  // The file system is full or the quota spent (RFC 3463 X.3.1 "mail
  // system full": the SMTP reply is 452 4.3.1).
  bool storage_full() const { return errno_ == ENOSPC || errno_ == EDQUOT; }

 private:
  Status(Kind k, std::string m, int e) : kind_(k), msg_(std::move(m)), errno_(e) {}
  Kind kind_ = Kind::kOk;
  std::string msg_;
  int errno_ = 0;
};

}  // namespace tern
