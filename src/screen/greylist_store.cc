#include "screen/greylist_store.h"

#include <fcntl.h>

#include <algorithm>

#include "fs/atomic_file.h"
#include "fs/file_io.h"

namespace tern {

namespace {

constexpr std::string_view kHeader = "# tern greylist 1\n";

}  // namespace

GreylistStore::GreylistStore(std::string path, GreylistOptions options, FileEnv& env)
    : path_(std::move(path)), env_(env), list_(options) {}

GreylistStore::~GreylistStore() {
  if (fd_ >= 0) env_.close(fd_);
}

Status GreylistStore::open(int64_t now) {
  std::string text;
  bool missing = false;
  Status st = read_file(path_, &text, &missing, env_);
  if (!st.ok()) return st;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // a torn last line
    std::string_view line(text.data() + pos, nl - pos);
    if (!line.empty() && line[0] != '#') list_.apply(line);
    pos = nl + 1;
  }
  return compact(now);
}

Status GreylistStore::compact(int64_t now) {
  list_.prune(now);
  std::string snapshot = list_.snapshot();
  lines_ = static_cast<size_t>(std::count(snapshot.begin(), snapshot.end(), '\n'));
  Status st = write_file_atomic(path_, std::string(kHeader) + snapshot, 0600, env_);
  if (!st.ok()) return st;
  return reopen();
}

Status GreylistStore::reopen() {
  if (fd_ >= 0) env_.close(fd_);
  fd_ = env_.open(path_, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return io_error("open", path_, errno);
  return Status::Ok();
}

GreylistDecision GreylistStore::check(const std::string& network, const std::string& sender,
                                      const std::string& recipient, int64_t now,
                                      std::string* write_error) {
  write_error->clear();
  std::string records;
  GreylistDecision d = list_.check(network, sender, recipient, now, &records);
  if (records.empty()) return d;
  lines_ += static_cast<size_t>(std::count(records.begin(), records.end(), '\n'));
  Status st = Status::Ok();
  if (lines_ > 2 * list_.size() + 1000) {
    st = compact(now);  // the state already holds the change
  } else {
    if (fd_ < 0) st = reopen();
    if (st.ok()) st = write_all(fd_, records, path_, env_);
  }
  if (!st.ok()) *write_error = st.message();
  return d;
}

}  // namespace tern
