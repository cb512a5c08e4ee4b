// GreylistStore: a Greylist (screen/greylist.h) kept across restarts in
// one file, <data_dir>/greylist.log: an append-only log of the record
// lines each change produces, compacted on open (and whenever it holds
// more than twice the live state) by writing the state afresh through
// write_file_atomic (fs/atomic_file.h). A crash may lose the lines not
// yet written out or tear the last one; a torn or unknown line is skipped
// on load. Greylisting is soft state: what is lost only defers a retry
// once more.
//
// The log starts with the line "# tern greylist 1". Appends are not
// fsynced (a lost line costs a client one more retry, not mail).
//
// Every file system call goes through the FileEnv (fs/file_env.h).
// Thread-compatible: the server's event loop owns it.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "fs/file_env.h"
#include "screen/greylist.h"

namespace tern {

class GreylistStore {
 public:
  GreylistStore(std::string path, GreylistOptions options, FileEnv& env = FileEnv::posix());
  ~GreylistStore();
  GreylistStore(const GreylistStore&) = delete;
  GreylistStore& operator=(const GreylistStore&) = delete;

  // Loads the log (a missing file is an empty greylist), forgets what has
  // expired at `now`, and rewrites it compacted. On failure the greylist
  // keeps working in memory and the Status says why (the caller logs it);
  // check() then tries to append anyway.
  Status open(int64_t now);

  // Greylist::check, with the changes appended to the log. A failed write
  // is reported in *write_error (empty when all went well); the decision
  // stands.
  GreylistDecision check(const std::string& network, const std::string& sender,
                         const std::string& recipient, int64_t now, std::string* write_error);

  size_t size() const { return list_.size(); }
  const std::string& path() const { return path_; }

 private:
  Status compact(int64_t now);
  Status reopen();

  std::string path_;
  FileEnv& env_;
  Greylist list_;
  int fd_ = -1;
  size_t lines_ = 0;  // record lines in the file now
};

}  // namespace tern
