#include "server/file_access.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "server/privileges.h"

namespace tern {
namespace {

std::string user_name(uid_t uid) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) return pw.pw_name;
  return std::to_string(uid);
}

std::string group_name(gid_t gid) {
  std::vector<char> buf(16384);
  group gr{};
  group* found = nullptr;
  if (::getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) == 0 && found) return gr.gr_name;
  return std::to_string(gid);
}

bool stat_facts(const std::string& path, FileFacts* f, int* err) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *err = errno;
    return false;
  }
  f->uid = st.st_uid;
  f->gid = st.st_gid;
  f->mode = st.st_mode;
  f->owner = user_name(st.st_uid);
  f->group = group_name(st.st_gid);
  return true;
}

Principal me() {
  const Account a = current_account();
  Principal p{a.name, ::geteuid(), ::getegid(), {}};
  const int n = ::getgroups(0, nullptr);
  p.groups.resize(static_cast<size_t>(std::max(n, 0)));
  if (n > 0 && ::getgroups(n, p.groups.data()) < 0) p.groups.clear();
  return p;
}

const char* need_words(unsigned need) {
  if (need == (kRead | kWrite | kSearch)) return "write in";
  if (need & kWrite) return "write";
  if (need & kSearch) return "enter";
  return "read";
}

// access(2) with the effective ids (the same as the real ones after the
// switch, or when started by an ordinary user).
bool can(const std::string& path, unsigned need) {
  int amode = 0;
  if (need & kRead) amode |= R_OK;
  if (need & kWrite) amode |= W_OK;
  if (need & kSearch) amode |= X_OK;
  return ::faccessat(AT_FDCWD, path.c_str(), amode, AT_EACCESS) == 0;
}

// One check of one file; `fix` is shown when it fails.
class Checker {
 public:
  explicit Checker(const Config& config) : config_(config), who_(me()) {}

  const Principal& who() const { return who_; }

  Status require(std::string_view what, const std::string& path, unsigned need,
                 const std::string& fix) const {
    if (can(path, need)) return Status::Ok();
    const int err = errno;
    if (err == ENOENT) return Status::Permanent(fmt::format("{} {} does not exist", what, path));
    if (err == EROFS)
      return Status::Permanent(fmt::format("{} {} is on a read-only file system", what, path));
    FileFacts f;
    int stat_err = 0;
    if (stat_facts(path, &f, &stat_err) && !permits(f, who_, need))
      return Status::Permanent(explain_denied(what, path, f, who_, need, fix));
    // The file's own bits allow it: a directory above it does not.
    namespace fs = std::filesystem;
    for (fs::path p = fs::path(path).parent_path(); !p.empty(); p = p.parent_path()) {
      const std::string dir = p.string();
      FileFacts d;
      if (!can(dir, kSearch) && stat_facts(dir, &d, &stat_err)) {
        return Status::Permanent(fmt::format(
            "{} {}: user {} cannot reach it: directory {} is not searchable by it "
            "(owner {}:{}, mode {:04o}); fix: chmod o+x {} (or give it to {})",
            what, path, who_.name, dir, d.owner, d.group, d.mode & 07777, dir, who_.name));
      }
      if (p == p.root_path()) break;
    }
    return Status::Permanent(fmt::format("{} {}: user {} cannot {} it: {}", what, path, who_.name,
                                         need_words(need), std::strerror(err)));
  }

  Status key(std::string_view what, const std::string& path) const {
    if (Status s = require(what, path, kRead, key_fix(path)); !s.ok()) return s;
    FileFacts f;
    int err = 0;
    if (!stat_facts(path, &f, &err)) return Status::Ok();  // vanished: the loader says so
    std::string problem = key_mode_problem(what, path, f.mode);
    return problem.empty() ? Status::Ok() : Status::Permanent(std::move(problem));
  }

  std::string key_fix(const std::string& path) const {
    return fmt::format(
        "chgrp {} {} && chmod 0640 {} (tern reads keys as {}, at start and on SIGHUP)",
        group_name(who_.gid), path, path, who_.name);
  }

  // data_dir and what is below it, `depth` levels down.
  Status tree(const std::string& dir, unsigned dir_need, int depth, bool keys) const {
    const std::string fix = data_dir_fix(config_, who_.name);
    if (Status s = require("data dir", dir, dir_need, fix); !s.ok()) return s;
    if (depth == 0) return Status::Ok();
    std::error_code ec;
    std::vector<std::filesystem::directory_entry> entries;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) entries.push_back(e);
    std::sort(entries.begin(), entries.end());  // the same first problem every time
    for (const auto& e : entries) {
      const std::string path = e.path().string();
      std::error_code type_ec;
      if (e.is_directory(type_ec)) {
        if (Status s = tree(path, dir_need, depth - 1, keys); !s.ok()) return s;
      } else if (e.is_regular_file(type_ec)) {
        if (keys && e.path().extension() == ".key") {
          if (Status s = key("DKIM private key", path); !s.ok()) return s;
        } else if (Status s = require("data dir", path, kRead, fix); !s.ok()) {
          return s;
        }
      }
    }
    return Status::Ok();
  }

 private:
  const Config& config_;
  Principal who_;
};

}  // namespace

bool permits(const FileFacts& f, const Principal& who, unsigned need) {
  if (who.uid == 0) return true;  // CAP_DAC_OVERRIDE (even x on directories)
  unsigned bits;
  if (f.uid == who.uid) {
    bits = (f.mode >> 6) & 7;
  } else if (f.gid == who.gid ||
             std::find(who.groups.begin(), who.groups.end(), f.gid) != who.groups.end()) {
    bits = (f.mode >> 3) & 7;
  } else {
    bits = f.mode & 7;
  }
  return (bits & need) == need;
}

std::string explain_denied(std::string_view what, const std::string& path, const FileFacts& f,
                           const Principal& who, unsigned need, std::string_view fix) {
  return fmt::format("{} {}: user {} cannot {} it (owner {}:{}, mode {:04o}); fix: {}", what, path,
                     who.name, need_words(need), f.owner, f.group, f.mode & 07777, fix);
}

std::string key_mode_problem(std::string_view what, const std::string& path, mode_t mode) {
  if ((mode & 022) == 0) return "";
  const char* who = (mode & 002) ? ((mode & 020) ? "group- and world-writable" : "world-writable")
                                 : "group-writable";
  return fmt::format(
      "{} {} is {} (mode {:04o}): tern refuses a key that others could replace; fix: chmod go-w "
      "{}",
      what, path, who, mode & 07777, path);
}

std::string data_dir_fix(const Config& config, const std::string& user) {
  return fmt::format("chown -R {}: {}", user, config.data_dir);
}

Status check_files(const Config& config, const std::string& config_path) {
  const Checker c(config);
  const std::string& name = c.who().name;
  if (!config_path.empty()) {
    const std::string fix = fmt::format(
        "make it readable by {}, e.g. chgrp {} {} && chmod 0640 {} (SIGHUP re-reads it)", name,
        name, config_path, config_path);
    if (Status s = c.require("config file", config_path, kRead, fix); !s.ok()) return s;
  }
  const std::string& dir = config.data_dir;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (Status s = c.tree(dir, kRead | kWrite | kSearch, 0, false); !s.ok()) return s;
    // The server only reads dkim/ and tls/ (made by `tern dkim keygen` and
    // at the first start), so they may be an admin's, readable by us.
    std::error_code ec;
    std::vector<std::filesystem::directory_entry> entries;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) entries.push_back(e);
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries) {
      const std::string n = e.path().filename().string();
      std::error_code type_ec;
      if (n == "dkim" && e.is_directory(type_ec)) {
        if (Status s = c.tree(e.path().string(), kRead | kSearch, 2, true); !s.ok()) return s;
      } else if (n == "tls" && e.is_directory(type_ec)) {
        if (Status s = c.tree(e.path().string(), kRead | kSearch, 1, false); !s.ok()) return s;
      } else if (e.is_directory(type_ec)) {
        if (Status s = c.tree(e.path().string(), kRead | kWrite | kSearch, 1, false); !s.ok())
          return s;
      } else if (e.is_regular_file(type_ec)) {
        if (Status s = c.require("data dir", e.path().string(), kRead, data_dir_fix(config, name));
            !s.ok())
          return s;
      }
    }
    if (::stat((dir + "/srs.key").c_str(), &st) == 0) {
      if (Status s = c.key("SRS key", dir + "/srs.key"); !s.ok()) return s;
    }
  }
  if (config.tls_certificate.empty()) {
    const std::string key = dir + "/tls/key.pem";
    if (::stat(key.c_str(), &st) == 0) {
      if (Status s = c.key("TLS private key", key); !s.ok()) return s;
    }
  } else {
    const std::string fix = fmt::format("chmod a+r {}", config.tls_certificate);
    if (Status s = c.require("TLS certificate", config.tls_certificate, kRead, fix); !s.ok())
      return s;
    if (Status s = c.key("TLS private key", config.tls_private_key); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace tern
