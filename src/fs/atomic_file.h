// Atomic replacement of small files (the users file, TLS keys): readers
// see either the old content or the new, never a mix, and after Ok the new
// content survives a crash.
//
// Thread safety: safe to call concurrently for different paths; writers of
// the same path race (last rename wins) but never corrupt it.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "fs/file_env.h"

namespace tern {

// Writes `data` to a new temporary file next to `path` (created with
// `mode`, which the umask does not reduce), fsyncs it, renames it over
// `path` and fsyncs the directory. On failure the temporary file is removed
// and `path` is untouched; the Status names the operation, path and errno.
// The Status carries the errno (Status::sys_errno). Every file system call
// goes through `env` (fs/file_env.h).
// REQUIRES: the directory of `path` exists.
Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode,
                         FileEnv& env = FileEnv::posix());

}  // namespace tern
