// Writing the config file `tern init` made (config_template.h) where the
// service reads it: refused when a config is already there (unless
// `replace`, or the file there is a placeholder carrying
// kReplaceableMarker), atomically (fs/atomic_file.h), mode 0640, and as
// root given to the group of the user tern runs as, which must read it at
// start and at every SIGHUP (docs/security.md: "0640 root:tern is fine").
//
// Thread safety: one writer per path.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tern::init {

// Ok when nothing is at `path`, when `replace`, or when the file there
// holds kReplaceableMarker; otherwise a Permanent error naming the file
// and --force.
Status may_write_config(const std::string& path, bool replace);

// Creates the directory of `path` if missing (0755), writes `text` with
// mode 0640, and when `group` is set chowns the file to root:group.
Status write_config_file(const std::string& path, std::string_view text,
                         std::optional<gid_t> group);

}  // namespace tern::init
