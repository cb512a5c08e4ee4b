// QueueStore: where accepted messages live until every recipient has them.
// The filesystem spool (fs_store.h) is the embedded default; the interface
// is what a shared store (e.g. PostgreSQL) will implement.
//
// Durability contract: once SpoolWriter::commit() returns Ok, the message
// and its envelope survive a crash (power loss included) and list() returns
// it after a restart. Before that, a crash leaves no visible message.
//
// Delivery state: each message has a state log (queue/state_log.h) of
// per-recipient records (attempts, results, warnings, done), appended
// durably by append() and replayed by load(). A record is on stable storage
// once append() returns Ok; the scheduler appends a result BEFORE acting
// on it (bouncing, removing), so a crash repeats an action, never skips it.
//
// Thread safety: a QueueStore may be used from several threads at once;
// a SpoolWriter belongs to one thread at a time, and calls that change one
// message (append, remove, purge) must not overlap for that message.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "core/status.h"
#include "queue/state_log.h"

namespace tern {

class SpoolWriter {
 public:
  virtual ~SpoolWriter() = default;
  // Appends message content (the bytes after the envelope).
  virtual Status write(std::string_view data) = 0;
  // Puts `text` before all the content written so far: header fields only
  // known at the end of the message (Authentication-Results). Later calls
  // go in front of earlier ones.
  virtual Status prepend(std::string_view text) = 0;
  // Makes the message durable (fsync file, rename, fsync directory).
  // Blocking: call it off the event loop. After Ok, the writer is spent.
  virtual Status commit() = 0;
  // Drops the message; also what the destructor does if neither was called.
  virtual void abort() = 0;
};

struct QueuedMessage {
  Envelope envelope;
  std::vector<RecipientState> state;  // per envelope.rcpts index, replayed from the state log
  std::string body_path;              // file to read the content from
  uint64_t body_offset = 0;           // content starts at this offset in body_path

  bool done(size_t i) const { return state[i].done; }
  // True when every recipient is done: the message may be removed.
  bool all_done() const {
    for (const RecipientState& s : state)
      if (!s.done) return false;
    return true;
  }
};

class QueueStore {
 public:
  virtual ~QueueStore() = default;
  // Starts a new message with this envelope (envelope.id must be set).
  virtual Status begin(const Envelope& env, std::unique_ptr<SpoolWriter>* out) = 0;
  // Ids of all committed messages, oldest first.
  virtual std::vector<std::string> list() = 0;
  // Loads a committed message and replays its state log into out->state.
  virtual Status load(const std::string& id, QueuedMessage* out) = 0;
  // Appends `records` to the state log of message `id`, durably (one sync
  // for the batch). Permanent error if there is no such message.
  virtual Status append(const std::string& id, const std::vector<StateRecord>& records) = 0;
  // Removes a message whose recipients are all done (Permanent error,
  // nothing removed, otherwise).
  virtual Status remove(const std::string& id) = 0;
  // Removes a message whatever its state (`tern queue delete`).
  virtual Status purge(const std::string& id) = 0;

  // Records durably that recipient `index` of message `id` is finished.
  Status mark_done(const std::string& id, size_t index) {
    return append(id, {StateRecord::Done(index)});
  }
};

}  // namespace tern
