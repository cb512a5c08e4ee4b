// MilterSpool: the SpoolWriter of a message that milters will see (and may
// change) before it is accepted. The content goes to an unlinked file in
// the queue's tmp/ (nothing a crash could leave visible); the milters read
// it back at the end of the data, their changes (header fields, a new
// body, the envelope, quarantine) are recorded here, and commit() writes
// the modified copy into the queue (or the quarantine) with the store's
// own durable protocol (store.h) before the client hears 250. Nothing is
// in the queue until then; nothing half-written ever is.
//
// Blocking file I/O, as FsSpoolWriter's; commit() is called off the loop.
// Thread-compatible.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/envelope.h"
#include "milter/edit.h"
#include "queue/store.h"

namespace tern {

class MilterSpool : public SpoolWriter {
 public:
  // `store`: where commit() puts the message; `quarantine` (opened on
  // demand, may fail) where it goes instead after SMFIR_QUARANTINE.
  using QuarantineStore = std::function<Status(QueueStore**)>;
  static Status create(QueueStore& store, QuarantineStore quarantine, const Envelope& env,
                       const std::string& tmp_dir, std::unique_ptr<MilterSpool>* out);
  ~MilterSpool() override;

  Status write(std::string_view data) override;
  Status prepend(std::string_view text) override;
  Status commit() override;
  void abort() override;

  // What the milters see and change.
  Envelope& envelope() { return env_; }
  // The current header fields (read from the content the first time).
  Status header(std::vector<milter::HeaderField>** fields);
  // The current body from `offset`: up to `n` octets into *out ("" at its end).
  Status read_body(uint64_t offset, size_t n, std::string* out);
  // Starts a new body (SMFIR_REPLBODY), then appends to it.
  Status replace_body();
  Status append_body(std::string_view data);
  void quarantine(std::string reason) { quarantine_ = std::move(reason); }
  const std::optional<std::string>& quarantined() const { return quarantine_; }

 private:
  MilterSpool(QueueStore& store, QuarantineStore quarantine, const Envelope& env, int fd,
              std::string path);
  // The content as received: prefix_ then the file.
  Status read_content(uint64_t offset, size_t n, std::string* out);
  Status copy_content(SpoolWriter* to, uint64_t from, int fd, const std::string& prefix);

  QueueStore& store_;
  QuarantineStore quarantine_store_;
  Envelope env_;
  int fd_;            // the content (unlinked)
  std::string path_;  // for errors
  uint64_t size_ = 0;
  std::string prefix_;  // prepend()ed
  bool header_read_ = false;
  std::vector<milter::HeaderField> fields_;
  uint64_t body_offset_ = 0;  // in the content (prefix_ included)
  int body_fd_ = -1;          // a replaced body (unlinked), or -1
  uint64_t body_size_ = 0;
  std::string tmp_dir_;
  std::optional<std::string> quarantine_;
  Status error_;
  bool spent_ = false;
};

}  // namespace tern
