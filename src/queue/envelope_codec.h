// The envelope header of a queue file: an Envelope as human-readable text,
// one "key value" line per field, ended by an empty line. The exact format
// is specified in docs/queue_format.md; this is its only implementation.
//
// No I/O. Thread-compatible.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/envelope.h"
#include "core/status.h"

namespace tern {

// The first line of every queue file; names the format version.
inline constexpr std::string_view kQueueMagic = "tern-queue 1";

// Appends the header for `env`, including its terminating empty line, to
// *out. Fails (Permanent) if the envelope cannot be stored faithfully:
// invalid id, no recipients, NOTIFY bits outside NotifyBits.
Status encode_envelope(const Envelope& env, std::string* out);

// Parses `header` (the bytes before the empty line: zero or more lines,
// each ended by '\n') into *out. Fails (Permanent) on a bad magic line, an
// unknown or repeated key, a malformed value or a missing required field;
// the message names the line: "line 7: bad size".
Status decode_envelope(std::string_view header, Envelope* out);

// Where the message content starts in a queue file beginning with `buf`:
// the offset just past the first "\n\n", or npos if `buf` holds none.
size_t find_body_offset(std::string_view buf);

}  // namespace tern
