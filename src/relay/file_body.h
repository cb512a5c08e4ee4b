// A queued message's content as the relay sends it: read from the queue
// file (QueuedMessage::body_path from body_offset on) in pieces, each
// piece read on a thread pool so that the event loop never waits on the
// disk.
//
//   scan_body_file()  reads it once, before MAIL FROM, for its size on the
//                     wire and whether it has 8-bit octets (BodyScanner);
//                     the same pass feeds the DKIM signers when the
//                     message is ours to sign (dkim/key_store.h), so that
//                     the signature fields are known before MAIL FROM.
//   FileBody          the BodySource a ClientConnection streams; one per
//                     attempt (it reads from the start): the signature
//                     fields first, then the file's bytes.
//
// The queued file is never changed: a retry scans and signs again.
//
// Thread safety: scan_body_file() is blocking (call it on the pool).
// A FileBody belongs to one connection; its reads run on `blocking` and
// resume on the caller's executor.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "client/connection.h"
#include "core/status.h"
#include "dkim/key_store.h"
#include "relay/arc_seal.h"
#include "relay/remote_plan.h"

namespace tern {

// Reads `path` from `offset` to its end through a BodyScanner. Blocking.
// A file that cannot be opened or read is a Transient error naming it.
Status scan_body_file(const std::string& path, uint64_t offset, BodyFacts* out);

// What the scan needs to sign (docs/dkim.md, "Signing outgoing mail").
struct SignInput {
  std::shared_ptr<const dkim::KeyStore> keys;  // null or empty: nothing is signed
  bool sender_ours = false;                    // dkim::sender_is_ours(envelope)
  int64_t now = 0;                             // t=, seconds since the epoch
  // Non-null: the message also gets our ARC set (relay/arc_seal.h), on top.
  std::shared_ptr<const ArcSealing> arc;
};

struct ScanResult {
  // The message as it goes out: `prefix` and then the file. The size
  // counts both (what SIZE= and "BDAT <n> LAST" must say).
  BodyFacts facts;
  std::string prefix;  // the DKIM-Signature fields, each ending in CRLF; may be empty
  // For the log: "d=example.com s=rsa-202601,ed25519-202601" when signed,
  // otherwise why not ("no key for example.org"); empty when there are no
  // keys at all or the sender is not ours.
  std::string dkim;
  bool is_signed = false;
  std::string arc;  // with SignInput::arc: the seal made, or why none (for the log)
};

// As above, and signs: when `sign` has keys and the sender is ours, the
// header section is read first to decide (dkim::signing_domain), then one
// dkim::Signer per key takes the whole content. A message that cannot be
// signed (no From, a header section over 1 MiB, a signing error) goes
// unsigned; only a file error fails the scan.
Status scan_body_file(const std::string& path, uint64_t offset, const SignInput& sign,
                      ScanResult* out);

class FileBody : public BodySource {
 public:
  // `prefix` (ScanResult::prefix) is sent before the file's content.
  FileBody(asio::any_io_executor blocking, std::string path, uint64_t offset,
           std::string prefix = "");
  ~FileBody() override;
  FileBody(const FileBody&) = delete;
  FileBody& operator=(const FileBody&) = delete;

  asio::awaitable<bool> read(std::string* out, size_t max, std::string* error) override;

  struct State;  // the open file and the position; shared with the pool's work

 private:
  asio::any_io_executor blocking_;
  std::string prefix_;
  size_t prefix_pos_ = 0;
  std::shared_ptr<State> state_;
};

}  // namespace tern
