#include "relay/inject.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "fs/file_io.h"

namespace tern {
namespace {

constexpr size_t kChunk = 64 * 1024;

// Reads [offset, offset + max) of `path` in pieces, handing each to `each`
// (which returns a Status; the first error stops the copy).
template <typename F>
Status read_range(const std::string& path, uint64_t offset, uint64_t max, F&& each) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path, errno);
  auto buf = std::make_unique<char[]>(kChunk);
  Status s;
  uint64_t left = max;
  while (left > 0) {
    size_t want = left < kChunk ? static_cast<size_t>(left) : kChunk;
    ssize_t n = ::pread(fd, buf.get(), want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      s = io_error("read", path, errno);
      break;
    }
    if (n == 0) break;
    offset += static_cast<uint64_t>(n);
    left -= static_cast<uint64_t>(n);
    s = each(std::string_view(buf.get(), static_cast<size_t>(n)));
    if (!s.ok()) break;
  }
  ::close(fd);
  return s;
}

}  // namespace

Status inject_message(QueueStore& store, const Envelope& env, std::string_view content) {
  std::unique_ptr<SpoolWriter> w;
  Status s = store.begin(env, &w);
  if (s.ok()) s = w->write(content);
  if (s.ok()) s = w->commit();
  return s;
}

Status inject_copy(QueueStore& store, const Envelope& env, const QueuedMessage& source) {
  std::unique_ptr<SpoolWriter> w;
  Status s = store.begin(env, &w);
  if (!s.ok()) return s;
  s = read_range(source.body_path, source.body_offset, UINT64_MAX,
                 [&](std::string_view piece) { return w->write(piece); });
  if (s.ok()) s = w->commit();
  return s;
}

Status content_size(const QueuedMessage& m, uint64_t* size) {
  struct stat st;
  if (::stat(m.body_path.c_str(), &st) != 0) return io_error("stat", m.body_path, errno);
  uint64_t total = static_cast<uint64_t>(st.st_size);
  *size = total > m.body_offset ? total - m.body_offset : 0;
  return Status::Ok();
}

Status read_content(const QueuedMessage& m, uint64_t max, std::string* out) {
  out->clear();
  return read_range(m.body_path, m.body_offset, max, [&](std::string_view piece) {
    out->append(piece);
    return Status::Ok();
  });
}

}  // namespace tern
