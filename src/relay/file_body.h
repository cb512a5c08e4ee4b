// A queued message's content as the relay sends it: read from the queue
// file (QueuedMessage::body_path from body_offset on) in pieces, each
// piece read on a thread pool so that the event loop never waits on the
// disk.
//
//   scan_body_file()  reads it once, before MAIL FROM, for its size on the
//                     wire and whether it has 8-bit octets (BodyScanner).
//   FileBody          the BodySource a ClientConnection streams; one per
//                     attempt (it reads from the start).
//
// Thread safety: scan_body_file() is blocking (call it on the pool).
// A FileBody belongs to one connection; its reads run on `blocking` and
// resume on the caller's executor.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <memory>
#include <string>

#include "client/connection.h"
#include "core/status.h"
#include "relay/remote_plan.h"

namespace tern {

// Reads `path` from `offset` to its end through a BodyScanner. Blocking.
// A file that cannot be opened or read is a Transient error naming it.
Status scan_body_file(const std::string& path, uint64_t offset, BodyFacts* out);

class FileBody : public BodySource {
 public:
  FileBody(asio::any_io_executor blocking, std::string path, uint64_t offset);
  ~FileBody() override;
  FileBody(const FileBody&) = delete;
  FileBody& operator=(const FileBody&) = delete;

  asio::awaitable<bool> read(std::string* out, size_t max, std::string* error) override;

  struct State;  // the open file and the position; shared with the pool's work

 private:
  asio::any_io_executor blocking_;
  std::shared_ptr<State> state_;
};

}  // namespace tern
