// Putting messages the scheduler makes itself (DSNs, copies forwarded by an
// alias) into the queue, and reading back parts of a queued message for
// them. Blocking file I/O: call off the event loop.
//
// Thread safety: the functions may run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "queue/store.h"

namespace tern {

// Queues a new message with envelope `env` and content `content`
// (begin, write, commit: durable when Ok).
Status inject_message(QueueStore& store, const Envelope& env, std::string_view content);

// Queues a new message with envelope `env` and the content of `source`,
// copied in 64 KiB pieces.
Status inject_copy(QueueStore& store, const Envelope& env, const QueuedMessage& source);

// Size of the content of `m` in octets.
Status content_size(const QueuedMessage& m, uint64_t* size);

// The first `max` octets at most of the content of `m`.
Status read_content(const QueuedMessage& m, uint64_t max, std::string* out);

}  // namespace tern
