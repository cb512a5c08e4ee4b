// QueueStore: where accepted messages live until every recipient has them.
// The filesystem spool (fs_store.h) is the embedded default; the interface
// is what a shared store (e.g. PostgreSQL) will implement.
//
// Durability contract: once SpoolWriter::commit() returns Ok, the message
// and its envelope survive a crash (power loss included) and list() returns
// it after a restart. Before that, a crash leaves no visible message.
//
// Thread safety: a QueueStore may be used from several threads at once;
// a SpoolWriter or a delivery state belongs to one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "core/status.h"

namespace tern {

class SpoolWriter {
 public:
  virtual ~SpoolWriter() = default;
  // Appends message content (the bytes after the envelope).
  virtual Status write(std::string_view data) = 0;
  // Makes the message durable (fsync file, rename, fsync directory).
  // Blocking: call it off the event loop. After Ok, the writer is spent.
  virtual Status commit() = 0;
  // Drops the message; also what the destructor does if neither was called.
  virtual void abort() = 0;
};

struct QueuedMessage {
  Envelope envelope;
  std::vector<bool> done;    // per envelope.rcpts index: delivered or failed for good
  std::string body_path;     // file to read the content from
  uint64_t body_offset = 0;  // content starts at this offset in body_path
};

class QueueStore {
 public:
  virtual ~QueueStore() = default;
  // Starts a new message with this envelope (envelope.id must be set).
  virtual Status begin(const Envelope& env, std::unique_ptr<SpoolWriter>* out) = 0;
  // Ids of all committed messages, oldest first.
  virtual std::vector<std::string> list() = 0;
  // Loads a committed message.
  virtual Status load(const std::string& id, QueuedMessage* out) = 0;
  // Records durably that recipient `index` of message `id` is finished.
  virtual Status mark_done(const std::string& id, size_t index) = 0;
  // Removes a message whose recipients are all finished.
  virtual Status remove(const std::string& id) = 0;
};

}  // namespace tern
