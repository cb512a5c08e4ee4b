// Free space on the spool's file system, asked at MAIL FROM so that a
// transaction that would fail at DATA for lack of room is refused before
// the client sends anything: 452 4.3.1 (RFC 5321 4.5.3.1.9 "insufficient
// system storage", RFC 3463 X.3.1 "mail system full"; RFC 1870 6.1 for a
// declared SIZE that does not fit). The end of DATA keeps its own 452 4.3.1
// (ENOSPC while writing): this check only makes it rare.
//
// statvfs(2)'s f_bavail (what an unprivileged writer may use) is read at
// most once per second: MAIL floods must not turn into statvfs floods.
//
// Thread safety: low() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace tern {

class FreeSpace {
 public:
  // Octets available in the file system holding `dir`; nullopt when it
  // cannot be read.
  using Probe = std::function<std::optional<uint64_t>(const std::string& dir)>;
  using Clock = std::function<int64_t()>;  // microseconds

  // The default probe is statvfs(2), the default clock base/clock.h's.
  explicit FreeSpace(std::string dir, Probe probe = statvfs_available, Clock now = nullptr);

  // True when fewer than `min_free` + `declared_size` octets are available
  // (as measured within the last second). Never true when `min_free` is 0
  // (the check is off) or the space cannot be measured (the DATA path still
  // refuses cleanly if the disk fills).
  bool low(uint64_t min_free, uint64_t declared_size);

  static std::optional<uint64_t> statvfs_available(const std::string& dir);

 private:
  static constexpr int64_t kMaxAgeMicros = 1'000'000;

  const std::string dir_;
  const Probe probe_;
  const Clock now_;
  std::mutex mu_;
  bool measured_ = false;
  int64_t measured_at_ = 0;
  std::optional<uint64_t> available_;
};

}  // namespace tern
