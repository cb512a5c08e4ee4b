// FsQueueStore: the QueueStore on a local file system, one file per message
// (the embedded default). Layout, file format, commit protocol and crash
// guarantees are specified in docs/queue_format.md:
//
//   <queue_dir>/lock      flock(2)ed by the process that has the queue open
//   <queue_dir>/tmp/ID    messages being received (never acknowledged)
//   <queue_dir>/msg/ID    committed messages: envelope header, "\n", content
//   <queue_dir>/msg/ID.done  recipients finished, one "<index> done" a line
//
// File names are queue ids only (queue_id.h); nothing from a client ever
// becomes a path. Blocking I/O throughout: call it off the event loop.
//
// Thread safety: after open(), every method may be called concurrently,
// except that calls concerning one message id must not overlap (one thread
// delivers a message at a time, as store.h says).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "queue/queue_id.h"
#include "queue/store.h"

namespace tern {

class FsQueueStore : public QueueStore {
 public:
  explicit FsQueueStore(std::string queue_dir);
  ~FsQueueStore() override;
  FsQueueStore(const FsQueueStore&) = delete;
  FsQueueStore& operator=(const FsQueueStore&) = delete;

  // Creates <queue_dir>, tmp/ and msg/ (0700) if missing, takes the queue
  // lock (Transient error if another process holds it), deletes every file
  // in tmp/ (messages never acknowledged) and every ID.done in msg/ whose
  // message is gone (left by a crash inside remove()).
  // REQUIRES: called once, before any other method.
  Status open();

  // Creates tmp/<env.id> (O_EXCL) and buffers the envelope header. Fails
  // (Permanent) for an invalid id or an envelope encode_envelope refuses,
  // and if msg/<env.id> exists already.
  Status begin(const Envelope& env, std::unique_ptr<SpoolWriter>* out) override;
  // Committed ids in msg/, sorted, hence oldest first. Empty on error.
  std::vector<std::string> list() override;
  // Reads and checks the header of msg/<id> and its .done file. The content
  // is not read: out->body_path is msg/<id>, out->body_offset where the
  // content starts. Permanent error for an unknown id or a corrupt header.
  Status load(const std::string& id, QueuedMessage* out) override;
  // Appends "<index> done" to msg/<id>.done and fsyncs it (and msg/ when the
  // file is new). Permanent error if msg/<id> does not exist. `index` is not
  // checked against the envelope (load() ignores out-of-range indexes).
  Status mark_done(const std::string& id, size_t index) override;
  // Deletes msg/<id>, fsyncs msg/, then deletes msg/<id>.done. Permanent
  // error, and nothing deleted, unless every recipient is done.
  Status remove(const std::string& id) override;

  const std::string& dir() const { return dir_; }

 private:
  std::string msg_path(const std::string& id) const { return msg_dir_ + "/" + id; }
  std::string done_path(const std::string& id) const { return msg_dir_ + "/" + id + ".done"; }
  Status check_id(const std::string& id) const;
  Status clean_tmp();
  Status clean_orphan_done();

  const std::string dir_;
  const std::string tmp_dir_;
  const std::string msg_dir_;
  int lock_fd_ = -1;
};

}  // namespace tern
