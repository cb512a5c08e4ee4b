#include "relay/file_body.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <vector>

#include "core/dot_encoder.h"
#include "dkim/signer.h"
#include "fs/file_io.h"

namespace tern {
namespace {

constexpr size_t kScanPiece = 64 * 1024;

int open_read(const std::string& path) { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }

// pread until `max` octets or the end; returns -1 (errno set) on error.
ssize_t read_at(int fd, char* buf, size_t max, uint64_t offset) {
  size_t got = 0;
  while (got < max) {
    const ssize_t n = ::pread(fd, buf + got, max - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

// Reads `path` from `offset` to its end, handing each piece to `each`.
template <typename F>
Status read_file(const std::string& path, uint64_t offset, F&& each) {
  const int fd = open_read(path);
  if (fd < 0) return io_error("open", path, errno);
  std::string buf(kScanPiece, '\0');
  uint64_t pos = offset;
  for (;;) {
    const ssize_t n = read_at(fd, buf.data(), buf.size(), pos);
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return io_error("read", path, err);
    }
    if (n == 0) break;
    each(std::string_view(buf.data(), static_cast<size_t>(n)));
    pos += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return Status::Ok();
}

// The signing side of the scan: holds the content back until the header
// section is complete, decides, then feeds one Signer per key.
class SigningScan {
 public:
  explicit SigningScan(const SignInput& in) : in_(in), splitter_(kMaxHeader) {}

  void feed(std::string_view piece) {
    if (decided_) {
      for (dkim::Signer& s : signers_) s.write(piece);
      return;
    }
    held_.append(piece);
    splitter_.write(piece);
    if (splitter_.in_body() || splitter_.overflow()) decide();
  }

  void finish(ScanResult* out) {
    if (!decided_) {
      splitter_.finish();
      decide();
    }
    std::vector<std::string> selectors;
    std::string errors;
    for (size_t i = 0; i < signers_.size(); ++i) {
      std::string field;
      if (Status s = signers_[i].finish(&field); !s.ok()) {
        errors += fmt::format("; s={} failed: {}", selectors_[i], s.message());
        continue;
      }
      out->prefix += field;
      selectors.push_back(selectors_[i]);
    }
    if (!selectors.empty()) {
      out->is_signed = true;
      out->dkim = fmt::format("d={} s={}{}", domain_, fmt::join(selectors, ","), errors);
    } else if (!errors.empty()) {
      out->dkim = errors.substr(2);
    } else {
      out->dkim = why_not_;
    }
  }

 private:
  static constexpr size_t kMaxHeader = 1 << 20;

  void decide() {
    decided_ = true;
    if (splitter_.overflow()) {
      why_not_ = "header section over 1 MiB";
      held_.clear();
      return;
    }
    dkim::SigningChoice c = dkim::signing_domain(*in_.keys, in_.sender_ours, splitter_.fields());
    why_not_ = c.why_not;
    domain_ = c.domain;
    for (const dkim::SigningKey* k : c.keys) {
      dkim::SignOptions o;
      o.domain = c.domain;
      o.selector = k->selector;
      o.timestamp = in_.now;
      signers_.emplace_back(k->key, std::move(o));
      selectors_.push_back(k->selector);
    }
    for (dkim::Signer& s : signers_) s.write(held_);
    held_.clear();
    held_.shrink_to_fit();
  }

  const SignInput& in_;
  dkim::MessageSplitter splitter_;
  std::string held_;  // the content seen before deciding
  bool decided_ = false;
  std::string domain_;
  std::string why_not_;
  std::vector<dkim::Signer> signers_;
  std::vector<std::string> selectors_;
};

}  // namespace

Status scan_body_file(const std::string& path, uint64_t offset, BodyFacts* out) {
  BodyScanner scanner;
  Status s = read_file(path, offset, [&](std::string_view piece) { scanner.feed(piece); });
  if (!s.ok()) return s;
  out->size = scanner.size();
  out->eight_bit = scanner.eight_bit();
  return Status::Ok();
}

Status scan_body_file(const std::string& path, uint64_t offset, const SignInput& sign,
                      ScanResult* out) {
  *out = ScanResult{};
  const bool dkim = sign.keys && !sign.keys->empty() && sign.sender_ours;
  if (!dkim && !sign.arc) return scan_body_file(path, offset, &out->facts);
  BodyScanner scanner;
  SigningScan signing(sign);
  std::unique_ptr<arc::Sealer> sealer = sign.arc ? make_sealer(*sign.arc, sign.now) : nullptr;
  Status s = read_file(path, offset, [&](std::string_view piece) {
    scanner.feed(piece);
    if (dkim) signing.feed(piece);
    if (sealer) sealer->write(piece);
  });
  if (!s.ok()) return s;
  if (dkim) signing.finish(out);
  if (sealer) finish_seal(*sealer, *sign.arc, &out->prefix, &out->arc);
  // The fields are 7-bit text ending in CRLF: on the wire they add exactly
  // their length, whatever the file's last line looks like.
  out->facts.size = scanner.size() + out->prefix.size();
  out->facts.eight_bit = scanner.eight_bit();
  return Status::Ok();
}

struct FileBody::State {
  std::string path;
  uint64_t pos = 0;
  int fd = -1;
  bool failed = false;
  ~State() {
    if (fd >= 0) ::close(fd);
  }
};

namespace {

struct Piece {
  std::string data;
  std::string error;
};

// Runs on the pool; `state` is not touched by anyone else meanwhile (the
// reader waits for this).
asio::awaitable<Piece> read_piece(std::shared_ptr<FileBody::State> state, size_t max) {
  Piece p;
  if (state->fd < 0) {
    state->fd = open_read(state->path);
    if (state->fd < 0) {
      p.error = io_error("open", state->path, errno).message();
      co_return p;
    }
  }
  p.data.resize(max);
  const ssize_t n = read_at(state->fd, p.data.data(), max, state->pos);
  if (n < 0) {
    p.error = io_error("read", state->path, errno).message();
    p.data.clear();
    co_return p;
  }
  p.data.resize(static_cast<size_t>(n));
  state->pos += static_cast<uint64_t>(n);
  co_return p;
}

}  // namespace

FileBody::FileBody(asio::any_io_executor blocking, std::string path, uint64_t offset,
                   std::string prefix)
    : blocking_(std::move(blocking)),
      prefix_(std::move(prefix)),
      state_(std::make_shared<State>()) {
  state_->path = std::move(path);
  state_->pos = offset;
}

FileBody::~FileBody() = default;

asio::awaitable<bool> FileBody::read(std::string* out, size_t max, std::string* error) {
  if (state_->failed || max == 0) co_return false;
  if (prefix_pos_ < prefix_.size()) {
    const size_t n = std::min(max, prefix_.size() - prefix_pos_);
    out->append(prefix_, prefix_pos_, n);
    prefix_pos_ += n;
    co_return true;
  }
  std::shared_ptr<State> state = state_;
  Piece p = co_await asio::co_spawn(blocking_, read_piece(state, max), asio::use_awaitable);
  if (!p.error.empty()) {
    state_->failed = true;
    *error = std::move(p.error);
    co_return false;
  }
  if (p.data.empty()) co_return false;
  out->append(p.data);
  co_return true;
}

}  // namespace tern
