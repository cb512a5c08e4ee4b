#include "queue/fs_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <utility>

#include "fs/file_io.h"
#include "queue/envelope_codec.h"

namespace tern {
namespace {

constexpr size_t kWriteBuffer = 64 * 1024;
constexpr size_t kMaxHeader = 16 * 1024 * 1024;  // a corrupt file must not eat memory
constexpr unsigned kDirMode = 0700;
constexpr mode_t kFileMode = 0600;

// Writes tmp/ID; commit() links it to msg/ID. Owns its file descriptor and
// copies of the paths, so it may outlive the store.
class FsSpoolWriter : public SpoolWriter {
 public:
  FsSpoolWriter(FileEnv& env, int fd, std::string tmp_path, std::string msg_path,
                std::string msg_dir, std::string header, bool sync)
      : env_(env),
        fd_(fd),
        tmp_path_(std::move(tmp_path)),
        msg_path_(std::move(msg_path)),
        msg_dir_(std::move(msg_dir)),
        header_(std::move(header)),
        sync_(sync) {
    buf_.reserve(kWriteBuffer);
    buf_ = header_;
  }
  ~FsSpoolWriter() override { abort(); }

  Status write(std::string_view data) override {
    if (spent_) return Status::Permanent("queue: write after commit/abort");
    if (!error_.ok()) return error_;
    if (buf_.size() + data.size() > kWriteBuffer) {
      if (!(error_ = flush()).ok()) return error_;
      if (data.size() >= kWriteBuffer) {
        error_ = write_all(fd_, data, tmp_path_, env_);
        return error_;
      }
    }
    buf_.append(data);
    return Status::Ok();
  }

  // While nothing has reached the file (a message under 64 KiB), the text
  // goes into the buffer after the envelope header: free. Otherwise the
  // file is rewritten at commit (rewrite_with_prefix).
  Status prepend(std::string_view text) override {
    if (spent_) return Status::Permanent("queue: prepend after commit/abort");
    if (!error_.ok()) return error_;
    if (!flushed_)
      buf_.insert(header_.size(), text);
    else
      prefix_.insert(0, text);
    return Status::Ok();
  }

  Status commit() override {
    if (spent_) return Status::Permanent("queue: commit after commit/abort");
    if (!error_.ok()) return error_;
    error_ = finish();
    if (error_.ok()) spent_ = true;
    return error_;
  }

  void abort() override {
    if (spent_) return;
    spent_ = true;
    if (fd_ >= 0) env_.close(fd_);
    fd_ = -1;
    env_.unlink(tmp_path_);  // if this fails, open() removes it later
  }

 private:
  Status flush() {
    Status s = write_all(fd_, buf_, tmp_path_, env_);
    buf_.clear();
    flushed_ = true;
    return s;
  }

  // Writes tmp/ID.p = header + prefix_ + the content of tmp/ID (copied in
  // the kernel), then renames it over tmp/ID. Nothing was acknowledged yet,
  // so a crash here only leaves files that open() deletes.
  Status rewrite_with_prefix() {
    const std::string path = tmp_path_ + ".p";
    int out = env_.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
    if (out < 0) return io_error("open", path, errno);
    int in = env_.open(tmp_path_, O_RDONLY | O_CLOEXEC);
    Status s =
        in < 0 ? io_error("open", tmp_path_, errno) : write_all(out, header_ + prefix_, path, env_);
    loff_t from = static_cast<loff_t>(header_.size());
    while (s.ok()) {
      ssize_t n = env_.copy_file_range(in, &from, out, 1 << 30);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) s = io_error("copy_file_range", path, errno);
      if (n <= 0) break;
    }
    if (in >= 0) env_.close(in);
    if (s.ok() && env_.rename(path, tmp_path_) != 0) s = io_error("rename", tmp_path_, errno);
    if (!s.ok()) {
      env_.close(out);
      env_.unlink(path);
      return s;
    }
    env_.close(fd_);
    fd_ = out;
    prefix_.clear();
    return Status::Ok();
  }

  // The commit protocol of docs/queue_format.md.
  Status finish() {
    Status s = flush();
    if (s.ok() && !prefix_.empty()) s = rewrite_with_prefix();
    if (!s.ok()) return s;
    if (sync_ && env_.fsync(fd_) != 0) return io_error("fsync", tmp_path_, errno);
    int rc = env_.close(fd_);
    fd_ = -1;
    if (rc != 0) return io_error("close", tmp_path_, errno);
    // link, not rename: it cannot replace an existing message.
    if (env_.link(tmp_path_, msg_path_) != 0) {
      if (errno == EEXIST) return Status::Permanent("queue: " + msg_path_ + " exists");
      return io_error("link", msg_path_, errno);
    }
    if (sync_) s = sync_dir(msg_dir_, env_);
    if (!s.ok()) {
      // Not acknowledged, so not ours to deliver: withdraw it (best effort;
      // if it survives anyway it is delivered, which only risks a duplicate).
      env_.unlink(msg_path_);
      return s;
    }
    env_.unlink(tmp_path_);  // if this fails, open() removes it later
    return Status::Ok();
  }

  FileEnv& env_;
  int fd_;
  const std::string tmp_path_;
  const std::string msg_path_;
  const std::string msg_dir_;
  const std::string header_;  // the envelope header, first in the file
  const bool sync_;           // false only for benchmarks ([queue] fsync)
  std::string buf_;
  std::string prefix_;  // prepend()ed after the buffer was flushed
  bool flushed_ = false;
  Status error_;  // sticky: after a failed write the message is unusable
  bool spent_ = false;
};

// Reads from `fd` until `buf` holds the header's end; returns the content
// offset.
Status read_header(FileEnv& env, int fd, const std::string& path, std::string* buf,
                   size_t* body_offset) {
  char chunk[8192];
  for (;;) {
    size_t from = buf->empty() ? 0 : buf->size() - 1;
    ssize_t n = env.read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("read", path, errno);
    }
    if (n == 0) return Status::Permanent("queue: " + path + ": no end of header");
    buf->append(chunk, static_cast<size_t>(n));
    size_t off = find_body_offset(std::string_view(*buf).substr(from));
    if (off != std::string_view::npos) {
      *body_offset = from + off;
      return Status::Ok();
    }
    if (buf->size() > kMaxHeader) return Status::Permanent("queue: " + path + ": header too large");
  }
}

// Parses a .done file of the first format: lines "<index> done". A line
// that is not exactly that (a torn append) is ignored.
std::vector<size_t> parse_done(std::string_view text) {
  std::vector<size_t> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    constexpr std::string_view kSuffix = " done";
    if (line.size() <= kSuffix.size() || !line.ends_with(kSuffix)) continue;
    std::string_view digits = line.substr(0, line.size() - kSuffix.size());
    size_t index = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec == std::errc() && end == digits.data() + digits.size()) out.push_back(index);
  }
  return out;
}

}  // namespace

FsQueueStore::FsQueueStore(std::string queue_dir, bool sync, FileEnv* env)
    : env_(env ? *env : FileEnv::posix()),
      sync_(sync),
      dir_(std::move(queue_dir)),
      tmp_dir_(dir_ + "/tmp"),
      msg_dir_(dir_ + "/msg"),
      state_dir_(dir_ + "/state") {}

FsQueueStore::~FsQueueStore() {
  if (lock_fd_ >= 0) env_.close(lock_fd_);
}

Status FsQueueStore::open() {
  if (lock_fd_ >= 0) return Status::Permanent("queue: " + dir_ + " already open");
  for (const std::string* d : {&dir_, &tmp_dir_, &msg_dir_, &state_dir_}) {
    Status s = make_dirs(*d, kDirMode, env_);
    if (!s.ok()) return s;
  }
  std::string lock_path = dir_ + "/lock";
  int fd = env_.open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, kFileMode);
  if (fd < 0) return io_error("open", lock_path, errno);
  if (env_.flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    env_.close(fd);
    if (err == EWOULDBLOCK)
      return Status::Transient("queue: " + dir_ + " is in use by another process");
    return io_error("flock", lock_path, err);
  }
  lock_fd_ = fd;
  Status s = clean_tmp();
  if (s.ok()) s = convert_done_files();
  if (s.ok()) s = clean_orphan_state();
  return s;
}

Status FsQueueStore::clean_tmp() {
  std::vector<std::string> names;
  Status s = list_dir(tmp_dir_, &names, env_);
  if (!s.ok()) return s;
  for (const std::string& name : names) {
    std::string path = tmp_dir_ + "/" + name;
    if (env_.unlink(path) != 0 && errno != ENOENT) return io_error("unlink", path, errno);
  }
  return Status::Ok();
}

Status FsQueueStore::clean_orphan_state() {
  std::vector<std::string> names;
  Status s = list_dir(state_dir_, &names, env_);
  if (!s.ok()) return s;
  for (const std::string& id : names) {
    if (!is_valid_queue_id(id) || env_.access(msg_path(id), F_OK) == 0) continue;
    if (errno != ENOENT) return io_error("access", msg_path(id), errno);
    if (env_.unlink(state_path(id)) != 0 && errno != ENOENT) {
      return io_error("unlink", state_path(id), errno);
    }
  }
  return Status::Ok();
}

// msg/ID.done (the first format) becomes done records in state/ID; the
// records are durable before the old file goes, so a crash in between
// only converts it again.
Status FsQueueStore::convert_done_files() {
  std::vector<std::string> names;
  Status s = list_dir(msg_dir_, &names, env_);
  if (!s.ok()) return s;
  for (const std::string& name : names) {
    if (!name.ends_with(".done")) continue;
    std::string id = name.substr(0, name.size() - 5);
    std::string path = msg_dir_ + "/" + name;
    if (!is_valid_queue_id(id)) continue;
    if (env_.access(msg_path(id), F_OK) == 0) {
      std::string text;
      s = read_file(path, &text, nullptr, env_);
      std::vector<StateRecord> records;
      for (size_t index : parse_done(text)) records.push_back(StateRecord::Done(index));
      if (s.ok() && !records.empty()) s = append(id, records);
      if (!s.ok()) return s;
    }
    if (env_.unlink(path) != 0 && errno != ENOENT) return io_error("unlink", path, errno);
  }
  return Status::Ok();
}

Status FsQueueStore::check_id(const std::string& id) const {
  if (lock_fd_ < 0) return Status::Permanent("queue: " + dir_ + " not open");
  if (!is_valid_queue_id(id)) return Status::Permanent("queue: invalid id '" + id + "'");
  return Status::Ok();
}

Status FsQueueStore::begin(const Envelope& env, std::unique_ptr<SpoolWriter>* out) {
  Status s = check_id(env.id);
  if (!s.ok()) return s;
  std::string header;
  s = encode_envelope(env, &header);
  if (!s.ok()) return s;
  std::string final_path = msg_path(env.id);
  if (env_.access(final_path, F_OK) == 0)
    return Status::Permanent("queue: " + final_path + " exists");
  std::string tmp_path = tmp_dir_ + "/" + env.id;
  int fd = env_.open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Permanent("queue: " + tmp_path + " exists");
    return io_error("create", tmp_path, errno);
  }
  *out = std::make_unique<FsSpoolWriter>(env_, fd, std::move(tmp_path), std::move(final_path),
                                         msg_dir_, std::move(header), sync_);
  return Status::Ok();
}

std::vector<std::string> FsQueueStore::list() {
  std::vector<std::string> names, ids;
  if (!list_dir(msg_dir_, &names, env_).ok()) return ids;
  for (std::string& name : names) {
    if (is_valid_queue_id(name)) ids.push_back(std::move(name));  // skips "*.done"
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status FsQueueStore::load(const std::string& id, QueuedMessage* out) {
  Status s = check_id(id);
  if (!s.ok()) return s;
  std::string path = msg_path(id);
  int fd = env_.open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Permanent("queue: no message " + id);
    return io_error("open", path, errno);
  }
  std::string buf;
  size_t body_offset = 0;
  s = read_header(env_, fd, path, &buf, &body_offset);
  env_.close(fd);
  if (!s.ok()) return s;
  QueuedMessage m;
  s = decode_envelope(std::string_view(buf).substr(0, body_offset - 1), &m.envelope);
  if (!s.ok()) return Status::Permanent(path + ": " + s.message());
  if (m.envelope.id != id) return Status::Permanent(path + ": header has id " + m.envelope.id);
  m.state.assign(m.envelope.rcpts.size(), RecipientState{});
  std::string log;
  bool missing = false;
  s = read_file(state_path(id), &log, &missing, env_);
  if (!s.ok()) return s;
  replay_state_log(log, &m.state);
  m.body_path = std::move(path);
  m.body_offset = body_offset;
  *out = std::move(m);
  return Status::Ok();
}

Status FsQueueStore::append(const std::string& id, const std::vector<StateRecord>& records) {
  Status s = check_id(id);
  if (!s.ok()) return s;
  if (env_.access(msg_path(id), F_OK) != 0) {
    if (errno == ENOENT) return Status::Permanent("queue: no message " + id);
    return io_error("access", msg_path(id), errno);
  }
  if (records.empty()) return Status::Ok();
  std::string path = state_path(id);
  bool created = true;
  int fd = env_.open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = env_.open(path, O_RDWR | O_APPEND | O_CLOEXEC);
  }
  if (fd < 0) return io_error("open", path, errno);
  std::string text;
  if (!created) {
    // After a torn append the file may not end in '\n': start a new line,
    // so the fragment stays an invalid line of its own.
    struct stat st;
    char last = '\n';
    if (env_.fstat(fd, &st) != 0)
      s = io_error("fstat", path, errno);
    else if (st.st_size > 0 && env_.pread(fd, &last, 1, st.st_size - 1) != 1)
      s = io_error("read", path, errno);
    if (last != '\n') text = "\n";
  }
  for (const StateRecord& r : records) text += encode_state_record(r);
  if (s.ok()) s = write_all(fd, text, path, env_);
  if (s.ok() && sync_ && env_.fsync(fd) != 0) s = io_error("fsync", path, errno);
  env_.close(fd);
  if (s.ok() && created && sync_) s = sync_dir(state_dir_, env_);
  return s;
}

Status FsQueueStore::remove(const std::string& id) {
  QueuedMessage m;
  Status s = load(id, &m);
  if (!s.ok()) return s;
  if (!m.all_done()) return Status::Permanent("queue: " + id + " has recipients not done");
  return unlink_message(id);
}

Status FsQueueStore::purge(const std::string& id) {
  Status s = check_id(id);
  if (!s.ok()) return s;
  return unlink_message(id);
}

Status FsQueueStore::unlink_message(const std::string& id) {
  // The message first: a crash before the state log goes leaves only an
  // orphan that open() deletes; the other order could resurrect the
  // message with no recipient done, delivering it all again.
  std::string path = msg_path(id);
  if (env_.unlink(path) != 0) {
    if (errno == ENOENT) return Status::Permanent("queue: no message " + id);
    return io_error("unlink", path, errno);
  }
  Status s = sync_ ? sync_dir(msg_dir_, env_) : Status::Ok();
  if (!s.ok()) return s;
  std::string log = state_path(id);
  if (env_.unlink(log) != 0 && errno != ENOENT) return io_error("unlink", log, errno);
  return Status::Ok();
}

int FsQueueStore::same_file(const std::string& id, const FsQueueStore& to) {
  struct stat here, there;
  if (env_.stat(to.msg_path(id), &there) != 0) return errno == ENOENT ? 0 : -1;
  if (env_.stat(msg_path(id), &here) != 0) return -1;
  return here.st_dev == there.st_dev && here.st_ino == there.st_ino ? 1 : 0;
}

Status FsQueueStore::move_to(const std::string& id, FsQueueStore& to, bool* moved) {
  *moved = false;
  Status s = check_id(id);
  if (s.ok()) s = to.check_id(id);
  if (!s.ok()) return s;
  const std::string from = msg_path(id), dest = to.msg_path(id);
  // link, not rename: it never replaces a message in `to`, and the file
  // stays here until the copy there is durable.
  if (env_.link(from, dest) != 0) {
    int err = errno;
    if (err == ENOENT) return Status::Permanent("queue: no message " + id);
    if (err != EEXIST) return io_error("link", dest, err);
    // A move cut short (a crash, a failed cleanup): the same file, go on.
    int same = same_file(id, to);
    if (same < 0) return io_error("stat", dest, errno);
    if (same == 0) return Status::Permanent("queue: " + dest + " exists and is another message");
  }
  if (to.sync_ && !(s = sync_dir(to.msg_dir_, env_)).ok()) {
    // Not durable there: withdraw it (best effort). If the link survives
    // anyway, finish_moves() completes the move, which is what was asked.
    env_.unlink(dest);
    return s;
  }
  *moved = true;
  if (env_.unlink(from) != 0 && errno != ENOENT) return io_error("unlink", from, errno);
  if (sync_ && !(s = sync_dir(msg_dir_, env_)).ok()) return s;
  const std::string log = state_path(id);
  if (env_.unlink(log) != 0 && errno != ENOENT) return io_error("unlink", log, errno);
  return Status::Ok();
}

Status FsQueueStore::finish_moves(FsQueueStore& to, std::vector<std::string>* conflicts) {
  if (lock_fd_ < 0 || to.lock_fd_ < 0) return Status::Permanent("queue: not open");
  bool removed = false;
  for (const std::string& id : list()) {
    int same = same_file(id, to);
    if (same < 0) return io_error("stat", msg_path(id), errno);
    if (same == 0) {
      if (conflicts && env_.access(to.msg_path(id), F_OK) == 0) conflicts->push_back(id);
      continue;
    }
    // The copy in `to` was linked; make sure it is durable before this
    // one goes (the crash may have come before move_to's fsync).
    if (to.sync_ && !removed) {
      if (Status s = sync_dir(to.msg_dir_, env_); !s.ok()) return s;
    }
    if (env_.unlink(msg_path(id)) != 0 && errno != ENOENT)
      return io_error("unlink", msg_path(id), errno);
    removed = true;
    if (env_.unlink(state_path(id)) != 0 && errno != ENOENT)
      return io_error("unlink", state_path(id), errno);
  }
  if (removed && sync_) return sync_dir(msg_dir_, env_);
  return Status::Ok();
}

}  // namespace tern
