// FsQueueStore: the QueueStore on a local file system, one file per message
// (the embedded default). Layout, file format, commit protocol and crash
// guarantees are specified in docs/queue_format.md:
//
//   <queue_dir>/lock      flock(2)ed by the process that has the queue open
//   <queue_dir>/tmp/ID    messages being received (never acknowledged)
//   <queue_dir>/msg/ID    committed messages: envelope header, "\n", content
//   <queue_dir>/state/ID  the message's state log (state_log.h), appended to
//
// File names are queue ids only (queue_id.h); nothing from a client ever
// becomes a path. Blocking I/O throughout: call it off the event loop.
//
// Thread safety: after open(), every method may be called concurrently,
// except that calls changing one message (append, remove, purge) must not
// overlap for that message (store.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "fs/file_env.h"
#include "queue/queue_id.h"
#include "queue/store.h"

namespace tern {

class FsQueueStore : public QueueStore {
 public:
  // `sync` false skips every fsync: FOR BENCHMARKS ONLY ([queue] fsync),
  // as acknowledged mail can then be lost in a crash. Every file system
  // call goes through `env` (file_env.h; null: the real file system),
  // which must outlive the store and its writers.
  explicit FsQueueStore(std::string queue_dir, bool sync = true, FileEnv* env = nullptr);
  ~FsQueueStore() override;
  FsQueueStore(const FsQueueStore&) = delete;
  FsQueueStore& operator=(const FsQueueStore&) = delete;

  // Creates <queue_dir>, tmp/, msg/ and state/ (0700) if missing, takes the
  // queue lock (Transient error if another process holds it), deletes every
  // file in tmp/ (messages never acknowledged) and every state/ID whose
  // message is gone (left by a crash inside remove()). A msg/ID.done file
  // of the first format (recipient indexes) is turned into done records.
  // REQUIRES: called once, before any other method.
  Status open();

  // Creates tmp/<env.id> (O_EXCL) and buffers the envelope header. Fails
  // (Permanent) for an invalid id or an envelope encode_envelope refuses,
  // and if msg/<env.id> exists already.
  Status begin(const Envelope& env, std::unique_ptr<SpoolWriter>* out) override;
  // Committed ids in msg/, sorted, hence oldest first. Empty on error.
  std::vector<std::string> list() override;
  // Reads and checks the header of msg/<id> and replays state/<id>. The
  // content is not read: out->body_path is msg/<id>, out->body_offset where
  // the content starts. Permanent error for an unknown id or a corrupt header.
  Status load(const std::string& id, QueuedMessage* out) override;
  // Appends the records to state/<id> with one write and fsyncs it (and
  // state/ when the file is new). Permanent error if msg/<id> does not
  // exist. Indexes are not checked against the envelope (load() ignores
  // out-of-range ones).
  Status append(const std::string& id, const std::vector<StateRecord>& records) override;
  // Deletes msg/<id>, fsyncs msg/, then deletes state/<id>. Permanent
  // error, and nothing deleted, unless every recipient is done.
  Status remove(const std::string& id) override;
  // The same without the check. Permanent error for an unknown id.
  Status purge(const std::string& id) override;

  // Moves committed message `id` from this store into `to` (the
  // quarantine's release, docs/queue_format.md "Moving a message"):
  // link(msg/ID, to/msg/ID), fsync to/msg/, unlink msg/ID, fsync msg/,
  // then drop state/ID (the message starts afresh in `to`). The message is
  // durably in `to` before it leaves here, so a crash at any point leaves
  // it here, there, or in both, and finish_moves() at the next start
  // resolves "both" to "there": never neither. *moved says whether it is
  // durably in `to` (true also when only the cleanup here failed: the
  // error is returned, and finish_moves() completes it). Permanent error
  // for an unknown id or a different message of that id in `to`.
  // Both stores must be open and on one file system (link(2)).
  Status move_to(const std::string& id, FsQueueStore& to, bool* moved);
  // Completes moves a crash cut short: each id in msg/ here whose file is
  // also in to/msg/ (the same inode: a link move_to made) is removed here.
  // A same id with a different file is left alone and reported in
  // *conflicts. Call at start, before the stores are used.
  Status finish_moves(FsQueueStore& to, std::vector<std::string>* conflicts = nullptr);

  const std::string& dir() const { return dir_; }

 private:
  std::string msg_path(const std::string& id) const { return msg_dir_ + "/" + id; }
  std::string state_path(const std::string& id) const { return state_dir_ + "/" + id; }
  Status check_id(const std::string& id) const;
  Status clean_tmp();
  Status clean_orphan_state();
  Status convert_done_files();
  Status unlink_message(const std::string& id);
  // 1 if msg/<id> here and in `to` are one file, 0 if not (or `to` has
  // none), -1 on error (errno set).
  int same_file(const std::string& id, const FsQueueStore& to);

  FileEnv& env_;
  const bool sync_;
  const std::string dir_;
  const std::string tmp_dir_;
  const std::string msg_dir_;
  const std::string state_dir_;
  int lock_fd_ = -1;
};

}  // namespace tern
