// Small helpers shared by the unit tests that touch the file system.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace tern::testlib {

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "tern-test") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The whole content of a file from `offset` on ("" if it cannot be read).
inline std::string slurp(const std::string& path, uint64_t offset = 0) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  std::string all = s.str();
  return offset < all.size() ? all.substr(offset) : std::string();
}

// The reference line-end normalisation, written plainly apart from the
// code under test: each CRLF, bare CR and bare LF is one CRLF, and a CRLF is
// added at the end of a non-empty body that lacks one.
inline std::string normalised(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out += "\r\n";
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (in[i] == '\n') {
      out += "\r\n";
    } else {
      out += in[i];
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

}  // namespace tern::testlib
