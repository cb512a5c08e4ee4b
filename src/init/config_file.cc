#include "init/config_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "fs/atomic_file.h"
#include "init/config_template.h"

namespace tern::init {

Status may_write_config(const std::string& path, bool replace) {
  struct stat st {};
  if (replace || ::lstat(path.c_str(), &st) != 0) return Status::Ok();
  // A package's placeholder says so on a line of its own; anything else is
  // an administrator's config and is never replaced by accident.
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line == kReplaceableMarker) return Status::Ok();
  }
  return Status::Permanent(path + " exists; use --force to replace it");
}

Status write_config_file(const std::string& path, std::string_view text,
                         std::optional<gid_t> group) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    if (std::filesystem::create_directories(dir, ec)) ::chmod(dir.c_str(), 0755);
    if (ec) return Status::Permanent("cannot create " + dir.string() + ": " + ec.message());
  }
  if (Status s = write_file_atomic(path, text, 0640); !s.ok()) return s;
  if (group && ::chown(path.c_str(), 0, *group) != 0) {
    return Status::Permanent("cannot chown " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace tern::init
