#include "queue/quarantine.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "queue/queue_id.h"

namespace tern {

Quarantine::Quarantine(std::string dir, FsQueueStore& live, bool sync, FileEnv* env)
    : env_(env ? *env : FileEnv::posix()), sync_(sync), dir_(std::move(dir)), live_(live) {}

Status Quarantine::open_locked() {
  if (!store_) {
    store_ = std::make_unique<FsQueueStore>(dir_, sync_, &env_);
    opened_ = store_->open();
  }
  return opened_;
}

Status Quarantine::store(FsQueueStore** out) {
  std::lock_guard lock(mu_);
  if (Status s = open_locked(); !s.ok()) return s;
  *out = store_.get();
  return Status::Ok();
}

Status Quarantine::existing(FsQueueStore** out) {
  std::lock_guard lock(mu_);
  *out = nullptr;
  if (!store_) {
    // Opening creates the directories: not for a look at nothing.
    if (env_.access(dir_ + "/msg", F_OK) != 0) {
      if (errno == ENOENT) return Status::Ok();
      return Status::Transient("quarantine " + dir_ + ": cannot access msg/");
    }
  }
  if (Status s = open_locked(); !s.ok()) return s;
  *out = store_.get();
  return Status::Ok();
}

Status Quarantine::recover() {
  FsQueueStore* q = nullptr;
  if (Status s = existing(&q); !s.ok() || !q) return s;
  return q->finish_moves(live_);
}

Status Quarantine::list(std::vector<Entry>* out, std::vector<std::string>* problems) {
  out->clear();
  FsQueueStore* q = nullptr;
  if (Status s = existing(&q); !s.ok() || !q) return s;
  for (const std::string& id : q->list()) {
    QueuedMessage m;
    if (Status s = q->load(id, &m); !s.ok()) {
      // Released or deleted meanwhile, or a corrupt file: not listed.
      if (problems && env_.access(q->dir() + "/msg/" + id, F_OK) == 0)
        problems->push_back(id + ": " + s.message());
      continue;
    }
    Entry e;
    struct stat st;
    if (env_.stat(m.body_path, &st) == 0 && static_cast<uint64_t>(st.st_size) >= m.body_offset)
      e.size = static_cast<uint64_t>(st.st_size) - m.body_offset;
    e.envelope = std::move(m.envelope);
    out->push_back(std::move(e));
  }
  return Status::Ok();
}

Status Quarantine::release(const std::string& id, Envelope* env, bool* moved) {
  *moved = false;
  std::lock_guard lock(ops_);
  FsQueueStore* q = nullptr;
  if (Status s = existing(&q); !s.ok()) return s;
  if (!q) return Status::Permanent("queue: no message " + id + " in the quarantine");
  QueuedMessage m;
  if (Status s = q->load(id, &m); !s.ok()) return s;
  Status s = q->move_to(id, live_, moved);
  if (*moved) *env = std::move(m.envelope);
  return s;
}

Status Quarantine::remove(const std::string& id) {
  std::lock_guard lock(ops_);
  FsQueueStore* q = nullptr;
  if (Status s = existing(&q); !s.ok()) return s;
  if (!q) return Status::Permanent("queue: no message " + id + " in the quarantine");
  return q->purge(id);
}

bool Quarantine::has(const std::string& id) {
  FsQueueStore* q = nullptr;
  if (!existing(&q).ok() || !q || !is_valid_queue_id(id)) return false;
  return env_.access(q->dir() + "/msg/" + id, F_OK) == 0;
}

}  // namespace tern
