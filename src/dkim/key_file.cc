// The file half of `tern dkim keygen`, shared with `tern init`.
#include "dkim/key_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace tern::dkim {
namespace {

Status sys_error(const std::string& what, int err) {
  return Status::Transient(what + ": " + std::strerror(err), err);
}

Status make_private_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return sys_error("cannot create " + dir, errno);
  }
  return Status::Ok();
}

}  // namespace

std::string default_selector(std::string_view type, int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char month[16];
  std::strftime(month, sizeof month, "%Y%m", &tm);
  return std::string(type) + "-" + month;
}

std::string key_file_path(const std::string& data_dir, std::string_view domain,
                          std::string_view selector) {
  return data_dir + "/dkim/" + std::string(domain) + "/" + std::string(selector) + ".key";
}

Status write_key_file(const std::string& data_dir, std::string_view domain,
                      std::string_view selector, std::string_view pem, bool replace) {
  const std::string dkim_dir = data_dir + "/dkim";
  const std::string dir = dkim_dir + "/" + std::string(domain);
  const std::string path = key_file_path(data_dir, domain, selector);
  std::error_code ec;
  if (std::filesystem::create_directories(data_dir, ec)) ::chmod(data_dir.c_str(), 0700);
  if (Status s = make_private_dir(dkim_dir); !s.ok()) return s;
  if (Status s = make_private_dir(dir); !s.ok()) return s;

  std::string tmp = dir + "/.keygen-XXXXXX";
  const int fd = ::mkstemp(tmp.data());  // mode 0600
  if (fd < 0) return sys_error("cannot create a file in " + dir, errno);
  const bool written =
      ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
  const int write_errno = errno;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return sys_error("cannot write " + tmp, write_errno);
  }
  // link(2) refuses an existing name: no key is ever replaced by accident.
  const int rc = replace ? ::rename(tmp.c_str(), path.c_str()) : ::link(tmp.c_str(), path.c_str());
  const int saved = errno;
  if (!replace || rc != 0) ::unlink(tmp.c_str());
  if (rc != 0 && saved == EEXIST) {
    return Status::Permanent(path +
                             " exists; use --force to replace it (after its selector is retired)");
  }
  if (rc != 0) return sys_error("cannot create " + path, saved);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace tern::dkim
