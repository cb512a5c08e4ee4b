#include "auth/users.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "fs/atomic_file.h"

namespace tern {
namespace {

// A hash of a random password nobody knows, with the parameters used for
// real users, so that verifying an unknown user costs as much as a wrong
// password.
constexpr char kDummyHash[] =
    "$argon2id$v=19$m=65536,t=2,p=1$t6JVRCozJRt9hSr4uFqFjw$"
    "G+wiOk+uX25fyekrsPh+YwAs5FYDx26wgQYOIU0f5hg";

constexpr char kHeader[] =
    "# tern users: one \"address argon2id-hash\" per line.\n"
    "# Managed with `tern user add|del|passwd`; see docs/config.md.\n";

void init_sodium() {
  static const int rc = sodium_init();  // thread-safe, once
  if (rc < 0) std::abort();             // no usable randomness: a bug/host fault
}

bool valid_hash(std::string_view h) {
  return h.size() < crypto_pwhash_STRBYTES &&
         (h.starts_with("$argon2id$") || h.starts_with("$argon2i$"));
}

Status hash_password(const std::string& password, std::string* out) {
  if (password.empty()) return Status::Permanent("the password is empty");
  init_sodium();
  char buf[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(buf, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::Transient("cannot hash the password: out of memory");
  }
  out->assign(buf);
  return Status::Ok();
}

// Splits one line into its whitespace-separated fields.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

Status normalize_user_address(std::string_view address, std::string* out) {
  const std::string shown(address.substr(0, 80));
  if (address.empty() || address.size() > 320) {
    return Status::Permanent("invalid address '" + shown + "': must be 1 to 320 octets");
  }
  for (unsigned char c : address) {
    if (c <= ' ' || c == 0x7f) {
      return Status::Permanent("invalid address '" + shown +
                               "': spaces and control characters are not "
                               "allowed");
    }
  }
  const size_t at = address.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size() ||
      address.find('@', at + 1) != std::string_view::npos) {
    return Status::Permanent("invalid address '" + shown + "': must be local-part@domain");
  }
  out->assign(address);
  for (char& c : *out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return Status::Ok();
}

void UserDb::stamp(long long ino, long long mtime_ns, long long size) {
  ino_ = ino;
  mtime_ns_ = mtime_ns;
  size_ = size;
}

Status UserDb::load() {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      users_.clear();
      stamp(-1, -1, -1);
      return Status::Ok();
    }
    return Status::Transient("cannot open " + path_ + ": " + std::strerror(errno));
  }
  struct stat st {};
  std::string text;
  int err = 0;
  if (::fstat(fd, &st) != 0) err = errno;
  char buf[8192];
  while (err == 0) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n == 0) break;
    if (n < 0) {
      if (errno != EINTR) err = errno;
      continue;
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (err != 0) {
    return Status::Transient("cannot read " + path_ + ": " + std::strerror(err));
  }
  // Whatever the outcome of parsing, this version of the file has been seen.
  stamp(static_cast<long long>(st.st_ino),
        static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec,
        static_cast<long long>(st.st_size));

  std::map<std::string, std::string> users;
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto f = fields(line);
    if (f.empty() || f[0].front() == '#') continue;
    const std::string where = path_ + ":" + std::to_string(line_no) + ": ";
    if (f.size() != 2) {
      return Status::Permanent(where + "expected \"address hash\", found " +
                               std::to_string(f.size()) + " field(s)");
    }
    std::string address;
    if (Status s = normalize_user_address(f[0], &address); !s.ok()) {
      return Status::Permanent(where + s.message());
    }
    if (!valid_hash(f[1])) {
      return Status::Permanent(where + "the hash for '" + address +
                               "' is not an argon2id hash ($argon2id$...)");
    }
    if (!users.emplace(address, std::string(f[1])).second) {
      return Status::Permanent(where + "'" + address + "' is listed twice");
    }
  }
  users_ = std::move(users);
  return Status::Ok();
}

Status UserDb::reload_if_changed() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return Status::Transient("cannot stat " + path_ + ": " + std::strerror(errno));
    }
    if (ino_ != -1 || !users_.empty()) {
      users_.clear();
      stamp(-1, -1, -1);
    }
    return Status::Ok();
  }
  const long long mtime =
      static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  if (static_cast<long long>(st.st_ino) == ino_ && mtime == mtime_ns_ &&
      static_cast<long long>(st.st_size) == size_) {
    return Status::Ok();
  }
  return load();
}

bool UserDb::exists(const std::string& address) const {
  std::string key;
  if (!normalize_user_address(address, &key).ok()) return false;
  return users_.count(key) != 0;
}

struct UserDb::VerifyCache {
  using Digest = std::array<unsigned char, crypto_auth_hmacsha256_BYTES>;
  struct Entry {
    Digest digest;
    int64_t expires;
  };
  int64_t ttl = 0;
  std::function<int64_t()> clock;
  unsigned char key[crypto_auth_hmacsha256_KEYBYTES];
  std::mutex mu;
  std::unordered_map<std::string, Entry> entries;  // user -> last success
  std::atomic<uint64_t> slow{0};

  VerifyCache() {
    init_sodium();
    crypto_auth_hmacsha256_keygen(key);
  }
  ~VerifyCache() { sodium_memzero(key, sizeof key); }
  int64_t now() const {
    if (clock) return clock();
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  Digest digest(std::string_view hash, std::string_view password) const {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, sizeof key);
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(hash.data()),
                                  hash.size());
    const unsigned char sep = 0;  // the hash never holds a NUL
    crypto_auth_hmacsha256_update(&st, &sep, 1);
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(password.data()),
                                  password.size());
    Digest d;
    crypto_auth_hmacsha256_final(&st, d.data());
    return d;
  }
  bool hit(const std::string& user, const Digest& d) {
    std::lock_guard lock(mu);
    auto it = entries.find(user);
    if (it == entries.end()) return false;
    if (it->second.expires <= now()) {
      entries.erase(it);
      return false;
    }
    return sodium_memcmp(it->second.digest.data(), d.data(), d.size()) == 0;
  }
  void put(const std::string& user, const Digest& d) {
    std::lock_guard lock(mu);
    const int64_t t = now();
    if (entries.size() >= 4096)
      std::erase_if(entries, [t](auto& e) { return e.second.expires <= t; });
    entries[user] = Entry{d, t + ttl};
  }
};

UserDb::UserDb(std::string path)
    : path_(std::move(path)), cache_(std::make_unique<VerifyCache>()) {}
UserDb::~UserDb() = default;
UserDb::UserDb(UserDb&&) noexcept = default;
UserDb& UserDb::operator=(UserDb&&) noexcept = default;

void UserDb::set_verify_cache(int64_t ttl_seconds, std::function<int64_t()> clock) {
  std::lock_guard lock(cache_->mu);
  cache_->ttl = std::max<int64_t>(0, ttl_seconds);
  cache_->clock = std::move(clock);
  cache_->entries.clear();
}

uint64_t UserDb::slow_verifications() const { return cache_->slow.load(std::memory_order_relaxed); }

bool UserDb::verify(const std::string& address, const std::string& password) const {
  init_sodium();
  std::string key;
  const char* hash = kDummyHash;
  bool known = false;
  if (normalize_user_address(address, &key).ok()) {
    if (auto it = users_.find(key); it != users_.end()) {
      hash = it->second.c_str();
      known = true;
    }
  }
  const bool cached = known && !password.empty() && cache_->ttl > 0;
  VerifyCache::Digest d{};
  if (cached) {
    d = cache_->digest(hash, password);
    if (cache_->hit(key, d)) return true;
  }
  cache_->slow.fetch_add(1, std::memory_order_relaxed);
  const bool match = crypto_pwhash_str_verify(hash, password.data(), password.size()) == 0;
  const bool ok = known && match && !password.empty();
  if (ok && cached) cache_->put(key, d);
  return ok;
}

std::vector<std::string> UserDb::list() const {
  std::vector<std::string> out;
  out.reserve(users_.size());
  for (const auto& [address, hash] : users_) out.push_back(address);
  return out;
}

Status UserDb::add(const std::string& address, const std::string& password) {
  std::string key;
  if (Status s = normalize_user_address(address, &key); !s.ok()) return s;
  if (users_.count(key)) return Status::Permanent("user " + key + " already exists");
  std::string hash;
  if (Status s = hash_password(password, &hash); !s.ok()) return s;
  auto users = users_;
  users.emplace(key, std::move(hash));
  return save(users);
}

Status UserDb::set_password(const std::string& address, const std::string& password) {
  std::string key;
  if (Status s = normalize_user_address(address, &key); !s.ok()) return s;
  if (!users_.count(key)) return Status::Permanent("no such user: " + key);
  std::string hash;
  if (Status s = hash_password(password, &hash); !s.ok()) return s;
  auto users = users_;
  users[key] = std::move(hash);
  return save(users);
}

Status UserDb::remove(const std::string& address) {
  std::string key;
  if (Status s = normalize_user_address(address, &key); !s.ok()) return s;
  if (!users_.count(key)) return Status::Permanent("no such user: " + key);
  auto users = users_;
  users.erase(key);
  return save(users);
}

Status UserDb::save(const std::map<std::string, std::string>& users) {
  std::string text = kHeader;
  for (const auto& [address, hash] : users) {
    text += address;
    text += ' ';
    text += hash;
    text += '\n';
  }
  if (Status s = write_file_atomic(path_, text, 0600, files_ ? *files_ : FileEnv::posix()); !s.ok())
    return s;
  users_ = users;
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    stamp(static_cast<long long>(st.st_ino),
          static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec,
          static_cast<long long>(st.st_size));
  }
  return Status::Ok();
}

}  // namespace tern
