// Quarantine: <data_dir>/quarantine, where a message a milter quarantines
// (SMFIR_QUARANTINE, docs/filtering.md) is committed instead of the queue.
// It is a queue store of its own (FsQueueStore: same layout and file
// format, docs/queue_format.md) that nothing delivers from; the milter's
// reason is kept in the envelope (quarantine-reason). `tern queue
// quarantine | release | delete` act on it through the admin socket
// (server/queue_admin.h).
//
// The directory is created on the first quarantined message, not before:
// a server without milters has none. A release moves the message into the
// live queue with FsQueueStore::move_to (link, fsync, unlink, fsync);
// recover() at start completes a release a crash cut short, so a message
// is never in both stores, nor in neither.
//
// Blocking I/O: call it off the event loop. Thread-safe: the store is
// opened once under a lock; release and remove are serialized.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/status.h"
#include "fs/file_env.h"
#include "queue/fs_store.h"

namespace tern {

class Quarantine {
 public:
  // `dir`: <data_dir>/quarantine; `live`: the server's queue (open, on the
  // same file system), which must outlive this.
  Quarantine(std::string dir, FsQueueStore& live, bool sync = true, FileEnv* env = nullptr);

  // At start, before the scheduler loads the queue: when the directory
  // exists, opens it and completes the releases a crash interrupted
  // (FsQueueStore::finish_moves). Nothing to do (Ok) when it does not.
  Status recover();

  // The store to commit a quarantined message to, opened (and created)
  // on first use.
  Status store(FsQueueStore** out);

  struct Entry {
    Envelope envelope;  // quarantine_reason: the milter's words
    uint64_t size = 0;  // octets of content, as stored
  };
  // Every quarantined message, oldest first; empty when there is no
  // quarantine yet. A message that does not load is skipped and named in
  // *problems.
  Status list(std::vector<Entry>* out, std::vector<std::string>* problems = nullptr);
  // Moves `id` into the live queue (durable there before it leaves here);
  // *env is its envelope, for the scheduler. *moved: it is in the live
  // queue (also when the cleanup here failed and an error is returned).
  Status release(const std::string& id, Envelope* env, bool* moved);
  // Deletes `id` from the quarantine. Permanent error for an unknown id.
  Status remove(const std::string& id);
  // Whether `id` is in the quarantine (false when there is none).
  bool has(const std::string& id);

 private:
  // The store if the directory exists (opening it), else null with Ok.
  Status existing(FsQueueStore** out);
  Status open_locked();

  FileEnv& env_;
  const bool sync_;
  const std::string dir_;
  FsQueueStore& live_;
  std::mutex mu_;   // guards store_ and opened_
  std::mutex ops_;  // one release or remove at a time
  std::unique_ptr<FsQueueStore> store_;
  Status opened_;
};

}  // namespace tern
