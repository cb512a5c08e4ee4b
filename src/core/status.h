// Status: the result of an operation that can fail, as a value
// (LevelDB style). Every failure says whether retrying may help.
#pragma once

#include <string>
#include <utility>

namespace tern {

class Status {
 public:
  enum class Kind { kOk, kTransient, kPermanent };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status Transient(std::string msg) { return Status(Kind::kTransient, std::move(msg)); }
  static Status Permanent(std::string msg) { return Status(Kind::kPermanent, std::move(msg)); }

  bool ok() const { return kind_ == Kind::kOk; }
  Kind kind() const { return kind_; }
  const std::string& message() const { return msg_; }

 private:
  Status(Kind k, std::string m) : kind_(k), msg_(std::move(m)) {}
  Kind kind_ = Kind::kOk;
  std::string msg_;
};

}  // namespace tern
