#include "relay/srs.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

#include "core/base64.h"
#include "fs/file_io.h"

namespace tern {
namespace {

constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";  // RFC 4648 6
constexpr int64_t kDay = 86400;
constexpr int64_t kSlots = 1024;  // two base32 characters
constexpr size_t kKeySize = 32;
constexpr size_t kMinKeySize = 16;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Splits off the text before the next '=' of *rest; false if there is none
// or the field is empty.
bool take_field(std::string_view* rest, std::string_view* field) {
  size_t eq = rest->find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  *field = rest->substr(0, eq);
  rest->remove_prefix(eq + 1);
  return true;
}

// The day slot of a base32 TT, or -1.
int64_t decode_timestamp(std::string_view tt) {
  if (tt.size() != 2) return -1;
  int64_t then = 0;
  for (char c : tt) {
    size_t i = kBase32.find(upper(c));
    if (i == std::string_view::npos) return -1;
    then = (then << 5) | static_cast<int64_t>(i);
  }
  return then;
}

}  // namespace

const char* srs_error_text(SrsError e) {
  switch (e) {
    case SrsError::kOk:
      return "valid SRS address";
    case SrsError::kNotSrs:
      return "not an SRS address";
    case SrsError::kMalformed:
      return "malformed SRS address";
    case SrsError::kBadHash:
      return "invalid SRS signature";
    case SrsError::kExpired:
      return "SRS address expired";
  }
  return "?";
}

Srs::Srs(std::string secret) : secret_(std::move(secret)) {
  if (secret_.empty()) throw std::invalid_argument("SRS secret is empty");
}

std::string Srs::hash(std::initializer_list<std::string_view> parts) const {
  std::string data;
  for (std::string_view p : parts)
    for (char c : p) data += lower(c);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  // 4 base64 characters carry exactly the first 3 octets.
  return base64_encode(std::string_view(reinterpret_cast<const char*>(mac), 3));
}

bool Srs::hash_ok(std::string_view given, std::initializer_list<std::string_view> parts) const {
  return given.size() == kHashLength && iequal(given, hash(parts));
}

Address Srs::forward(const Address& sender, std::string_view srs_domain, int64_t now) const {
  const std::string& local = sender.local;
  const std::string domain(srs_domain);
  if (is_srs_local(local) && local[3] == '1') {
    // SRS1=HHHH=first==opaque: keep first and "=opaque", sign them anew.
    std::string_view rest = std::string_view(local).substr(5), hh, first;
    if (take_field(&rest, &hh) && take_field(&rest, &first) && !rest.empty()) {
      std::string user(rest);
      return {"SRS1=" + hash({first, user}) + "=" + std::string(first) + "=" + user, domain};
    }
    // Not really SRS1: wrap it as a plain address below.
  } else if (is_srs_local(local)) {
    // SRS0 of the forwarder at sender.domain: "SRS0" stays behind, its
    // separator and opaque part go on.
    std::string user = local.substr(4);
    return {"SRS1=" + hash({sender.domain, user}) + "=" + sender.domain + "=" + user, domain};
  }
  std::string tt = srs_timestamp(now);
  return {"SRS0=" + hash({tt, sender.domain, local}) + "=" + tt + "=" + sender.domain + "=" + local,
          domain};
}

Srs::Reversed Srs::reverse(std::string_view local, int64_t now) const {
  Reversed out;
  if (!is_srs_local(local)) return out;
  const bool srs1 = local[3] == '1';
  std::string_view rest = local.substr(5), hh;
  out.error = SrsError::kMalformed;
  if (!take_field(&rest, &hh)) return out;
  if (srs1) {
    std::string_view first;
    if (!take_field(&rest, &first) || rest.empty()) return out;
    std::string user(rest);  // "=HHHH=TT=..." when it came from SRS0
    if (!hash_ok(hh, {first, user})) {
      out.error = SrsError::kBadHash;
      return out;
    }
    out.error = SrsError::kOk;
    out.address = Address{"SRS0" + user, std::string(first)};
    return out;
  }
  std::string_view tt, host;
  if (!take_field(&rest, &tt) || !take_field(&rest, &host) || rest.empty()) return out;
  if (decode_timestamp(tt) < 0) return out;
  // The signature first: the age of a forged address means nothing.
  if (!hash_ok(hh, {tt, host, rest})) {
    out.error = SrsError::kBadHash;
    return out;
  }
  if (!srs_timestamp_fresh(tt, now)) {
    out.error = SrsError::kExpired;
    return out;
  }
  out.error = SrsError::kOk;
  out.address = Address{std::string(rest), std::string(host)};
  return out;
}

bool is_srs_local(std::string_view local) {
  if (local.size() < 5) return false;
  if (!iequal(local.substr(0, 4), "SRS0") && !iequal(local.substr(0, 4), "SRS1")) return false;
  char sep = local[4];
  return sep == '=' || sep == '-' || sep == '+';
}

std::string srs_timestamp(int64_t now) {
  int64_t slot = (now / kDay) % kSlots;
  return {kBase32[static_cast<size_t>(slot >> 5)], kBase32[static_cast<size_t>(slot & 31)]};
}

bool srs_timestamp_fresh(std::string_view tt, int64_t now) {
  int64_t then = decode_timestamp(tt);
  if (then < 0) return false;
  int64_t today = (now / kDay) % kSlots;
  while (today < then) today += kSlots;  // the day counter wrapped since
  return today <= then + Srs::kMaxAgeDays;
}

Address srs_forward_sender(const Srs& srs, const Address& from, std::string_view srs_domain,
                           int64_t now, const std::function<bool(std::string_view)>& is_local) {
  if (from.is_null() || from.domain.empty()) return from;
  if (is_local && is_local(from.domain)) return from;
  Address rewritten = srs.forward(from, srs_domain, now);
  auto parsed = parse_mailbox(rewritten.str(), true);
  if (!parsed || *parsed != rewritten) return from;
  return rewritten;
}

Status load_or_create_srs_key(const std::string& path, std::string* secret) {
  std::string text;
  bool missing = false;
  Status s = read_file(path, &text, &missing);
  if (!s.ok()) return s;
  if (!missing) {
    if (text.size() < kMinKeySize)
      return Status::Permanent(path + ": SRS key of " + std::to_string(text.size()) +
                               " octets; at least 16 are needed");
    *secret = std::move(text);
    return Status::Ok();
  }
  unsigned char key[kKeySize];
  if (RAND_bytes(key, sizeof(key)) != 1)
    return Status::Transient("cannot generate an SRS key: RAND_bytes failed");
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkostemp(name.data(), O_CLOEXEC);  // mode 0600 whatever the umask
  if (fd < 0) return io_error("create", tmpl, errno);
  const std::string tmp(name.data());
  s = write_all(fd, std::string_view(reinterpret_cast<const char*>(key), sizeof(key)), tmp);
  if (s.ok() && ::fsync(fd) != 0) s = io_error("fsync", tmp, errno);
  if (::close(fd) != 0 && s.ok()) s = io_error("close", tmp, errno);
  if (s.ok() && ::link(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    OPENSSL_cleanse(key, sizeof(key));
    // Someone else made it first: theirs is the key.
    if (err == EEXIST) return load_or_create_srs_key(path, secret);
    return io_error("link", path, err);
  }
  ::unlink(tmp.c_str());
  if (s.ok()) s = sync_dir(parent_dir(path));
  if (s.ok()) secret->assign(reinterpret_cast<const char*>(key), sizeof(key));
  OPENSSL_cleanse(key, sizeof(key));
  return s;
}

}  // namespace tern
