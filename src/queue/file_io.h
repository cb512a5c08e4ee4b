// Small POSIX file helpers for durable writes: the building blocks of the
// queue's and the Maildir's commit protocols (write everything, fsync,
// link into place, fsync the directory). See docs/queue_format.md.
//
// Every function reports failure as a Status whose message names the
// operation, the path and strerror(errno). I/O failures are transient
// (ENOSPC, EIO, EMFILE... may pass); callers decide otherwise.
//
// Thread safety: all functions are safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tern {

// A Status::Transient "<what> <path>: <strerror(err)>".
Status io_error(std::string_view what, const std::string& path, int err);

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
Status write_all(int fd, std::string_view data, const std::string& path_for_errors);

// Opens `dir` and fsyncs it, so that entries created, renamed or removed in
// it are durable.
Status sync_dir(const std::string& dir);

// Creates directory `path` with `mode` if it does not exist. If it was
// created, fsyncs its parent so the new entry is durable. *created (if not
// null) says whether this call created it. An existing non-directory is an
// error. REQUIRES: the parent exists.
Status make_dir(const std::string& path, unsigned mode, bool* created = nullptr);

// make_dir for `path` and each missing ancestor, outermost first: each
// directory this creates has its parent fsynced.
Status make_dirs(const std::string& path, unsigned mode);

// The names in directory `dir` except "." and "..", in no particular order.
Status list_dir(const std::string& dir, std::vector<std::string>* names);

// Reads the whole file into *out. With `missing` not null, a missing file
// is not an error: *out is empty and *missing true.
Status read_file(const std::string& path, std::string* out, bool* missing);

// The directory part of `path` ("a/b" -> "a", "b" -> ".", "/b" -> "/").
std::string parent_dir(const std::string& path);

}  // namespace tern
