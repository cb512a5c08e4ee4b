// Small POSIX file helpers for durable writes: the building blocks of the
// queue's and the Maildir's commit protocols (write everything, fsync,
// link into place, fsync the directory). See docs/queue_format.md.
//
// Every function reports failure as a Status whose message names the
// operation, the path and strerror(errno), and which carries the errno
// (Status::sys_errno: a full disk becomes 452 4.3.1 in the SMTP reply).
// I/O failures are transient (ENOSPC, EIO, EMFILE... may pass); callers
// decide otherwise. Every file system call goes through `env`
// (file_env.h), the real file system unless a test passes another.
//
// Thread safety: all functions are safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "fs/file_env.h"

namespace tern {

// A Status::Transient "<what> <path>: <strerror(err)>" carrying `err`.
Status io_error(std::string_view what, const std::string& path, int err);

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
Status write_all(int fd, std::string_view data, const std::string& path_for_errors,
                 FileEnv& env = FileEnv::posix());

// Opens `dir` and fsyncs it, so that entries created, renamed or removed in
// it are durable.
Status sync_dir(const std::string& dir, FileEnv& env = FileEnv::posix());

// Creates directory `path` with `mode` if it does not exist. If it was
// created, fsyncs its parent so the new entry is durable. *created (if not
// null) says whether this call created it. An existing non-directory is an
// error. REQUIRES: the parent exists.
Status make_dir(const std::string& path, unsigned mode, bool* created = nullptr,
                FileEnv& env = FileEnv::posix());

// make_dir for `path` and each missing ancestor, outermost first: each
// directory this creates has its parent fsynced.
Status make_dirs(const std::string& path, unsigned mode, FileEnv& env = FileEnv::posix());

// The names in directory `dir` except "." and "..", in no particular order.
Status list_dir(const std::string& dir, std::vector<std::string>* names,
                FileEnv& env = FileEnv::posix());

// Reads the whole file into *out. With `missing` not null, a missing file
// is not an error: *out is empty and *missing true.
Status read_file(const std::string& path, std::string* out, bool* missing,
                 FileEnv& env = FileEnv::posix());

// The directory part of `path` ("a/b" -> "a", "b" -> ".", "/b" -> "/").
std::string parent_dir(const std::string& path);

}  // namespace tern
