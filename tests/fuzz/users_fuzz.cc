// Fuzzes the users file (src/auth/users): the first octet chooses between
// normalize_user_address() on the rest and UserDb::load() of the rest as a
// file (written to a private temporary file, as load() only reads paths).
// Invariants: a normalised address normalises to itself; a loaded database
// lists each user once, each of which exists() under its own name; a file
// that fails to load leaves the users as they were.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "auth/users.h"
#include "fuzz_check.h"

namespace {

const std::string& scratch_path() {
  static const std::string path = [] {
    // Memory-backed when there is one: the file is rewritten twice a run.
    const char* dir = std::getenv("TMPDIR");
    std::string base = dir && *dir ? dir : ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return base + "/tern-users-fuzz." + std::to_string(::getpid());
  }();
  return path;
}

void write_file(const std::string& path, std::string_view text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_CHECK(f != nullptr);
  FUZZ_CHECK(std::fwrite(text.data(), 1, text.size(), f) == text.size());
  FUZZ_CHECK(std::fclose(f) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    std::string norm;
    if (tern::normalize_user_address(text, &norm).ok()) {
      std::string again;
      FUZZ_CHECK(tern::normalize_user_address(norm, &again).ok());
      FUZZ_CHECK(again == norm);
    }
    return 0;
  }
  const std::string& path = scratch_path();
  // A valid base file first, so a failed load can be seen to keep it.
  write_file(path,
             "base@example.test "
             "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
             "6r3N5Cq4aN0yqHxE2tT3mQ9w0Qf3l8pXk1m2n3o4p5q\n");
  tern::UserDb db(path);
  const bool base_ok = db.load().ok();
  write_file(path, text);
  if (db.load().ok()) {
    std::set<std::string> seen;
    for (const std::string& u : db.list()) {
      FUZZ_CHECK(seen.insert(u).second);
      FUZZ_CHECK(db.exists(u));
    }
  } else if (base_ok) {
    FUZZ_CHECK(db.exists("base@example.test"));
  }
  std::remove(path.c_str());
  return 0;
}
