// Queue ids: the names of queued messages, and so of their files.
//
// An id is 16 characters of [0-9A-Za-z]: 9 characters of base62 time
// (microseconds since the Unix epoch, valid until year 2398) followed by 7
// random base62 characters. The base62 digits are in ASCII order, so ids
// sort by creation time as plain strings.
//
// Thread safety: new_queue_id() may be called from any thread.
#pragma once

#include <string>
#include <string_view>

namespace tern {

// Returns a fresh id. Within one process ids strictly increase (the time
// part never goes backwards, even if the clock does, and is bumped by one
// microsecond when two ids would share it); the random part keeps ids of
// different processes apart.
std::string new_queue_id();

// True if `id` is a non-empty string of [0-9A-Za-z] of at most 64 chars:
// the only names the queue turns into file names.
bool is_valid_queue_id(std::string_view id);

}  // namespace tern
