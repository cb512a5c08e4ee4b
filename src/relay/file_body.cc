#include "relay/file_body.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>

#include "core/dot_encoder.h"
#include "queue/file_io.h"

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

}  // namespace

Status scan_body_file(const std::string& path, uint64_t offset, BodyFacts* out) {
  const int fd = open_read(path);
  if (fd < 0) return io_error("open", path, errno);
  BodyScanner scanner;
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
    scanner.feed(std::string_view(buf.data(), static_cast<size_t>(n)));
    pos += static_cast<uint64_t>(n);
  }
  ::close(fd);
  out->size = scanner.size();
  out->eight_bit = scanner.eight_bit();
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

FileBody::FileBody(asio::any_io_executor blocking, std::string path, uint64_t offset)
    : blocking_(std::move(blocking)), state_(std::make_shared<State>()) {
  state_->path = std::move(path);
  state_->pos = offset;
}

FileBody::~FileBody() = default;

asio::awaitable<bool> FileBody::read(std::string* out, size_t max, std::string* error) {
  if (state_->failed || max == 0) co_return false;
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
