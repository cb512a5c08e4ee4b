#include "server/milter_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "fs/file_io.h"

namespace tern {

namespace {

constexpr size_t kPiece = 64 * 1024;
// A header section larger than this is taken as ending there (the rest
// is body to the milters); Postfix's header_size_limit is 100 KiB.
constexpr size_t kMaxHeader = 4 * 1024 * 1024;

// An unlinked file in `dir`: O_TMPFILE where the file system has it.
int temp_file(const std::string& dir, std::string* path) {
  *path = dir + "/milter.XXXXXX";
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string name = *path;
  fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd >= 0) ::unlink(name.c_str());
  return fd;
}

Status pread_some(int fd, uint64_t offset, size_t n, std::string* out, const std::string& path) {
  out->resize(n);
  for (;;) {
    ssize_t got = ::pread(fd, out->data(), n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return io_error("read", path, errno);
    out->resize(static_cast<size_t>(got));
    return Status::Ok();
  }
}

}  // namespace

Status MilterSpool::create(QueueStore& store, QuarantineStore quarantine, const Envelope& env,
                           const std::string& tmp_dir, std::unique_ptr<MilterSpool>* out) {
  std::string path;
  int fd = temp_file(tmp_dir, &path);
  if (fd < 0) return io_error("open", path, errno);
  out->reset(new MilterSpool(store, std::move(quarantine), env, fd, path));
  (*out)->tmp_dir_ = tmp_dir;
  return Status::Ok();
}

MilterSpool::MilterSpool(QueueStore& store, QuarantineStore quarantine, const Envelope& env, int fd,
                         std::string path)
    : store_(store),
      quarantine_store_(std::move(quarantine)),
      env_(env),
      fd_(fd),
      path_(std::move(path)) {}

MilterSpool::~MilterSpool() { abort(); }

Status MilterSpool::write(std::string_view data) {
  if (spent_) return Status::Permanent("queue: write after commit/abort");
  if (!error_.ok()) return error_;
  error_ = write_all(fd_, data, path_);
  size_ += data.size();
  return error_;
}

Status MilterSpool::prepend(std::string_view text) {
  if (spent_) return Status::Permanent("queue: prepend after commit/abort");
  prefix_.insert(0, text);
  return Status::Ok();
}

void MilterSpool::abort() {
  if (spent_) return;
  spent_ = true;
  if (fd_ >= 0) ::close(fd_);
  if (body_fd_ >= 0) ::close(body_fd_);
  fd_ = body_fd_ = -1;
}

Status MilterSpool::read_content(uint64_t offset, size_t n, std::string* out) {
  out->clear();
  if (offset < prefix_.size()) {
    *out = prefix_.substr(offset, n);
    if (out->size() == n) return Status::Ok();
    n -= out->size();
    offset = prefix_.size();
  }
  std::string more;
  Status s = pread_some(fd_, offset - prefix_.size(), n, &more, path_);
  *out += more;
  return s;
}

Status MilterSpool::header(std::vector<milter::HeaderField>** fields) {
  *fields = &fields_;
  if (header_read_) return Status::Ok();
  std::string text, piece;
  const uint64_t total = prefix_.size() + size_;
  for (;;) {
    bool complete = text.size() >= total || text.size() >= kMaxHeader;
    if (std::optional<milter::HeaderSection> h = milter::split_header(text, complete)) {
      fields_ = std::move(h->fields);
      body_offset_ = h->body_offset;
      header_read_ = true;
      return Status::Ok();
    }
    if (Status s = read_content(text.size(), kPiece, &piece); !s.ok()) return s;
    if (piece.empty()) {  // the file is shorter than it should be
      if (auto h = milter::split_header(text, true)) {
        fields_ = std::move(h->fields);
        body_offset_ = h->body_offset;
      }
      header_read_ = true;
      return Status::Ok();
    }
    text += piece;
  }
}

Status MilterSpool::read_body(uint64_t offset, size_t n, std::string* out) {
  if (body_fd_ >= 0) return pread_some(body_fd_, offset, n, out, path_);
  return read_content(body_offset_ + offset, n, out);
}

Status MilterSpool::replace_body() {
  if (body_fd_ >= 0) ::close(body_fd_);
  std::string path;
  body_fd_ = temp_file(tmp_dir_, &path);
  body_size_ = 0;
  if (body_fd_ < 0) return io_error("open", path, errno);
  return Status::Ok();
}

Status MilterSpool::append_body(std::string_view data) {
  if (body_fd_ < 0) return Status::Transient("milter: no replacement body");
  // pwrite at the end: the reads of read_body() move no file offset.
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(body_fd_, data.data() + done, data.size() - done,
                         static_cast<off_t>(body_size_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("write", path_, errno);
    done += static_cast<size_t>(n);
  }
  body_size_ += data.size();
  return Status::Ok();
}

// Copies `fd` from `from` on into `to`, after `prefix`.
Status MilterSpool::copy_content(SpoolWriter* to, uint64_t from, int fd,
                                 const std::string& prefix) {
  if (!prefix.empty())
    if (Status s = to->write(prefix); !s.ok()) return s;
  std::string piece;
  for (uint64_t at = from;; at += piece.size()) {
    if (Status s = pread_some(fd, at, kPiece, &piece, path_); !s.ok()) return s;
    if (piece.empty()) return Status::Ok();
    if (Status s = to->write(piece); !s.ok()) return s;
  }
}

Status MilterSpool::commit() {
  if (spent_) return Status::Permanent("queue: commit after commit/abort");
  if (!error_.ok()) return error_;
  QueueStore* target = &store_;
  Envelope env = env_;
  if (quarantine_) {
    if (Status s = quarantine_store_(&target); !s.ok()) return s;
    env.quarantine_reason = *quarantine_;  // for `tern queue quarantine`
  }
  std::unique_ptr<SpoolWriter> w;
  if (Status s = target->begin(env, &w); !s.ok()) return s;
  Status s;
  if (!header_read_) {
    // No milter looked at the content: it goes as it came.
    s = copy_content(w.get(), 0, fd_, prefix_);
  } else {
    // The modified copy: the fields as the milters left them, the empty
    // line, and the body (replaced or not).
    std::string head = milter::render_header(fields_) + "\r\n";
    if (body_fd_ >= 0) {
      s = copy_content(w.get(), 0, body_fd_, head);
    } else if (body_offset_ < prefix_.size()) {
      s = copy_content(w.get(), 0, fd_, head + prefix_.substr(body_offset_));
    } else {
      s = copy_content(w.get(), body_offset_ - prefix_.size(), fd_, head);
    }
  }
  if (s.ok()) s = w->commit();
  if (!s.ok()) {
    w->abort();
    return s;
  }
  abort();  // closes the temporary files; the message is in the queue
  return Status::Ok();
}

}  // namespace tern
